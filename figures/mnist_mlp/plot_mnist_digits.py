"""The first 100 MNIST training digits with their labels (the notebooks' opening figure).

Reads the ``mnist-mlp`` result's arrays (the first 100 training images it saw); no training. With
``--dataset fashion_mnist`` the labels are class names.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "mnist_digits"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "mnist-mlp")
    if result is None or "sample_images" not in arrays:
        return plotting.skip(NAME, "no mnist-mlp result")
    images, labels = arrays["sample_images"], arrays["sample_labels"]
    names = result["measured"]["class_names"]

    # %% A 10 x 10 grid, grey scale reversed as in the notebook (ink dark on white).
    fig, axes = plt.subplots(10, 10, figsize=(8, 8.6))
    for ax, img, lab in zip(axes.flat, images, labels, strict=False):
        ax.imshow(img, cmap="gray_r", vmin=0, vmax=255)
        ax.set_title(names[int(lab)], fontsize=7, pad=1)
        ax.axis("off")
    fig.suptitle(f"First 100 training images of {result['dataset']} with their labels")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
