"""The lecture notebooks' own per-epoch curves (package data), for overlays on our figures.

``lecture_data/notebook_curves.csv`` holds every per-epoch line the lecture's public notebooks
printed (validation = the test set): mnist_mlp, mnist_cnn (two copies each) and
CNN_with_Image_Augmentation (no augmentation, 100 epochs; augmented, 200 epochs).
"""

from __future__ import annotations

from importlib import resources


def curves():
    """All curves as a pandas DataFrame (columns: notebook, fit_call, variant, epoch, ...)."""
    import pandas as pd

    with resources.files("replication").joinpath("lecture_data/notebook_curves.csv").open() as f:
        return pd.read_csv(f)


def curve(notebook: str, variant: str | None = None, copy: str | None = None):
    """One notebook's curve: rows whose notebook name starts with ``notebook``.

    ``copy`` picks the repository (e.g. ``"DeepLearning_2020"``); by default the first one listed.
    """
    df = curves()
    rows = df[df["notebook"].str.startswith(notebook + " ")]
    if variant is not None:
        rows = rows[rows["variant"] == variant]
    if copy is not None:
        rows = rows[rows["notebook"].str.contains(copy, regex=False)]
    if rows.empty:
        raise KeyError(f"no lecture curve for notebook={notebook!r} variant={variant!r} copy={copy!r}")
    first = rows["notebook"].iloc[0]
    return rows[rows["notebook"] == first].sort_values("epoch").reset_index(drop=True)
