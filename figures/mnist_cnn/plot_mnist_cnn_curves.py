"""Training vs test loss and accuracy of the lecture's CNN, with the notebooks' own curves overlaid.

The notebook validated on the test set, so its "val" curve is a test curve; ours is measured the
same way (after each epoch, for the picture only). One thin line per seed, the mean in bold; black =
the lecture notebook (both published copies). The MLP's curves are ``plot_mnist_mlp_curves.py``.
Reads the ``mnist-cnn`` result; no training.
"""

# %%
from replication import lecture, plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "mnist_cnn_curves"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "mnist-cnn")
    if result is None:
        return plotting.skip(NAME, "no mnist-cnn result")
    histories = result["measured"]["histories"]
    notebooks = []
    if result["dataset"] == "mnist":
        for copy in ("MachineLearning2020", "DeepLearning_2020"):
            try:
                notebooks.append((copy, lecture.curve("mnist_cnn", copy=copy)))
            except KeyError:
                pass

    # %% Loss (left) and accuracy (right); train in blue, test in orange.
    # Markers only for a short run: a one-epoch curve is a single point, which a line cannot show.
    few = min(len(h["loss"]) for h in histories) < 6
    markers = {"marker": "o", "seed_marker": "."} if few else {}
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        plotting.train_test_curves(ax, histories, metric, train_label="train (dropout on)", **markers)
        for i, (_copy, nb) in enumerate(notebooks):
            # The lecture's own numbers, as its notebooks printed them; labelled once.
            ax.plot(nb["epoch"], nb[metric], "k--", lw=1.0, alpha=0.7,
                    label="lecture notebooks: train" if i == 0 else None)
            ax.plot(nb["epoch"], nb[f"val_{metric}"], "k:", lw=1.4,
                    label="lecture notebooks: test (their 'val')" if i == 0 else None)
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[0].set_ylim(bottom=0)
    axes[1].set_ylim(0.95, 1.0)
    params = result["measured"].get("params")
    fig.suptitle(f"CNN ({params:,} parameters): training vs test loss and accuracy")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
