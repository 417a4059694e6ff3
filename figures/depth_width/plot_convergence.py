"""Did every network of the depth sweep converge? The evidence behind depth-width's convergence gate.

Left: each in-band network's validation accuracy after every epoch (mean over seeds; thin lines:
single seeds), with the gate's two windows shaded (the two fifths of the epochs before the learning
rate's decay): the gate reads the mean of the right window minus the mean of the left one, per
network, and fails the sweep where the largest is above the registered limit. Right: the training
loss per epoch (training mode, mean over the epoch), which keeps falling when a network memorises
its training images even where its validation accuracy has stopped rising.
Reads the ``depth-width`` result (its ``curves``); no training.
"""

# %%
import numpy as np

from replication import plotting, registry

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "convergence"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "depth-width")
    if result is None or not result["measured"].get("curves"):
        return plotting.skip(NAME, "no depth-width result with per-epoch curves")
    m = result["measured"]
    curves, windows = m["curves"], m.get("plateau_windows")
    lo, hi = m["analysis"]["band"]
    depth_of = {r["config"]: (r["depth"], r["family"]) for r in m["table"]}
    names = sorted(curves, key=lambda n: (depth_of[n][1] == "shallow_fc", depth_of[n][0]))
    gate = next((g for g in registry.get("depth-width").gates
                 if g.metric == "minus_max_plateau_gain_in_band"), None)

    # %% Validation accuracy and training loss per epoch, one colour per network.
    fig, (ax, right) = plt.subplots(1, 2, figsize=(11, 4.6))
    for i, name in enumerate(names):
        runs = list(curves[name].values())
        val = np.array([r["val_accuracy_per_epoch"] for r in runs])
        loss = np.array([r["loss_per_epoch"] for r in runs])
        epochs = np.arange(1, val.shape[1] + 1)
        # NaN (stored as null) where the run had no gate windows (smoke, one-cycle sweeps).
        gain = float(np.mean([np.nan if r["plateau_gain"] is None else r["plateau_gain"] for r in runs]))
        depth, family = depth_of[name]
        label = f"{name} ({depth} conv layers): gain {100 * gain:+.2f} points"
        for v in val:
            ax.plot(epochs, 100 * v, color=f"C{i}", alpha=0.25, lw=0.8)
        ax.plot(epochs, 100 * val.mean(axis=0), color=f"C{i}", lw=1.8,
                ls="--" if family == "shallow_fc" else "-", label=label)
        right.plot(epochs, loss.mean(axis=0), color=f"C{i}", lw=1.5,
                   ls="--" if family == "shallow_fc" else "-")
    if windows:
        a, b, c = windows
        for axis in (ax, right):
            axis.axvspan(a + 0.5, b + 0.5, color="0.85", alpha=0.6, lw=0)
            axis.axvspan(b + 0.5, c + 0.5, color="0.7", alpha=0.6, lw=0)
            axis.axvline(c + 0.5, color="0.3", ls=":", lw=1)
        ax.text(c + 0.7, ax.get_ylim()[0] + 1, "decay", fontsize=7, color="0.3")
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation accuracy (%), mean over seeds")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6.5, loc="lower right")
    right.set_xlabel("epoch")
    right.set_ylabel("training loss (training mode, epoch mean)")
    right.set_yscale("log")
    right.grid(alpha=0.3, which="both")
    worst = m["analysis"].get("max_plateau_gain_in_band")
    worst = float("nan") if worst is None else worst
    limit = f"at most {-100 * gate.at_least:.1f} points" if gate else "no registered gate"
    fig.suptitle(plotting.wrapped(
        f"Convergence of the depth sweep's in-band networks ({lo / 1e3:.0f}-{hi / 1e3:.0f}k "
        f"parameters, {len(result['seeds'])} seeds): largest late gain in validation accuracy "
        f"{100 * worst:+.2f} points (gate: {limit}; shaded: the windows compared)\n{result['verdict']}",
        120), fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 0.93))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
