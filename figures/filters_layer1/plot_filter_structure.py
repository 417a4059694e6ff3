"""The structure measures of the first-layer filters: trained against the permuted-pixel control.

Four panels. One dot per filter (first seed): spectral concentration (1 - the normalised entropy
of the filter's 2-D power spectrum; the verdict takes each network's median), orientation
selectivity (reported), and colour blobs (each filter's colour share against the spectral
concentration of its colour part; the filters above and right of the dashed lines count as colour
blobs, as about 5% of random filters do). The filters at initialisation and, in the first two, the
lecture model's 3x3 filters are shown too. The fourth panel has one line per network (seed), the verdict's unit of analysis: its
median spectral concentration at initialisation, in the permuted-pixel control and trained.
Reads the ``filters-layer1`` result; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "filter_structure"
MEASURES = (("spectral_concentration", "spectral concentration (verdict: per-network median)"),
            ("orientation_selectivity", "orientation selectivity (reported)"))


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "filters-layer1")
    measured = result["measured"] if result is not None else {}
    if not measured.get("structure") or not measured.get("networks"):
        return plotting.skip(NAME, "no filters-layer1 result of this design")
    s = measured["structure"][0]
    versus = (measured.get("versus_permuted_pixels") or [None])[0]
    aug = (measured.get("cifar10_aug_structure") or [None])[0]
    measures = [(k, label) for k, label in MEASURES if k in s]
    colour = "chromatic_concentration" in s and measured.get("colour_reference") is not None

    # %% Strip plots: initial (grey), permuted-pixel control (red), trained (blue); the cifar10-aug
    # 3x3 filters in orange.
    rng = np.random.default_rng(0)
    panels = len(measures) + int(colour) + 1
    fig, axes = plt.subplots(1, panels, figsize=(4.2 * panels, 4.4))
    for ax, (key, label) in zip(axes, measures, strict=False):
        groups = [("7x7\ninitial", s[key]["initial"], "0.55")]
        if versus is not None:  # structure_stats(trained, control): the control is its "initial"
            groups.append(("7x7\npermuted-\npixel\ncontrol", versus[key]["initial"], "C3"))
        groups.append(("7x7\ntrained", s[key]["trained"], "C0"))
        if aug is not None and key in aug:
            groups += [("3x3\ninitial\n(cifar10-\naug)", aug[key]["initial"], "0.75"),
                       ("3x3\ntrained\n(cifar10-\naug)", aug[key]["trained"], "C1")]
        for i, (_, values, tint) in enumerate(groups):
            v = np.asarray(values)
            ax.plot(i + rng.uniform(-0.18, 0.18, v.size), v, "o", ms=3, alpha=0.7, color=tint)
            ax.hlines(np.median(v), i - 0.3, i + 0.3, color="k", lw=1.5)
        ax.set_xticks(range(len(groups)), [g[0] for g in groups], fontsize=8)
        ax.set_ylim(0, 1)
        ax.set_title(label, fontsize=9)
        ax.grid(axis="y", alpha=0.3)

    # %% Colour blobs: a filter counts when its colour part forms a pattern (above the random
    # filters' 95th percentile, dashed horizontal) and carries a third of its energy (dashed
    # vertical). Same seed's three first layers.
    if colour:
        ax = axes[len(measures)]
        arms = [("7x7 initial", s, "initial", "0.55")]
        if versus is not None:
            arms.append(("permuted-pixel control", versus, "initial", "C3"))
        arms.append(("7x7 trained", s, "trained", "C0"))
        for label, source, side, tint in arms:
            ax.plot(source["colour_share"][side], source["chromatic_concentration"][side], "o", ms=3,
                    alpha=0.7, color=tint, label=label)
        ax.axhline(measured["colour_reference"]["threshold"], color="k", ls="--", lw=0.8)
        ax.axvline(measured["colour_reference"]["min_share"], color="k", ls="--", lw=0.8)
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.set_xlabel("colour share of the filter's energy", fontsize=8)
        ax.set_ylabel("spectral concentration of its colour part", fontsize=8)
        ax.set_title("colour blobs (colour half: top right, beyond random)", fontsize=9)
        ax.legend(fontsize=7)
        ax.grid(alpha=0.3)

    # %% Per network: the verdict pairs the trained network with its own control (same seed).
    ax = axes[-1]
    arms = (("initial", "initial"), ("permuted_pixels", "permuted-pixel\ncontrol"), ("trained", "trained"))
    for net in measured["networks"]:
        ax.plot(range(len(arms)), [net[a]["structure_median"] for a, _ in arms], "o-", ms=4,
                label=f"seed {net['seed']}")
    ax.set_xticks(range(len(arms)), [label for _, label in arms], fontsize=8)
    ax.set_xlim(-0.4, len(arms) - 0.6)
    # From 0, on the strip plots' scale or a little beyond: a seed-to-seed wobble of a few
    # thousandths must not look like an effect.
    top = max(net[a]["structure_median"] for net in measured["networks"] for a, _ in arms)
    ax.set_ylim(0, max(0.3, 1.2 * top))
    ax.set_title("median spectral concentration, per network", fontsize=9)
    ax.legend(fontsize=7)
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle("First-layer filters: trained vs permuted-pixel control (one dot per filter, bar = "
                 f"median; seed {s['seed']}) and, right, every network", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 0.93))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
