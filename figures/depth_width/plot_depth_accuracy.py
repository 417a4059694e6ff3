"""Test accuracy against depth at a matched parameter count, in the style of Fig. 6.6.

Blue: the depth-width sweep's depth series (every in-band network but the shallow fully connected
family), test accuracy as the mean over seeds with their std as error bars; orange dashed: the
same networks' training accuracy (inference mode, on a fixed sample of training images), which
says whether a deep network fitted at all; green dotted: validation accuracy. Grey, on its own
right axis: the two numbers the lecture quotes from Goodfellow et al. 2014 on SVHN (92.0% with 3
layers, 96.0% with 11); the book's curve between them is not available as data.
Reads the ``depth-width`` result; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "depth_accuracy"
LECTURE_SVHN = ((3, 0.920), (11, 0.960))  # the lecture's endpoints of Fig. 6.6 (SVHN)


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "depth-width")
    if result is None or not result["measured"].get("table"):
        return plotting.skip(NAME, "no depth-width result")
    a = result["measured"]["analysis"]
    by_name = {r["config"]: r for r in result["measured"]["table"]}
    series = [by_name[s["config"]] for s in a["depth_series"]]
    depth = np.array([r["depth"] for r in series])
    n = len(result["seeds"])

    def line(key):
        return (np.array([r[key] for r in series]), np.array([r.get(f"{key}_std", 0.0) for r in series]))

    # %% Ours (left axis: test, training and validation accuracy) and the lecture's SVHN endpoints
    # (right axis: another dataset and scale, so never on ours).
    fig, ax = plt.subplots(figsize=(6.8, 4.6))
    acc, err = line("test_accuracy")
    ax.errorbar(depth, 100 * acc, yerr=100 * err, fmt="o-", color="C0", capsize=3,
                label=f"ours: test, mean ± std of {n} seeds ({result['dataset']}, {result['profile']})")
    for key, style, label in (("train_accuracy", "--", "ours: training (inference mode)"),
                              ("val_accuracy", ":", "ours: validation")):
        if key in series[0]:
            values, errs = line(key)
            ax.errorbar(depth, 100 * values, yerr=100 * errs, fmt="." + style, capsize=2, alpha=0.8,
                        color="C1" if key == "train_accuracy" else "C2", label=label)
    for r in series:
        ax.annotate(f"{r['params'] / 1e3:.0f}k", (r["depth"], 100 * r["test_accuracy"]),
                    textcoords="offset points", xytext=(0, 7), ha="center", fontsize=7, color="C0")
    ax.set_xlabel("number of conv layers")
    ax.set_ylabel(f"test accuracy on {result['dataset']} (%)", color="C0")
    ax.set_xticks(depth)
    ax.grid(alpha=0.3)
    right = ax.twinx()
    lx, ly = zip(*LECTURE_SVHN, strict=True)
    right.plot(lx, 100 * np.array(ly), "s--", color="0.5", label="lecture, SVHN (Fig. 6.6 endpoints)")
    right.set_ylabel("lecture's test accuracy on SVHN (%)", color="0.4")
    lines = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    labels = ax.get_legend_handles_labels()[1] + right.get_legend_handles_labels()[1]
    ax.legend(lines, labels, fontsize=7, loc="lower right")
    lo, hi = a["band"]
    p = a.get("spearman_p_greater", a.get("spearman_p_value"))
    ax.set_title(plotting.wrapped(
        f"Accuracy vs depth at {lo / 1e3:.0f}-{hi / 1e3:.0f}k parameters\nSpearman rho = "
        f"{a['spearman_rho']:.2f} over seed means (exact one-sided p = {p:.2g} for rho > 0)\n"
        f"{result['verdict']}", 90), fontsize=9)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
