"""Per-class test accuracy of the augmented CIFAR-10 CNN, beside the lecture notebook's.

Ours: one dot per seed and their mean as a blue bar. The lecture's (grey bars): the diagonal of the confusion matrix
its notebook printed after 200 epochs, divided by the 1,000 test images of each class (from
``replication.registry.LECTURE_CONFUSION_DIAGONALS``). Cats and dogs are the hard classes in both.
Reads the ``cifar10-aug`` result's arrays; no training.
"""

# %%
import numpy as np

from replication import plotting, registry

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_per_class"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "cifar10-aug")
    if result is None or "test_predictions" not in arrays:
        return plotting.skip(NAME, "no cifar10-aug result")
    names = result["measured"]["class_names"]
    labels, preds = arrays["test_labels"].astype(int), arrays["test_predictions"].astype(int)
    k = len(names)
    # (seeds, classes): the share of each class's test images predicted correctly.
    per_seed = np.array([[np.mean(p[labels == c] == c) if np.any(labels == c) else np.nan
                          for c in range(k)] for p in preds])

    # %% Blue bars: our mean over seeds; dots: each seed; grey bars: the lecture's notebook.
    x = np.arange(k)
    fig, ax = plt.subplots(figsize=(9.5, 4.6))
    ax.bar(x - 0.2, np.nanmean(per_seed, axis=0), width=0.4, color="C0",
           label=f"ours: mean of {len(preds)} seed(s), {result['profile']} profile")
    for row in per_seed:
        ax.plot(x - 0.2, row, "o", color="C0", mec="white", ms=4)
    diagonal = registry.LECTURE_CONFUSION_DIAGONALS.get("cifar10-aug")
    if diagonal is not None and result["dataset"] == "cifar10":
        ax.bar(x + 0.2, np.asarray(diagonal) / 1000, width=0.4, color="0.6",
               label="lecture notebook, 200 epochs")
    ax.set_xticks(x, names, rotation=30, ha="right")
    ax.set_ylabel("test accuracy of the class")
    ax.set_ylim(0, 1.13)  # headroom for the legend above the bars
    ax.set_yticks(np.linspace(0, 1, 6))
    ax.grid(axis="y", alpha=0.3)
    ax.legend(fontsize=8, loc="upper center", ncol=2)
    ax.set_title("CIFAR-10 CNN with augmentation: accuracy per class")
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
