"""The MLP with and without dropout: test loss per epoch and the train-test accuracy gap.

Left: test loss after every epoch (overfitting shows as a test loss that turns up while training
goes on). Right: training accuracy (``evaluate`` on the training set, dropout off) and test
accuracy after the last epoch, per seed, with the gap between them. Reads the ``dropout`` result;
no training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "dropout_curves"
VARIANTS = (("with_dropout", "with dropout 0.2", "C0"), ("without_dropout", "without dropout", "C3"))


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "dropout")
    if result is None:
        return plotting.skip(NAME, "no dropout result")
    measured, summary = result["measured"], result["summary"]

    fig, (ax_loss, ax_gap) = plt.subplots(1, 2, figsize=(11, 4.4))
    # %% Test loss per epoch: thin line per seed, mean in bold.
    for key, label, colour in VARIANTS:
        runs = plotting.seed_runs(measured[f"histories_{key}"], "test_loss")
        if runs:
            plotting.seed_curves(ax_loss, runs, color=colour, marker="o" if len(runs[0]) < 6 else None,
                                 label=f"{label}, mean of {len(runs)}")
    ax_loss.set_xlabel("epoch")
    ax_loss.set_ylabel("test loss")
    ax_loss.grid(alpha=0.3)
    ax_loss.legend(fontsize=8)
    ax_loss.set_title("test loss per epoch")

    # %% Last epoch: train and test accuracy as two bars per variant, the gap written above.
    for i, (key, _label, colour) in enumerate(VARIANTS):
        gap = summary[f"gap_{key}"]
        test = summary[f"test_accuracy_{key}"]["mean"]
        train = test + gap["mean"]
        ax_gap.bar(i - 0.18, 100 * train, width=0.36, color=colour, alpha=0.45, label="train" if i == 0 else None)
        ax_gap.bar(i + 0.18, 100 * test, width=0.36, color=colour, label="test" if i == 0 else None)
        ax_gap.text(i, 100 * train + 0.1, f"gap {100 * gap['mean']:.2f} ± {100 * gap['std']:.2f} pts",
                    ha="center", fontsize=8)
    lows = [100 * summary[f"test_accuracy_{k}"]["mean"] for k, _, _ in VARIANTS]
    ax_gap.set_ylim(min(lows) - 1.0, 100.6)
    ax_gap.set_xticks(range(len(VARIANTS)), [label for _, label, _ in VARIANTS])
    ax_gap.set_ylabel("accuracy after the last epoch (%)")
    ax_gap.set_title("train (light) vs test (dark) accuracy")
    ax_gap.grid(axis="y", alpha=0.3)
    # The title states the measured differences, whichever way they went; the verdict is the report's.
    rise, red = summary["loss_rise_reduction"], summary["gap_reduction"]
    fig.suptitle(plotting.wrapped(f"Without minus with dropout: test-loss rise {rise['mean']:+.3f} ± {rise['std']:.3f}, "
                 f"train-test gap {100 * red['mean']:+.2f} ± {100 * red['std']:.2f} points "
                 f"(n={red['n']}; {result['verdict']})", 110))
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
