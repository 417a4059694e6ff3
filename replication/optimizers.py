"""Optimizer factories: ``make(steps_per_epoch, epochs) -> keras optimizer``.

A factory, not an optimizer, because a schedule needs the run's length, which only the fit knows.
Every schedule counts the optimizer's own steps, which ``BackupAndRestore`` saves, so a resumed run
continues its schedule where it stopped.
"""

from __future__ import annotations

OPTIMIZERS = ("adam", "sgd", "adamw")


def adam(learning_rate: float = 1e-3):
    """Adam at a constant learning rate (the lecture's notebooks: 1e-3)."""

    def make(steps_per_epoch: int, epochs: int):
        import keras

        return keras.optimizers.Adam(learning_rate=learning_rate)

    return make


def one_cycle(peak_lr: float, *, optimizer: str = "adam", warmup_fraction: float = 0.2,
              start_fraction: float = 0.1, momentum: float = 0.9, nesterov: bool = True,
              weight_decay: float | None = None, exclude_from_weight_decay: tuple[str, ...] = (),
              ema_momentum: float | None = None):
    """A one-cycle-style schedule over the whole run: a linear warm-up, then a cosine to 0.

    The learning rate climbs from ``start_fraction * peak_lr`` to ``peak_lr`` over the first
    ``warmup_fraction`` of all steps and falls to 0 by the last step of the last epoch (Keras's
    ``CosineDecay`` with ``warmup_target``). ``optimizer``: ``"adam"``, ``"sgd"`` (with
    ``momentum`` and ``nesterov``) or ``"adamw"``. ``weight_decay`` is Keras's *decoupled* decay:
    each step multiplies the weights by ``1 - lr * weight_decay`` (for SGD with momentum 0.9 that
    is about 10x weaker than an L2 penalty of the same number, whose gradient passes through the
    momentum); ``exclude_from_weight_decay``: variable names it skips (BatchNorm's, biases).
    ``ema_momentum``: keep an exponential moving average of the weights and put it in place of
    the weights when ``fit`` ends (Keras's ``use_ema``; its BatchNorm statistics then need
    recomputing, see :func:`replication.fast_recipe.recompute_batchnorm`).
    """
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; choose from {', '.join(OPTIMIZERS)}")

    def make(steps_per_epoch: int, epochs: int):
        import keras

        total = max(1, int(steps_per_epoch) * int(epochs))
        warmup = min(total - 1, max(0, round(warmup_fraction * total)))
        schedule = keras.optimizers.schedules.CosineDecay(
            initial_learning_rate=start_fraction * peak_lr, decay_steps=max(1, total - warmup),
            alpha=0.0, warmup_target=peak_lr, warmup_steps=warmup)
        ema = ({"use_ema": True, "ema_momentum": ema_momentum, "ema_overwrite_frequency": None}
               if ema_momentum is not None else {})
        if optimizer == "adam":
            opt = keras.optimizers.Adam(learning_rate=schedule, **ema)
        elif optimizer == "sgd":
            opt = keras.optimizers.SGD(schedule, momentum=momentum, nesterov=nesterov,
                                       weight_decay=weight_decay, **ema)
        else:
            opt = keras.optimizers.AdamW(schedule, **ema,
                                         weight_decay=weight_decay if weight_decay is not None else 0.004)
        if exclude_from_weight_decay:
            opt.exclude_from_weight_decay(var_names=list(exclude_from_weight_decay))
        return opt

    return make


def warmup_stable_decay(peak_lr: float, *, warmup_fraction: float = 0.05,
                        decay_fraction: float = 0.2, start_fraction: float = 0.1):
    """Adam under a warm-up / stable / decay schedule: a linear warm-up from ``start_fraction *
    peak_lr`` to ``peak_lr`` over the first ``warmup_fraction`` of all steps, ``peak_lr`` held
    until the last ``decay_fraction`` of the steps, then a linear fall to 0 at the last step.

    Why our own schedule (issue #23, depth at convergence): Keras 3 ships warm-up only with
    ``CosineDecay``, which anneals all the way, so a learning curve under it keeps rising until
    the end whether or not the network has converged. A stable phase at one learning rate lets a
    convergence gate read a plateau of the curve before the decay phase settles the weights.
    """
    if not 0.0 <= warmup_fraction < 1.0 or not 0.0 < decay_fraction < 1.0 \
            or warmup_fraction + decay_fraction > 1.0:
        raise ValueError("warmup_stable_decay: need 0 <= warmup_fraction, 0 < decay_fraction and "
                         f"warmup + decay <= 1, got {warmup_fraction} and {decay_fraction}")

    def make(steps_per_epoch: int, epochs: int):
        import keras

        total = max(1, int(steps_per_epoch) * int(epochs))
        warmup = max(0, round(warmup_fraction * total))
        decay = max(1, round(decay_fraction * total))

        class WarmupStableDecay(keras.optimizers.schedules.LearningRateSchedule):
            def __call__(self, step):
                from keras import ops

                step = ops.cast(step, "float32")
                start = start_fraction * peak_lr
                up = start + (peak_lr - start) * step / max(1, warmup)
                down = peak_lr * ops.maximum(0.0, (total - step) / decay)
                return ops.minimum(ops.minimum(up, peak_lr), down) if warmup else \
                    ops.minimum(peak_lr, down)

            def get_config(self):
                return {"peak_lr": peak_lr, "total": total, "warmup": warmup, "decay": decay,
                        "start_fraction": start_fraction}

        return keras.optimizers.Adam(learning_rate=WarmupStableDecay())

    return make


def for_budget(schedule: str, learning_rate: float, warmup_fraction: float = 0.2):
    """Adam for a claim's ``schedule`` field: ``"constant"`` (the notebooks) or ``"one_cycle"``
    (peak ``learning_rate`` after ``warmup_fraction`` of the steps)."""
    if schedule == "constant":
        return adam(learning_rate)
    if schedule == "one_cycle":
        return one_cycle(learning_rate, optimizer="adam", warmup_fraction=warmup_fraction)
    raise ValueError(f"unknown schedule {schedule!r}; choose 'constant' or 'one_cycle'")
