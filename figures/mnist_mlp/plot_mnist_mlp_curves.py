"""Training vs test loss and accuracy of the lecture's MLP, with the notebook's own curve overlaid.

The lecture's slide "Training loss vs validation loss": its notebook validated on the test set,
so the lecture's "val" curve is a test curve; ours is measured the same way (after each epoch,
for the picture only). One thin line per seed, the mean in bold; dashed black = the notebook.
Reads the ``mnist-mlp`` result; no training.
"""

# %%
from replication import lecture, plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "mnist_mlp_curves"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "mnist-mlp")
    if result is None:
        return plotting.skip(NAME, "no mnist-mlp result")
    histories = result["measured"]["histories"]
    notebook = lecture.curve("mnist_mlp") if result["dataset"] == "mnist" else None

    # %% Loss (left) and accuracy (right); train in blue, test in orange.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    for ax, metric in zip(axes, ("loss", "accuracy"), strict=True):
        plotting.train_test_curves(ax, histories, metric, train_label="train (dropout on)")
        if notebook is not None:
            # The lecture's own numbers, as its notebook printed them.
            ax.plot(notebook["epoch"], notebook[metric], "k--", lw=1.2, label="lecture notebook: train")
            ax.plot(notebook["epoch"], notebook[f"val_{metric}"], "k:", lw=1.6,
                    label="lecture notebook: test (its 'val')")
        ax.set_xlabel("epoch")
        ax.set_ylabel(metric)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
    axes[1].set_ylim(0.9, 1.0)
    fig.suptitle("MLP (932,362 parameters): training vs test loss and accuracy")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
