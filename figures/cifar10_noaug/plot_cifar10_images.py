"""Nine CIFAR-10 training images with their class names (the notebook's first picture).

Reads the ``cifar10-noaug`` result's arrays (or ``cifar10-aug``'s): the first 9 images of the
training set it used, as stored (uint8, no standardisation). No training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_images"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    for claim_id in ("cifar10-noaug", "cifar10-aug"):
        result, arrays = plotting.load_result(args, claim_id)
        if result is not None and "sample_images" in arrays:
            break
    else:
        return plotting.skip(NAME, "no cifar10-noaug or cifar10-aug result")
    names = result["measured"]["class_names"]

    # %% A 3 x 3 grid; 32 x 32 images shown without smoothing so the pixels stay visible.
    fig, axes = plt.subplots(3, 3, figsize=(5.2, 5.8))
    for ax, img, lab in zip(axes.flat, arrays["sample_images"], arrays["sample_labels"], strict=False):
        ax.imshow(img, interpolation="nearest")
        ax.set_title(names[int(lab)], fontsize=9, pad=2)
        ax.axis("off")
    fig.suptitle(f"Nine {result['dataset']} training images")
    fig.tight_layout(rect=(0, 0.03, 1, 0.96))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
