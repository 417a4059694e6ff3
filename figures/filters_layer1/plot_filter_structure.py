"""The structure measures of the first-layer filters: trained against the shuffled-label control.

Three panels, one dot per filter (first seed): spectral concentration (the verdict's measure: 1 -
the normalised entropy of the filter's 2-D power spectrum), colour share (judged beside it) and
orientation selectivity (reported). The filters at initialisation and the lecture model's 3x3
filters are shown too. Each title gives the Vargha-Delaney A and the one-sided Mann-Whitney p of
trained against the control. Reads the ``filters-layer1`` result; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "filter_structure"
MEASURES = (("spectral_concentration", "spectral concentration (verdict)"),
            ("colour_share", "colour share (judged beside)"),
            ("orientation_selectivity", "orientation selectivity (reported)"))


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "filters-layer1")
    if result is None or not result["measured"].get("structure"):
        return plotting.skip(NAME, "no filters-layer1 result")
    s = result["measured"]["structure"][0]
    versus = (result["measured"].get("versus_shuffled_labels") or [None])[0]
    aug = (result["measured"].get("cifar10_aug_structure") or [None])[0]
    measures = [(k, label) for k, label in MEASURES if k in s]

    # %% Strip plots: initial (grey), shuffled-label control (red), trained (blue); the cifar10-aug
    # 3x3 filters in orange.
    rng = np.random.default_rng(0)
    fig, axes = plt.subplots(1, len(measures), figsize=(4.2 * len(measures), 4.2))
    for ax, (key, label) in zip(np.atleast_1d(axes), measures, strict=True):
        groups = [("7x7 initial", s[key]["initial"], "0.55")]
        if versus is not None:  # structure_stats(trained, control): the control is its "initial"
            groups.append(("7x7 shuffled\nlabels", versus[key]["initial"], "C3"))
        groups.append(("7x7 trained", s[key]["trained"], "C0"))
        if aug is not None and key in aug:
            groups += [("3x3 initial\n(cifar10-aug)", aug[key]["initial"], "0.75"),
                       ("3x3 trained\n(cifar10-aug)", aug[key]["trained"], "C1")]
        for i, (_, values, colour) in enumerate(groups):
            v = np.asarray(values)
            ax.plot(i + rng.uniform(-0.18, 0.18, v.size), v, "o", ms=3, alpha=0.7, color=colour)
            ax.hlines(np.median(v), i - 0.3, i + 0.3, color="k", lw=1.5)
        ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_ylim(0, 1)
        ref = versus if versus is not None else s
        ax.set_title(f"{label}\ntrained vs {'control' if versus is not None else 'initial'}: "
                     f"A = {ref[key]['A']:.2f}, p = {ref[key]['p_value']:.1e}", fontsize=9)
        ax.grid(axis="y", alpha=0.3)
    fig.suptitle("First-layer filters: trained vs shuffled-label control (one dot per filter, bar = median; "
                 f"seed {s['seed']})", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 0.93))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
