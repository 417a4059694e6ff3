"""Confusion matrix of the augmented CIFAR-10 CNN on the test set, as a seaborn heatmap.

Rows are the true class, columns the predicted one, with class names, as the notebook drew it.
Cells hold the count averaged over seeds (one seed: the counts themselves); the diagonal is left
out of the colour scale so that the errors (cat <-> dog above all, in the lecture) stand out.
Reads the ``cifar10-aug`` result's arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_confusion"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "cifar10-aug")
    if result is None or "test_predictions" not in arrays:
        return plotting.skip(NAME, "no cifar10-aug result")
    import seaborn as sns

    names = result["measured"]["class_names"]
    labels, preds = arrays["test_labels"], arrays["test_predictions"]
    mean = np.mean([plotting.confusion(labels, p, len(names)) for p in preds], axis=0)

    # %% Off-diagonal colour scale (the diagonal is ~10x larger and would wash the errors out);
    # the diagonal is drawn in its own green scale on top.
    diagonal = np.eye(len(names), dtype=bool)
    fig, ax = plt.subplots(figsize=(8.6, 7.2))
    fmt = "d" if len(preds) == 1 else ".1f"
    shown = mean.astype(int) if len(preds) == 1 else mean
    common = {"annot": shown, "fmt": fmt, "annot_kws": {"fontsize": 7}, "square": True,
              "xticklabels": names, "yticklabels": names, "linewidths": 0.3, "linecolor": "0.9"}
    sns.heatmap(mean, ax=ax, mask=diagonal, cmap="Reds", vmax=max(float(mean[~diagonal].max()), 1.0),
                cbar_kws={"label": "test images (off the diagonal)"}, **common)
    sns.heatmap(mean, ax=ax, mask=~diagonal, cmap="Greens", vmin=0, vmax=max(float(mean.max()), 1.0),
                cbar=False, **common)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.tick_params(labelsize=8)
    acc = np.trace(mean) / mean.sum()
    ax.set_title(f"CIFAR-10 CNN with augmentation: confusion on {int(mean.sum()):,} test images\n"
                 f"accuracy {100 * acc:.2f}% (mean over {len(preds)} seed(s): {result['seeds']})",
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
