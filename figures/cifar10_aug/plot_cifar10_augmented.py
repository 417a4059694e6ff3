"""The lecture's augmentation at work: 9 augmented training images, and 25 augmentations of one.

As in the notebook (rotation up to 30 degrees, horizontal flip, shifts of 0.2, zoom 0.25, nearest
fill). The images were made inside the ``cifar10-aug`` run by the trained model's own augmentation
layer, called with ``training=True``; this script only draws the saved arrays. No training.
"""

# %%
from matplotlib.gridspec import GridSpec

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_augmented"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "cifar10-aug")
    if result is None or "augmented_images" not in arrays:
        return plotting.skip(NAME, "no cifar10-aug result")
    names = result["measured"]["class_names"]
    labels = arrays["sample_labels"]

    # %% Left: each of the first 9 training images augmented once (compare plot_cifar10_images).
    # Right: the first image augmented 25 times, with the original in the corner for reference.
    fig = plt.figure(figsize=(11, 5.8))
    grid = GridSpec(5, 9, figure=fig, width_ratios=[1, 1, 1, 0.3, 1, 1, 1, 1, 1])
    for i, (img, lab) in enumerate(zip(arrays["augmented_images"], labels, strict=False)):
        ax = fig.add_subplot(grid[i // 3 + 1 if i < 9 else 0, i % 3])
        ax.imshow(img, interpolation="nearest")
        ax.set_title(names[int(lab)], fontsize=8, pad=2)
        ax.axis("off")
    ax = fig.add_subplot(grid[0, 1])
    ax.imshow(arrays["sample_images"][0], interpolation="nearest")
    ax.set_title(f"original: {names[int(labels[0])]}", fontsize=8, pad=2)
    ax.axis("off")
    for i, img in enumerate(arrays["one_image_augmentations"][:25]):
        ax = fig.add_subplot(grid[i // 5, 4 + i % 5])
        ax.imshow(img, interpolation="nearest")
        ax.axis("off")
    fig.text(0.2, 0.93, "9 training images, augmented once each", ha="center", fontsize=10)
    fig.text(0.7, 0.93, "25 augmentations of the first one", ha="center", fontsize=10)
    fig.suptitle("Augmentation: rotation +/-30 deg, horizontal flip, shift 0.2, zoom 0.25, nearest fill")
    fig.tight_layout(rect=(0, 0.03, 1, 0.92))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
