"""First-layer filters as RGB pictures: trained, the permuted-pixel control (the same network,
images, labels and seed, its pixels in one fixed scrambled order: the verdict's control), the
filters at initialisation, and the 3x3 first layer of the lecture's CIFAR-10 model (cifar10-aug).

Each grid shares one colour scale: a filter is shown as ``0.5 + w / (2 max|w|)``, with ``max|w|``
taken over the whole grid, so grey is 0 and the brightest colour is the grid's largest weight; the
initial filters use the trained grid's scale, so their smaller weights look as faint as they are;
the control gets its own scale (its weights can be larger or smaller overall). The control's
filters are shown as its first layer holds them: they act on scrambled pixels, so a smooth patch
there is not a smooth patch of the image. First seed only. Reads the ``filters-layer1`` result's
arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "filters_layer1"


def tiles(kernels: np.ndarray, scale: float, cols: int = 8, gap: int = 1) -> np.ndarray:
    """(k, k, 3, n) kernels -> one RGB image of n tiles on a white background."""
    k, n = kernels.shape[0], kernels.shape[-1]
    rows = int(np.ceil(n / cols))
    out = np.ones((rows * (k + gap) + gap, cols * (k + gap) + gap, 3))
    for i in range(n):
        r, c = divmod(i, cols)
        w = np.clip(0.5 + kernels[..., i] / (2 * scale), 0, 1)
        out[gap + r * (k + gap):gap + r * (k + gap) + k, gap + c * (k + gap):gap + c * (k + gap) + k] = w
    return out


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "filters-layer1")
    if result is None or "trained_kernels" not in arrays or not result["measured"].get("networks"):
        return plotting.skip(NAME, "no filters-layer1 result of this design")
    trained, initial = arrays["trained_kernels"], arrays["initial_kernels"]
    if trained.shape[2] != 3:
        return plotting.skip(NAME, "the first layer does not see RGB images")
    net = result["measured"]["networks"][0]  # the first seed's three first layers, summarised

    def caption(summary):
        return (f"median concentration {summary['structure_median']:.2f}, "
                f"colour blobs {summary['colour_fraction']:.0%}")

    scale = float(np.abs(trained).max())
    panels = [(tiles(trained, scale), f"trained ({result['config']['epochs']} epochs)\n"
                                      f"{caption(net['trained'])}")]
    if "permuted_pixel_kernels" in arrays:
        control = arrays["permuted_pixel_kernels"]
        panels.append((tiles(control, float(np.abs(control).max())),
                       f"permuted-pixel control\n{caption(net['permuted_pixels'])}"))
    panels.append((tiles(initial, scale), f"at initialisation (trained scale)\n{caption(net['initial'])}"))
    if "cifar10_aug_kernels" in arrays:
        aug = arrays["cifar10_aug_kernels"]
        panels.append((tiles(aug, float(np.abs(aug).max())), "lecture CNN (cifar10-aug), 3x3, trained"))

    # %% One panel per grid.
    fig, axes = plt.subplots(1, len(panels), figsize=(4.4 * len(panels), 5.0))
    for ax, (img, title) in zip(np.atleast_1d(axes), panels, strict=True):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.axis("off")
    k = trained.shape[0]
    summary = result["summary"]
    fig.suptitle(plotting.wrapped(
        f"First-layer filters: {trained.shape[-1]} of {k}x{k}x3, CIFAR-10 (seed {net['seed']}); "
        f"per network, trained minus permuted-pixel control, median spectral concentration: "
        f"{summary['structure_vs_permuted_pixels']['mean']:+.3f} (mean over "
        f"{summary['structure_vs_permuted_pixels']['n']} seeds); colour blobs beyond random: "
        f"{summary['colour_excess']['mean']:+.3f}; verdict: {result['verdict']}", 150), fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 0.93))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
