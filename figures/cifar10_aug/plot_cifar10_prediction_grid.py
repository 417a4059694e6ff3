"""A 10 x 10 grid of CIFAR-10 test predictions, each image beside its class-probability bars.

As in the notebook: the first 100 test images; the bar of the true class is blue, the predicted
class's bar is red when the prediction is wrong, and the titles of wrong predictions are red.
Probabilities from the first seed of the ``cifar10-aug`` run. Reads its saved arrays; no training.
"""

# %%
import numpy as np

from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "cifar10_prediction_grid"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, arrays = plotting.load_result(args, "cifar10-aug")
    if result is None or "grid_probs" not in arrays:
        return plotting.skip(NAME, "no cifar10-aug result")
    names = result["measured"]["class_names"]
    images, probs = arrays["grid_images"], arrays["grid_probs"]
    labels = arrays["test_labels"][: len(probs)]
    k = len(names)

    # %% Each cell is an image (left) and its 10 probabilities (right), all bars on one 0-1 scale.
    fig, axes = plt.subplots(10, 20, figsize=(16, 10.5),
                             gridspec_kw={"width_ratios": [1, 1.1] * 10, "wspace": 0.15, "hspace": 0.45})
    for ax in axes.flat:
        ax.axis("off")
    wrong_total = 0
    for i, (img, p, y) in enumerate(zip(images, probs, labels, strict=False)):
        row, col = divmod(i, 10)
        ax_img, ax_bar = axes[row, 2 * col], axes[row, 2 * col + 1]
        pred = int(np.argmax(p))
        wrong = pred != int(y)
        wrong_total += wrong
        ax_img.imshow(img, interpolation="nearest")
        ax_img.set_title(f"{names[pred]} {100 * p[pred]:.0f}%\n(true: {names[int(y)]})", fontsize=5,
                         color="red" if wrong else "black", pad=1)
        colours = ["0.7"] * k
        colours[int(y)] = "C0"
        if wrong:
            colours[pred] = "red"
        ax_bar.axis("on")
        ax_bar.bar(np.arange(k), p, color=colours, width=0.8)
        ax_bar.set_ylim(0, 1)
        ax_bar.set_xticks([])
        ax_bar.set_yticks([])
        for side in ("top", "right", "left"):
            ax_bar.spines[side].set_visible(False)
    fig.suptitle(f"First {len(probs)} CIFAR-10 test images and the augmented CNN's class "
                 f"probabilities (seed {result['seeds'][0]}): {wrong_total} wrong, in red; "
                 f"blue bar = true class; bars in class order {', '.join(names)}", fontsize=9)
    fig.subplots_adjust(left=0.01, right=0.99, top=0.94, bottom=0.04)
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
