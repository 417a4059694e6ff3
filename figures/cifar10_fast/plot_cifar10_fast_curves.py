"""How fast the lecture's CIFAR-10 CNN reaches 90%: a modern recipe against the lecture's own.

Left: test accuracy per epoch (log scale, so 15 and 200 epochs fit): the modern recipe (flip TTA
in bold, plain thin), the lecture's recipe run here beside it (first seed; 1 epoch in the quick
profile), and the lecture notebook's 200-epoch curve. Right: the same against training seconds on
the hardware in the footer (per-epoch test evaluations excluded); the lecture notebook's curve is
placed there at our measured seconds per epoch of its recipe, an estimate. The per-epoch curves
only report when 90% is first reached; no run stops on them. Reads the ``cifar10-fast`` result;
no training.
"""

# %%
import numpy as np

from replication import lecture, plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_fast_curves"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "cifar10-fast")
    if result is None:
        return plotting.skip(NAME, "no cifar10-fast result")
    m = result["measured"]
    target = m["target_accuracy"]
    base = m.get("lecture_recipe")
    notebook = (lecture.curve("CNN_with_Image_Augmentation", variant="augmented")
                if result["dataset"] == "cifar10" else None)

    def xs(history, xkind):
        """Epoch numbers, or the training seconds at the end of each epoch."""
        if xkind == "epoch":
            return np.asarray(history["epoch"])
        return np.cumsum(history["epoch_time_s"])

    fig, axes = plt.subplots(1, 2, figsize=(12, 4.8), sharey=True)
    for ax, xkind in zip(axes, ("epoch", "seconds"), strict=True):
        # %% The modern recipe, one line per seed: TTA bold, plain thin.
        for i, h in enumerate(m["histories"]):
            first = i == 0
            if "test_accuracy_tta" in h:
                ax.plot(xs(h, xkind), h["test_accuracy_tta"], "-o", color="C3", ms=3, lw=1.8,
                        label="modern recipe, flip TTA" if first else None)
            ax.plot(xs(h, xkind), h["test_accuracy"], "-", color="C3", alpha=0.45, lw=0.9,
                    label="modern recipe, plain" if first else None)
        # %% The lecture's recipe on the same data and hardware.
        if base:
            h = base["history"]
            ax.plot(xs(h, xkind), h["test_accuracy"], "-s", color="C0", ms=4, lw=1.5,
                    label=f"lecture's recipe here (seed {base['seed']}, {base['epochs']} epochs)")
        # %% The lecture notebook: epochs as printed; seconds estimated from our baseline's pace.
        if notebook is not None and (xkind == "epoch" or base):
            x = notebook["epoch"] if xkind == "epoch" else notebook["epoch"] * base["seconds_per_epoch"]
            ax.plot(x, notebook["val_accuracy"], "k:", lw=1.3,
                    label="lecture notebook (200 epochs)" + ("" if xkind == "epoch" else
                                                             ", at our s/epoch (estimate)"))
        ax.axhline(target, color="0.3", lw=0.8, ls="--")
        ax.set_xscale("log")
        ax.set_xlabel("epoch" if xkind == "epoch" else "training seconds (this hardware)")
        ax.grid(alpha=0.3, which="both")
    axes[0].set_ylabel("test accuracy")
    # From 30% up, unless a curve lies lower (a short smoke run).
    lowest = min([min(line.get_ydata(), default=1.0) for ax in axes for line in ax.get_lines()])
    axes[0].set_ylim(min(0.3, float(lowest) - 0.02), 1.0)
    axes[0].legend(fontsize=7, loc="lower right")

    # %% The headline numbers, in the title.
    hits = m["time_to_target"]
    reached = [t for t in hits if t["epoch"] is not None]
    if reached:
        txt = (f"modern recipe reached {100 * target:.0f}% (flip TTA) after epoch "
               f"{', '.join(str(t['epoch']) for t in reached)} of {result['config']['epochs']} "
               f"({len(reached)}/{len(hits)} seeds; {np.mean([t['train_seconds'] for t in reached]):.0f} s)")
    else:
        best = max(t["best"] for t in hits)
        txt = f"modern recipe did not reach {100 * target:.0f}% in {result['config']['epochs']} epochs (best {100 * best:.2f}%)"
    if base:
        txt += f"; lecture's recipe: {base['seconds_per_epoch']:.0f} s/epoch here"
    fig.suptitle(f"CIFAR-10 CNN (1,345,066 parameters): {txt}", fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
