"""Test accuracy against the number of parameters, one line per family, in the style of Fig. 6.7.

Families: deep (11 conv layers, widths vary), shallow convolutional (3 conv layers, widths vary)
and shallow fully connected (3 conv layers, two Dense layers whose width varies). Error bars: std
over the trial's executions. The shaded band is the matched parameter count both verdicts use; the
title says how many networks it holds. The depth-only networks of the Fig. 6.6 series are grey dots.
Reads the ``depth-width`` result (and ``deep-vs-wide``'s verdict, when present); no training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "params_accuracy"
STYLE = {"deep": ("C0", "o-", "11 conv layers (deep)"),
         "shallow_conv": ("C1", "s-", "3 conv layers, wider convolutions"),
         "shallow_fc": ("C2", "^-", "3 conv layers, wider fully connected")}


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "depth-width")
    if result is None or not result["measured"].get("table"):
        return plotting.skip(NAME, "no depth-width result")
    rows = result["measured"]["table"]
    a = result["measured"]["analysis"]
    other, _ = plotting.load_result(args, "deep-vs-wide")

    # %% One line per family; the band shaded.
    fig, ax = plt.subplots(figsize=(7.6, 5.0))
    lo, hi = a["band"]
    ax.axvspan(lo, hi, color="0.9", zorder=0, label="matched band")
    for family, (colour, fmt, label) in STYLE.items():
        fam = sorted((r for r in rows if r["family"] == family), key=lambda r: r["params"])
        if fam:
            ax.errorbar([r["params"] for r in fam], [100 * r["test_accuracy"] for r in fam],
                        yerr=[100 * r["test_accuracy_std"] for r in fam], fmt=fmt, color=colour,
                        capsize=3, label=label)
    extra = [r for r in rows if r["family"] == "depth"]
    if extra:
        ax.plot([r["params"] for r in extra], [100 * r["test_accuracy"] for r in extra], ".",
                color="0.5", label="depth series only (2-9 layers)")
        for r in extra:
            ax.annotate(f"{r['depth']}", (r["params"], 100 * r["test_accuracy"]),
                        textcoords="offset points", xytext=(4, -3), fontsize=7, color="0.4")
    ax.set_xscale("log")
    ax.set_xlabel("parameters")
    ax.set_ylabel(f"test accuracy on {result['dataset']} (%)")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=8, loc="best")
    verdict = f"; deep-vs-wide: {other['verdict']}" if other is not None else ""
    margins = ", ".join(f"{k} ({m['rival']}): {100 * m['margin']:+.1f} pt" for k, m in a["margins"].items())
    ax.set_title(plotting.wrapped(f"Accuracy vs parameters ({result['profile']}); band {lo / 1e3:.0f}-{hi / 1e3:.0f}k "
                 f"holds {a['n_in_band']} networks\ndeepest in band minus the shallow rival chosen "
                 f"on validation, mean over seeds: {margins}"
                 f"\n{verdict.lstrip('; ')}", 110), fontsize=8)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
