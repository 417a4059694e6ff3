"""Test accuracy vs shift of the test digits: the max-pooled CNN, its two controls, and the MLP.

Left: horizontal shifts (positive = right), right: vertical shifts (positive = down), -4 ... +4
pixels with zero fill. One thin line per seed, the mean in bold. The claim reads how much less the
max-pooled CNN's accuracy falls than that of the same CNN subsampled without the max (the same
shapes and parameters); the CNN without pools and the MLP are shown for reference. Reads the
``pooling-translation`` result; no training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "shift_accuracy"
MODELS = (("max_pool", "CNN, 2x2 max-pools (the lecture's)", "C1"),
          ("subsample", "CNN, every 2nd pixel instead (no max)", "C3"),
          ("no_pooling", "CNN without pools", "C2"),
          ("mlp", "MLP (mnist-mlp)", "C0"))


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "pooling-translation")
    if result is None:
        return plotting.skip(NAME, "no pooling-translation result")
    measured = result["measured"]
    shifts, curves = measured["shifts"], measured["curves"]
    summary = result["summary"]

    # %% Same y axis for both directions, so that they can be compared.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
    for ax, direction in zip(axes, ("horizontal", "vertical"), strict=True):
        for key, label, colour in MODELS:
            runs = [c[direction] for c in curves[key]]
            drop = summary[f"mean_drop_{key}"]["mean"]
            plotting.seed_curves(ax, runs, x=shifts, color=colour, marker="o", ms=4,
                                 label=f"{label} (n={len(runs)}; mean drop {100 * drop:.1f} pts)")
        ax.set_xlabel(f"{direction} shift (pixels)")
        ax.set_xticks(shifts)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=7, loc="lower center")
    # The title states the measured difference, whichever way it went; the verdict is the report's.
    gain = summary["drop_reduction"]
    fig.suptitle(f"Shifted test digits ({measured['n_shift_test']:,}): mean drop without the max minus "
                 f"with it {100 * gain['mean']:+.1f} ± {100 * gain['std']:.1f} points "
                 f"(n={gain['n']}; {result['verdict']})")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
