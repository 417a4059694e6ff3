"""A 20 x 20 grid of test images with the CNN's predictions: true / predicted, wrong in red.

The notebook's closing figure: the first 400 test images, each titled "true/predicted"; a wrong
prediction is written in red and framed in red, so the few errors stand out. Predictions of the
first seed. Reads the ``mnist-cnn`` result's arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "prediction_grid"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "mnist-cnn")
    if result is None or "test_images" not in arrays:
        return plotting.skip(NAME, "no mnist-cnn result")
    images = arrays["test_images"]
    labels = arrays["test_labels"][: len(images)]
    preds = arrays["test_predictions"][0][: len(images)]
    names = result["measured"]["class_names"]
    wrong = int(np.sum(preds != labels))

    # %% Ink dark on white; one title per image, red where the prediction is wrong.
    fig, axes = plt.subplots(20, 20, figsize=(13, 14.5))
    for ax in axes.flat:
        ax.axis("off")
    for ax, img, lab, pred in zip(axes.flat, images, labels, preds, strict=False):
        ok = int(lab) == int(pred)
        ax.imshow(img.squeeze(), cmap="gray_r" if img.shape[-1] == 1 else None, vmin=0, vmax=255)
        ax.set_title(f"{names[int(lab)][:5]}/{names[int(pred)][:5]}", fontsize=6, pad=1,
                     color="black" if ok else "red", fontweight="normal" if ok else "bold")
        if not ok:
            ax.axis("on")
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color("red")
                spine.set_linewidth(1.5)
    fig.suptitle(f"CNN on the first {len(images)} test images of {result['dataset']}: true/predicted "
                 f"(seed {result['seeds'][0]}; {wrong} wrong, in red)")
    fig.tight_layout(rect=(0, 0.015, 1, 0.975), h_pad=0.2, w_pad=0.1)
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
