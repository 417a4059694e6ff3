"""Test accuracy vs shift of the test digits: MLP, CNN, and the same CNN without pooling.

Left: horizontal shifts (positive = right), right: vertical shifts (positive = down), -4 ... +4
pixels with zero fill. One thin line per seed, the mean in bold. The claim reads how much less the
pooled CNN's accuracy falls than the unpooled one's; the MLP is shown for reference. Reads the
``pooling-translation`` result; no training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "shift_accuracy"
MODELS = (("cnn", "CNN (with pooling), mnist-cnn", "C1"),
          ("cnn_pooled_twin", "CNN with pooling, same budget as the control", "C3"),
          ("cnn_no_pooling", "CNN without pooling", "C2"),
          ("mlp", "MLP", "C0"))


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
            if key not in curves:  # the twin exists only where the profile trains one
                continue
            runs = [c[direction] for c in curves[key]]
            drop = summary[f"mean_drop_{key}"]["mean"]
            plotting.seed_curves(ax, runs, x=shifts, color=colour, marker="o", ms=4,
                                 label=f"{label} (n={len(runs)}; mean drop {100 * drop:.1f} pts)")
        ax.set_xlabel(f"{direction} shift (pixels)")
        ax.set_xticks(shifts)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("test accuracy")
    axes[0].legend(fontsize=7, loc="lower center")
    gain = summary["drop_reduction"]
    fig.suptitle(f"Accuracy on shifted test images ({measured['n_shift_test']:,} images): pooling "
                 f"reduces the mean drop by {100 * gain['mean']:.1f} points (n={gain['n']})")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
