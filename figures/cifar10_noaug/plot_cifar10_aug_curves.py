"""Training vs test loss and accuracy of the CIFAR-10 CNN, without and with augmentation.

The lecture's slide "Training Loss vs Validation Loss" in numbers: without augmentation the test
loss turns up while the training loss keeps falling (overfitting); with augmentation it does not.
The lecture's notebook validated on the test set, so its "val" curve is a test curve, as ours
is (measured after each epoch, for the picture only). Thin lines: seeds; bold: their mean;
dashed/dotted black: the lecture notebook (100 and 200 epochs). The grey line marks the epoch of
our lowest no-augmentation test loss, where both runs are compared. The quick profile trains on a
10,000-image subset for 12 epochs (see each claim's config in the footer's result), so its x-axis
stops long before the lecture's; the lecture's curves are cut at the same epoch, and the panel
titles give their full-length end points. Reads the ``cifar10-noaug`` and ``cifar10-aug``
results; no training.
"""

# %%
import numpy as np

from replication import lecture, plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_aug_curves"
RUNS = (("cifar10-noaug", "no augmentation"), ("cifar10-aug", "augmented"))


def mean_test_loss(result) -> np.ndarray:
    """Our test loss per epoch, mean over seeds."""
    return np.mean(plotting.seed_runs(result["measured"]["histories"], "test_loss"), axis=0)


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    found = {cid: plotting.load_result(args, cid)[0] for cid, _ in RUNS}
    if not any(found.values()):
        return plotting.skip(NAME, "no cifar10-noaug or cifar10-aug result")
    last = max(len(r["measured"]["histories"][0]["loss"]) for r in found.values() if r)
    xmax = max(last, 10)

    # The comparison epoch: where our no-augmentation test loss was lowest (seed mean).
    turn = None
    if found["cifar10-noaug"]:
        turn = int(np.argmin(mean_test_loss(found["cifar10-noaug"]))) + 1

    # %% Rows: without / with augmentation. Columns: loss, accuracy. Train blue, test orange.
    fig, axes = plt.subplots(2, 2, figsize=(11.5, 8.2), sharex=True)
    for row, (cid, variant) in enumerate(RUNS):
        result = found[cid]
        notebook = None
        if result is None or result["dataset"] == "cifar10":
            notebook = lecture.curve("CNN_with_Image_Augmentation", variant=variant)
        for col, metric in enumerate(("loss", "accuracy")):
            ax = axes[row, col]
            if result is not None:
                plotting.train_test_curves(ax, result["measured"]["histories"], metric,
                                           train_label="train (dropout/augmentation on)",
                                           marker="o", ms=3)
            else:
                ax.text(0.5, 0.5, f"{cid} not run", transform=ax.transAxes, ha="center", color="0.5")
            if notebook is not None:
                cut = notebook[notebook["epoch"] <= xmax]
                ax.plot(cut["epoch"], cut[metric], "k--", lw=1.1, label="lecture notebook: train")
                ax.plot(cut["epoch"], cut[f"val_{metric}"], "k:", lw=1.5,
                        label="lecture notebook: test (its 'val')")
            if turn is not None:
                ax.axvline(turn, color="0.5", lw=0.8,
                           label=f"epoch {turn}: our lowest no-augmentation test loss")
            ax.set_xlim(0.5, xmax + 0.5)
            ax.set_ylabel(metric)
            ax.grid(alpha=0.3)
            ax.legend(fontsize=7)
            title = f"{variant}: {metric}"
            if notebook is not None:
                end = notebook.iloc[-1]
                title += (f"  (lecture after {int(end['epoch'])} epochs: train {end[metric]:.3f}, "
                          f"test {end[f'val_{metric}']:.3f})")
            if result is not None and turn is not None and metric == "loss":
                loss = mean_test_loss(result)
                if len(loss) >= turn:
                    title += f"\nours: test loss {loss[turn - 1]:.3f} at epoch {turn}, {loss[-1]:.3f} at {len(loss)}"
            ax.set_title(title, fontsize=9)
    for ax in axes[1]:
        ax.set_xlabel("epoch")
    shown = next(r for r in found.values() if r)
    n_train = shown["measured"]["data"]["n_train"]
    fig.suptitle(f"CIFAR-10 CNN (1,345,066 parameters), trained on {n_train:,} images: "
                 f"training vs test loss and accuracy")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    plotting.save(fig, args, NAME, shown)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
