"""The top 9 test patches of 16 filters per layer, as 3x3 blocks (the lecture's "Top 9 patches"
slide), for the first, a middle and the last conv layer of the lecture's CIFAR-10 CNN (as trained
by cifar10-fast: its architecture, trained well).

Each patch is the unit's receptive field (size in the row title; grey where it reaches past the
image), shown at the same size on the page, so deeper rows are zoomed out. The row title gives the
filters' mean label purity (share of the 9 images from one class; 9 random images: the chance
value in the figure title).
Reads the ``top-patches`` result's arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "top_patches"


def block(patches: np.ndarray, gap: int = 1) -> np.ndarray:
    """(9, r, r, c) uint8 -> one 3x3 block image with white gaps."""
    r, c = patches.shape[1], patches.shape[3]
    out = np.full((3 * r + 2 * gap, 3 * r + 2 * gap, c), 255, dtype="uint8")
    for i, p in enumerate(patches[:9]):
        y, x = divmod(i, 3)
        out[y * (r + gap):y * (r + gap) + r, x * (r + gap):x * (r + gap) + r] = p
    return out


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "top-patches")
    if result is None or "patches_0" not in arrays:
        return plotting.skip(NAME, "no top-patches result")
    m = result["measured"]
    layers = m["layers"]
    purity = m["per_seed"][0]["purity_mean"]
    # The control: the same network untrained (same receptive fields); absent in older results.
    untrained = m["per_seed"][0].get("purity_mean_untrained", {})
    n_show = max(len(info["shown"]) for info in layers)

    # %% One row of 3x3 blocks per layer.
    fig, axes = plt.subplots(len(layers), n_show, figsize=(max(1.1 * n_show, 9.0), 1.5 * len(layers)),
                             squeeze=False)
    for row, info in enumerate(layers):
        patches = arrays[f"patches_{row}"]
        for col in range(n_show):
            ax = axes[row, col]
            ax.axis("off")
            if col < len(patches):
                img = block(patches[col])
                ax.imshow(img.squeeze(-1) if img.shape[-1] == 1 else img, interpolation="nearest",
                          cmap="gray")
        r = info["receptive_field"][0]
        axes[row, 0].set_title(
            f"conv layer {info['conv_index']} ({info['layer']}): receptive field {r}x{r} px, "
            f"mean purity {purity[info['layer']]:.2f} over {info['filters']} filters"
            + (f" (untrained: {untrained[info['layer']]:.2f})" if info["layer"] in untrained else ""),
            fontsize=8, loc="left")
    fig.suptitle(f"Top {m['top']} of {m['n_test']:,} test images per filter "
                 f"(chance purity {m['chance_purity']:.2f}; verdict: {result['verdict']})", fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
