"""The MLP's first-layer weights: each hidden unit's 784 weights shown as a 28 x 28 image.

As in the lecture's companion notebook plot_mnist_filters: the first 100 of the 512 units of the
first Dense layer (first seed), all on one shared, symmetric colour scale, so that a unit's contrast
can be compared with every other unit's (blue negative, red positive, white zero).
Reads the ``mnist-mlp`` result's arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "mlp_first_layer_weights"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "mnist-mlp")
    if result is None or "first_layer_weights" not in arrays:
        return plotting.skip(NAME, "no mnist-mlp result")
    weights = arrays["first_layer_weights"]

    # %% One colour scale for all units, symmetric about zero.
    vmax = float(np.abs(weights).max()) or 1.0
    side = int(np.ceil(np.sqrt(len(weights))))
    fig, axes = plt.subplots(side, side, figsize=(8.4, 8.8))
    for ax in axes.flat:
        ax.axis("off")
    for ax, w in zip(axes.flat, weights, strict=False):
        image = ax.imshow(w, cmap="RdBu_r", vmin=-vmax, vmax=vmax)
    fig.colorbar(image, ax=axes, shrink=0.6, label="weight")
    fig.suptitle(f"MLP first layer: weights of {len(weights)} hidden units as 28x28 images "
                 f"({result['dataset']}, seed {result['seeds'][0]})")
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
