"""Shared fixtures: an autouse seed, real data when present, generated dataset files otherwise."""

from __future__ import annotations

import gzip
import os
import pickle
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared" / "datasets"


def real_data_dir() -> Path | None:
    """The real datasets: $REPLICATION_DATA_DIR, else ../shared/datasets, else None."""
    for candidate in (os.environ.get("REPLICATION_DATA_DIR"), SHARED):
        if candidate and (Path(candidate) / "mnist").is_dir():
            return Path(candidate)
    return None


@pytest.fixture(autouse=True)
def _seed_everything():
    import keras

    keras.utils.set_random_seed(1234)
    yield


# ---------------------------------------------------------------------------------------------
# Writers for the real file formats, for tests that must not depend on the real data


def idx_bytes(array: np.ndarray) -> bytes:
    array = np.asarray(array, dtype=np.uint8)
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


def write_idx_folder(folder: Path, *, n_train=60000, n_test=10000, gz=True, seed=0) -> Path:
    """A folder of the four MNIST-format IDX files holding learnable synthetic digits."""
    from replication import data

    folder.mkdir(parents=True, exist_ok=True)
    synth = data.synthetic("mnist", n_train, n_test, seed=seed)
    files = {
        "train-images-idx3-ubyte": synth.train.x[..., 0],
        "train-labels-idx1-ubyte": synth.train.y,
        "t10k-images-idx3-ubyte": synth.test.x[..., 0],
        "t10k-labels-idx1-ubyte": synth.test.y,
    }
    for name, array in files.items():
        raw = idx_bytes(array)
        if gz:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=1))
        else:
            (folder / name).write_bytes(raw)
    return folder


def cifar_batch_bytes(n=10, seed=0, labels=None) -> bytes:
    rng = np.random.default_rng(seed)
    batch = {
        b"batch_label": b"testing batch 1 of 1",
        b"labels": list(labels) if labels is not None else [int(v) for v in rng.integers(0, 10, n)],
        b"data": rng.integers(0, 256, (n, 3072)).astype(np.uint8),
        b"filenames": [b"img_%d.png" % i for i in range(n)],
    }
    return pickle.dumps(batch, protocol=3)  # protocol 2 would pickle bytes via _codecs


@pytest.fixture(scope="session")
def fake_data_dir(tmp_path_factory) -> Path:
    """Full-size MNIST- and Fashion-MNIST-format files of synthetic digits (checksums fail)."""
    root = tmp_path_factory.mktemp("fake-data")
    write_idx_folder(root / "mnist")
    write_idx_folder(root / "fashion_mnist", gz=False, seed=1)
    return root


@pytest.fixture(scope="session")
def data_dir(fake_data_dir) -> tuple[Path, dict]:
    """(data dir, extra env): the real data when present, else the fake files unverified."""
    real = real_data_dir()
    if real is not None:
        return real, {}
    return fake_data_dir, {"REPLICATION_NO_VERIFY": "1"}


def run_cli(*args, env_extra=None, cwd=None, timeout=900) -> subprocess.CompletedProcess:
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2", **(env_extra or {})}
    env.pop("REPLICATION_RESULTS_DIR", None)
    return subprocess.run([sys.executable, "-m", "replication", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd or REPO, timeout=timeout)


def tree_snapshot(root: Path) -> dict:
    """Every file under root with its bytes: to prove a failed command changed nothing."""
    if not root.exists():
        return {}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}
