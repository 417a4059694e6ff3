"""The structure of both models, as the notebooks drew it with keras.utils.plot_model (shapes on).

Left the MLP, right the CNN, each loaded from its first seed's saved ``model.keras`` (the one place
a figure script loads a model: the diagram is drawn from the model itself, not from a description).
Needs Graphviz and pydot; without them the figure is skipped (exit 0). Reads the ``mnist-mlp`` and
``mnist-cnn`` results; no training.
"""

# %%
import tempfile
from pathlib import Path

from replication import plotting, results

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "model_diagrams"


def saved_model_path(args, claim_id: str, result: dict) -> Path:
    store = results.Store(args.results_dir)
    folder = store.claim_dir(result["profile"], result["dataset"], claim_id) / result["runs_dir"]
    return folder / f"seed{result['seeds'][0]}" / "model.keras"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    found = {c: plotting.load_result(args, c)[0] for c in ("mnist-mlp", "mnist-cnn", "mlp-vs-cnn")}
    if found["mnist-mlp"] is None or found["mnist-cnn"] is None:
        return plotting.skip(NAME, "no mnist-mlp or mnist-cnn result")
    import keras

    # %% Draw each diagram to a PNG with Graphviz, then place both side by side.
    pictures = []
    with tempfile.TemporaryDirectory() as tmp:
        for claim_id, title in (("mnist-mlp", "MLP"), ("mnist-cnn", "CNN")):
            path = saved_model_path(args, claim_id, found[claim_id])
            if not path.exists():
                return plotting.skip(NAME, f"{path} missing")
            model = keras.saving.load_model(path, compile=False)
            png = Path(tmp) / f"{claim_id}.png"
            try:
                keras.utils.plot_model(model, to_file=str(png), show_shapes=True,
                                       show_layer_names=True, dpi=80)
            except (ImportError, OSError) as exc:
                return plotting.skip(NAME, f"Graphviz/pydot missing ({str(exc).splitlines()[0]})")
            if not png.exists():  # plot_model only prints its complaint in some environments
                return plotting.skip(NAME, "Graphviz/pydot missing (keras.utils.plot_model drew nothing)")
            pictures.append((f"{title}: {model.count_params():,} parameters", plt.imread(png)))

    heights = [p.shape[0] for _, p in pictures]
    fig, axes = plt.subplots(1, 2, figsize=(12, 0.011 * max(heights) + 1.2),
                             gridspec_kw={"width_ratios": [p.shape[1] for _, p in pictures]})
    for ax, (title, picture) in zip(axes, pictures, strict=True):
        ax.imshow(picture)
        ax.set_title(title)
        ax.axis("off")
    fig.suptitle("Model structure (keras.utils.plot_model, show_shapes=True)")
    fig.tight_layout(rect=(0, 0.02, 1, 0.97))
    plotting.save(fig, args, NAME, found["mlp-vs-cnn"] or found["mnist-cnn"])
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
