"""Confusion matrices of the MLP and the CNN on the test set, as seaborn heatmaps.

Rows are the true class, columns the predicted one; counts from the first seed pair. The colour
scale is logarithmic and shared by both panels, so that the few off-diagonal errors are visible
next to the ~1,000 correct digits per class and the two models can be compared cell by cell.
Reads the ``mlp-vs-cnn`` result's arrays; no training.
"""

# %%
import numpy as np
from matplotlib.colors import LogNorm

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "confusion_matrices"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "mlp-vs-cnn")
    if result is None or "test_labels" not in arrays:
        return plotting.skip(NAME, "no mlp-vs-cnn result")
    import seaborn as sns

    names = result["measured"]["class_names"]
    labels = arrays["test_labels"]
    mats = {title: plotting.confusion(labels, arrays[key][0], len(names))
            for title, key in (("MLP", "mlp_predictions"), ("CNN", "cnn_predictions"))}

    # %% Shared log colour scale; zeros are left blank.
    vmax = max(int(m.max()) for m in mats.values())
    # A third, thin axis holds the one colour bar, so that both panels keep the same size.
    fig, (*axes, cbar_ax) = plt.subplots(1, 3, figsize=(13, 5.8),
                                         gridspec_kw={"width_ratios": [1, 1, 0.04]})
    for ax, (title, m) in zip(axes, mats.items(), strict=True):
        sns.heatmap(m, ax=ax, annot=True, fmt="d", annot_kws={"fontsize": 7}, cmap="Blues",
                    norm=LogNorm(vmin=1, vmax=max(vmax, 2)), mask=m == 0, cbar=ax is axes[-1], cbar_ax=cbar_ax,
                    square=True, xticklabels=names, yticklabels=names, linewidths=0.3,
                    linecolor="0.9")
        ax.set_xlabel("predicted")
        ax.set_ylabel("true")
        errors = int(m.sum() - np.trace(m))
        ax.set_title(f"{title}: {errors} errors of {int(m.sum())}")
        ax.tick_params(labelsize=7)
    pair = result["measured"]["pairs"][0]
    fig.suptitle(f"Confusion matrices, {result['dataset']} test set (seed {pair['seed']}); "
                 f"McNemar exact p = {pair['mcnemar']['p_exact']:.2g}")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
