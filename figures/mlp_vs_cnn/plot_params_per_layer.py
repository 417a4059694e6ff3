"""Parameters per layer of the MLP and the CNN: where each model keeps its weights.

One horizontal bar per layer that has parameters (Flatten, Dropout and MaxPool have none), on a
logarithmic axis because the layers span 320 to 401,920 parameters; totals in the titles.
Reads the ``mlp-vs-cnn`` result; no training.
"""

# %%
from replication import plotting

plt = plotting.pyplot()  # matplotlib.pyplot on the Agg backend: files only, no window

NAME = "params_per_layer"


def main(argv=None) -> int:
    args = plotting.figure_args(__doc__, argv)
    result, _ = plotting.load_result(args, "mlp-vs-cnn")
    if result is None:
        return plotting.skip(NAME, "no mlp-vs-cnn result")
    tables = result["measured"]["params_per_layer"]
    totals = result["measured"]["params"]

    # %% Layers top to bottom in model order; the same log axis for both panels.
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), sharex=True)
    for ax, (key, title, colour) in zip(axes, (("mlp", "MLP", "C0"), ("cnn", "CNN", "C1")), strict=True):
        rows = [(f"{name} ({kind})", n) for name, kind, n in tables[key] if n > 0]
        names, counts = zip(*rows, strict=True)
        ax.barh(range(len(rows)), counts, color=colour)
        for i, n in enumerate(counts):
            ax.text(n * 1.08, i, f"{n:,}", va="center", fontsize=8)
        ax.set_yticks(range(len(rows)), names, fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        ax.set_xlim(100, 3e6)
        ax.set_xlabel("parameters (log scale)")
        ax.set_title(f"{title}: {totals[key]:,} parameters")
        ax.grid(axis="x", alpha=0.3)
    fig.suptitle(f"Parameters per layer: the MLP has {result['measured']['params_ratio']:.2f}x "
                 f"the CNN's")
    fig.tight_layout(rect=(0, 0.03, 1, 0.95))
    plotting.save(fig, args, NAME, result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
