"""Datasets: the official train/test splits of MNIST, Fashion-MNIST and CIFAR-10, verified.

Sources, in this order:

1. a local folder (``--data-dir`` or ``REPLICATION_DATA_DIR``) holding each dataset's standard
   distribution files: ``<dir>/mnist/`` and ``<dir>/fashion_mnist/`` with the four IDX files
   (gzipped or not), ``<dir>/cifar10/`` with ``cifar-10-batches-py/`` or ``cifar-10-python.tar.gz``;
2. otherwise TensorFlow Datasets (``tfds.load``), which downloads on a connected machine. Any other
   TFDS image-classification dataset (for example ``svhn_cropped``) goes through this path.

Every local file is checked: its MD5 (MNIST and Fashion-MNIST: of the decompressed bytes, so a
re-gzipped or gunzipped copy of the official data passes; CIFAR-10: of each batch file), the IDX
magic number, shape and count, and the label range. CIFAR-10 batches are pickles; they are read
with a restricted unpickler that admits numpy arrays and builtin containers only, so a crafted file
is refused, never executed.

Images are kept as ``uint8`` NHWC arrays; turning them into floats is the job of :class:`Preprocess`
so that the lecture's models keep their exact parameter counts.
"""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import io
import os
import pickle
import socket
import struct
import tarfile
import tempfile
import zlib
from pathlib import Path

import numpy as np

from .errors import DataError

DATA_DIR_ENV = "REPLICATION_DATA_DIR"

MNIST_FILES = {
    # split: (images file, labels file, count)
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 60000),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 10000),
}

# Published MD5 of the *decompressed* official MNIST files (mirrors recompress the .gz wrappers).
MNIST_MD5 = {
    "train-images-idx3-ubyte": "6bbc9ace898e44ae57da46a324031adb",
    "train-labels-idx1-ubyte": "a25bea736e30d166cdddb491f175f624",
    "t10k-images-idx3-ubyte": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte": "27ae3e4e09519cfbb04c329615203637",
}

# MD5 of the *decompressed* official Fashion-MNIST files. Zalando publishes only the MD5 of its .gz
# files (zalandoresearch/fashion-mnist README), but Linux distributions and mirrors re-gzip them, so
# the wrapper's MD5 would refuse the same data; these are the MD5s of the gunzipped official files,
# as other loaders list them too.
FASHION_MNIST_MD5 = {
    "train-images-idx3-ubyte": "f4a8712d7a061bf5bd6d2ca38dc4d50a",
    "train-labels-idx1-ubyte": "9018921c3c673c538a1fc5bad174d6f9",
    "t10k-images-idx3-ubyte": "8181f5470baa50b63fa0f6fddb340f0a",
    "t10k-labels-idx1-ubyte": "15d484375f8d13e6eb1aabb0c3f46965",
}

# The checksums of every IDX dataset, by dataset name: always of the decompressed bytes.
IDX_MD5 = {"mnist": MNIST_MD5, "fashion_mnist": FASHION_MNIST_MD5}

CIFAR10_MD5 = {
    "data_batch_1": "c99cafc152244af753f735de768cd75f",
    "data_batch_2": "d4bba439e000b95fd0a9bffe97cbabec",
    "data_batch_3": "54ebc095f3ab1f0389bbae665268c751",
    "data_batch_4": "634d18415352ddfa80567beed471001a",
    "data_batch_5": "482c414d41f54cd18b22e5b47cb7c3cb",
    "test_batch": "40351d587109b95175f43aff81a1287e",
}
CIFAR10_TAR = "cifar-10-python.tar.gz"

MNIST_CLASSES = tuple(str(d) for d in range(10))
FASHION_MNIST_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)
CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)


@dataclasses.dataclass(frozen=True)
class DatasetSpec:
    """What we know about a dataset before reading it."""

    name: str
    image_shape: tuple[int, int, int]
    class_names: tuple[str, ...]
    local_format: str | None  # "idx", "cifar10" or None (TFDS only)


DATASETS = {
    "mnist": DatasetSpec("mnist", (28, 28, 1), MNIST_CLASSES, "idx"),
    "fashion_mnist": DatasetSpec("fashion_mnist", (28, 28, 1), FASHION_MNIST_CLASSES, "idx"),
    "cifar10": DatasetSpec("cifar10", (32, 32, 3), CIFAR10_CLASSES, "cifar10"),
    # TFDS only: shapes and names are read from TFDS when it loads.
    "svhn_cropped": DatasetSpec("svhn_cropped", (32, 32, 3), tuple(str(d) for d in range(10)), None),
}


@dataclasses.dataclass(frozen=True)
class Split:
    """One split: ``x`` uint8 images (N, H, W, C), ``y`` int64 labels (N,)."""

    x: np.ndarray
    y: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def take(self, indices) -> Split:
        return Split(self.x[indices], self.y[indices])


@dataclasses.dataclass(frozen=True)
class Dataset:
    """The official train and test splits of one dataset, and where they came from."""

    name: str
    train: Split
    test: Split
    class_names: tuple[str, ...]
    source: str  # a folder, "tfds", or "synthetic"
    verified: bool  # every file matched its published checksum
    synthetic: bool = False  # made by `synthetic()`: never a replication
    notes: tuple[str, ...] = ()

    @property
    def image_shape(self) -> tuple[int, ...]:
        return tuple(self.train.x.shape[1:])

    @property
    def num_classes(self) -> int:
        return len(self.class_names)

    def subset(self, n_train: int | None = None, n_test: int | None = None, seed: int = 0) -> Dataset:
        """A fixed random subset (the same for every run seed), for budget-limited profiles."""
        rng = np.random.default_rng(seed)
        train, test = self.train, self.test
        if n_train is not None and n_train < len(train):
            train = train.take(np.sort(rng.permutation(len(train))[:n_train]))
        if n_test is not None and n_test < len(test):
            test = test.take(np.sort(rng.permutation(len(test))[:n_test]))
        return dataclasses.replace(self, train=train, test=test)

    def validation_split(self, n_val: int, seed: int = 0) -> tuple[Split, Split]:
        """Carve ``n_val`` images out of the training split: (train without them, validation)."""
        if not 0 < n_val < len(self.train):
            raise DataError(f"validation split of {n_val} does not fit {len(self.train)} training images")
        order = np.random.default_rng(seed).permutation(len(self.train))
        return self.train.take(np.sort(order[n_val:])), self.train.take(np.sort(order[:n_val]))

    def provenance(self) -> dict:
        return {
            "dataset": self.name,
            "source": self.source,
            "verified_checksums": self.verified,
            "synthetic": self.synthetic,
            "n_train": len(self.train),
            "n_test": len(self.test),
            "notes": list(self.notes),
        }

    def as_tf_dataset(self, split: str, batch_size: int, preprocess: Preprocess | None = None,
                      shuffle_seed: int | None = None):
        """The split as a batched, prefetched ``tf.data.Dataset`` (TensorFlow only)."""
        tf = _require_tensorflow("tf.data pipelines")
        part = getattr(self, split)
        preprocess = preprocess or Preprocess()
        x = preprocess(part.x)
        y = np.eye(self.num_classes, dtype="float32")[part.y]
        ds = tf.data.Dataset.from_tensor_slices((x, y))
        if shuffle_seed is not None:
            ds = ds.shuffle(len(part), seed=shuffle_seed, reshuffle_each_iteration=True)
        return ds.batch(batch_size).prefetch(tf.data.AUTOTUNE)


@dataclasses.dataclass(frozen=True)
class Preprocess:
    """uint8 images to float32: ``(x / 255 - mean) / std`` (per-dataset scalars).

    MNIST in the lecture: ``x / 255`` (mean 0, std 1). CIFAR-10 in the lecture: the training set's
    global mean and std (see :meth:`standardize_from`).
    """

    mean: float = 0.0
    std: float = 1.0

    @classmethod
    def standardize_from(cls, train: Split, chunk: int = 4096) -> Preprocess:
        """The training images' global mean and std, accumulated over chunks in float64 (the whole
        of CIFAR-10 as float64 would be a 1.2 GB transient; issue #17)."""
        total = squares = 0.0
        count = 0
        for lo in range(0, len(train.x), chunk):
            x = train.x[lo:lo + chunk].astype("float64") / 255.0
            total, squares, count = total + float(x.sum()), squares + float(np.square(x).sum()), count + x.size
        mean = total / max(count, 1)
        return cls(mean=mean, std=float(np.sqrt(max(squares / max(count, 1) - mean * mean, 0.0))))

    def __call__(self, x: np.ndarray) -> np.ndarray:
        out = x.astype("float32") / np.float32(255.0)
        if self.mean != 0.0 or self.std != 1.0:
            out = (out - np.float32(self.mean)) / np.float32(self.std + 1e-7)
        return out

    def invert(self, x: np.ndarray) -> np.ndarray:
        """Back to [0, 1] floats, for pictures."""
        if self.mean != 0.0 or self.std != 1.0:
            x = x * (self.std + 1e-7) + self.mean
        return np.clip(x, 0.0, 1.0)


# --------------------------------------------------------------------------------------------
# Entry point


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path | None:
    """The explicit ``data_dir``, else ``$REPLICATION_DATA_DIR``, else None (use TFDS)."""
    where = "--data-dir"
    if data_dir is None:
        data_dir = os.environ.get(DATA_DIR_ENV) or None
        where = DATA_DIR_ENV
    if data_dir is None:
        return None
    path = Path(data_dir).expanduser()
    if not path.exists():
        raise DataError(f"{where}: {path} does not exist")
    if not path.is_dir():
        raise DataError(f"{where}: {path} is a file, not a folder of datasets")
    return path


def load(name: str, data_dir: str | os.PathLike | None = None, *, verify: bool = True) -> Dataset:
    """Load ``name``'s official train and test splits (see the module docstring for sources)."""
    if name not in DATASETS:
        raise DataError(f"unknown dataset {name!r}; known: {', '.join(sorted(DATASETS))}")
    spec = DATASETS[name]
    root = resolve_data_dir(data_dir)
    if root is not None and spec.local_format is not None:
        folder = root / name
        if not folder.is_dir():
            raise DataError(
                f"{folder}: no such folder; the data dir {root} must hold {name}/ with its "
                f"standard distribution files (see README, 'Working offline')"
            )
        if spec.local_format == "idx":
            return _load_idx_folder(spec, folder, verify)
        return _load_cifar10_folder(spec, folder, verify)
    return _load_tfds(spec, root)


# --------------------------------------------------------------------------------------------
# IDX (MNIST, Fashion-MNIST)


def _md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def _read_maybe_gz(folder: Path, stem: str) -> tuple[Path, bytes]:
    """Return (path, decompressed bytes) of ``stem.gz``, else of ``stem``."""
    gz, plain = folder / f"{stem}.gz", folder / stem
    if gz.is_file():
        try:
            return gz, gzip.decompress(gz.read_bytes())
        except (EOFError, OSError, zlib.error) as exc:
            raise DataError(f"{gz}: truncated or corrupt gzip file ({exc})") from None
    if plain.is_file():
        return plain, plain.read_bytes()
    raise DataError(f"{folder}: missing {stem}.gz (or {stem})")


def parse_idx(data: bytes, path: Path, *, ndim: int, count: int | None = None,
              shape: tuple[int, ...] | None = None) -> np.ndarray:
    """Parse an IDX file of unsigned bytes: magic 0x0000080N, N big-endian dimensions, then data."""
    if len(data) < 4:
        raise DataError(f"{path}: empty or too short for an IDX header ({len(data)} bytes)")
    magic = struct.unpack(">I", data[:4])[0]
    expected_magic = 0x800 + ndim
    if magic != expected_magic:
        raise DataError(f"{path}: wrong IDX magic number 0x{magic:08x}, expected 0x{expected_magic:08x}")
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DataError(f"{path}: truncated IDX header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    if count is not None and dims[0] != count:
        raise DataError(f"{path}: header says {dims[0]} items, expected {count}")
    if shape is not None and tuple(dims[1:]) != tuple(shape):
        raise DataError(f"{path}: item shape {tuple(dims[1:])}, expected {tuple(shape)}")
    size = int(np.prod(dims))
    if len(data) - header != size:
        raise DataError(f"{path}: {len(data) - header} data bytes, header promises {size} (truncated or padded)")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _load_idx_folder(spec: DatasetSpec, folder: Path, verify: bool) -> Dataset:
    splits, notes = {}, []
    height, width, _ = spec.image_shape
    for split, (images_stem, labels_stem, count) in MNIST_FILES.items():
        arrays = []
        for stem, ndim, shape in ((images_stem, 3, (height, width)), (labels_stem, 1, ())):
            path, data = _read_maybe_gz(folder, stem)
            if verify:
                _check_idx_checksum(spec.name, stem, path, data)
            arrays.append(parse_idx(data, path, ndim=ndim, count=count, shape=shape))
        images, labels = arrays
        if labels.size and labels.max() > 9:
            raise DataError(f"{folder / labels_stem}: label {int(labels.max())} out of range 0-9")
        splits[split] = Split(images[..., None].copy(), labels.astype("int64"))
    if not verify:
        notes.append("checksums not verified (verify=False)")
    return Dataset(spec.name, splits["train"], splits["test"], spec.class_names,
                   source=str(folder), verified=verify, notes=tuple(notes))


def _check_idx_checksum(name: str, stem: str, path: Path, data: bytes) -> None:
    """Raise unless the decompressed bytes ``data`` of ``path`` have the official file's MD5.

    The content is what is checked, never the ``.gz`` wrapper: the same data gzipped at another
    level, by another tool, or not gzipped at all is the same dataset.
    """
    expected, got = IDX_MD5[name][stem], _md5(data)
    if got != expected:
        raise DataError(f"{path}: decompressed MD5 {got} does not match the official file's "
                        f"{expected}")


# --------------------------------------------------------------------------------------------
# CIFAR-10 python batches


class ForbiddenGlobal(pickle.UnpicklingError):
    """A pickle asked for a global outside the allow-list."""


class _RestrictedUnpickler(pickle.Unpickler):
    """Admit numpy arrays and builtin containers only; refuse every other global."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
    }

    def find_class(self, module, name):
        if (module, name) not in self.ALLOWED:
            raise ForbiddenGlobal(f"forbidden global {module}.{name}")
        if name == "_reconstruct":
            # numpy 2 moved numpy.core to numpy._core; the old name is a deprecated alias.
            try:
                from numpy._core.multiarray import _reconstruct
            except ImportError:  # numpy 1
                from numpy.core.multiarray import _reconstruct
            return _reconstruct
        return getattr(np, name)


def safe_unpickle(data: bytes, path: Path):
    try:
        return _RestrictedUnpickler(io.BytesIO(data), encoding="bytes").load()
    except ForbiddenGlobal as exc:
        raise DataError(f"{path}: refused to unpickle ({exc})") from None
    except Exception as exc:  # truncated or garbled pickles raise many kinds of error
        raise DataError(f"{path}: not a readable CIFAR-10 batch ({type(exc).__name__}: {exc})") from None


def _read_cifar_batch(path: Path, verify: bool) -> Split:
    if not path.is_file():
        raise DataError(f"{path.parent}: missing {path.name}")
    data = path.read_bytes()
    if not data:
        raise DataError(f"{path}: empty file")
    if verify:
        expected, got = CIFAR10_MD5[path.name], _md5(data)
        if got != expected:
            raise DataError(f"{path}: MD5 {got} does not match the published {expected}")
    batch = safe_unpickle(data, path)
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        raise DataError(f"{path}: not a CIFAR-10 batch (no b'data' and b'labels')")
    x, y = batch[b"data"], np.asarray(batch[b"labels"])
    if not isinstance(x, np.ndarray) or x.dtype != np.uint8 or x.ndim != 2 or x.shape[1] != 3072:
        raise DataError(f"{path}: b'data' must be uint8 of shape (N, 3072), got "
                        f"{getattr(x, 'dtype', type(x))} {getattr(x, 'shape', '')}")
    if len(y) != len(x):
        raise DataError(f"{path}: {len(x)} images but {len(y)} labels")
    if y.size and (y.min() < 0 or y.max() > 9):
        raise DataError(f"{path}: labels out of range 0-9")
    # Stored as R, G, B planes of 32x32, row-major: to NHWC.
    return Split(x.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1).copy(), y.astype("int64"))


def _load_cifar10_folder(spec: DatasetSpec, folder: Path, verify: bool) -> Dataset:
    batches = folder / "cifar-10-batches-py"
    if batches.is_dir():
        return _load_cifar10_batches(spec, batches, verify, source=str(batches))
    tar_path = folder / CIFAR10_TAR
    if tar_path.is_file():
        with tempfile.TemporaryDirectory(prefix="cifar10-") as tmp:
            extract_tar(tar_path, Path(tmp))
            inner = Path(tmp) / "cifar-10-batches-py"
            if not inner.is_dir():
                raise DataError(f"{tar_path}: has no cifar-10-batches-py/ folder")
            return _load_cifar10_batches(spec, inner, verify, source=str(tar_path))
    raise DataError(f"{folder}: holds neither cifar-10-batches-py/ nor {CIFAR10_TAR}")


def _load_cifar10_batches(spec, batches: Path, verify: bool, source: str) -> Dataset:
    train = [_read_cifar_batch(batches / f"data_batch_{i}", verify) for i in range(1, 6)]
    test = _read_cifar_batch(batches / "test_batch", verify)
    train = Split(np.concatenate([s.x for s in train]), np.concatenate([s.y for s in train]))
    if len(train) != 50000 or len(test) != 10000:
        raise DataError(f"{batches}: {len(train)} train / {len(test)} test images, expected 50000 / 10000")
    notes = () if verify else ("checksums not verified (verify=False)",)
    return Dataset(spec.name, train, test, spec.class_names, source=source, verified=verify, notes=notes)


def extract_tar(tar_path: Path, dest: Path) -> None:
    """Extract with the standard library's ``data`` filter: no absolute paths, no ``..``, no links out."""
    try:
        with tarfile.open(tar_path, "r:*") as tar:
            for member in tar.getmembers():
                # The data filter would quietly strip a leading "/"; a real archive never has one.
                if member.name.startswith(("/", "\\")) or ".." in Path(member.name).parts:
                    raise DataError(f"{tar_path}: unsafe member refused ({member.name!r} is absolute "
                                    f"or climbs out of the folder)")
            tar.extractall(dest, filter="data")
    except tarfile.FilterError as exc:
        raise DataError(f"{tar_path}: unsafe member refused ({exc})") from None
    except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
        raise DataError(f"{tar_path}: truncated or corrupt tar file ({exc})") from None


# --------------------------------------------------------------------------------------------
# TensorFlow Datasets


def _require_tensorflow(what: str):
    try:
        import tensorflow as tf
    except ImportError:
        raise DataError(
            f"{what} needs TensorFlow, which is not installed (KERAS_BACKEND="
            f"{os.environ.get('KERAS_BACKEND', 'tensorflow')}); point --data-dir or {DATA_DIR_ENV} "
            f"at local dataset files instead"
        ) from None
    return tf


def _online(host: str = "storage.googleapis.com", port: int = 443, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def _load_tfds(spec: DatasetSpec, root: Path | None) -> Dataset:
    _require_tensorflow(f"loading {spec.name} through TensorFlow Datasets")
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise DataError(f"{spec.name}: tensorflow-datasets is not installed; pip install tensorflow-datasets") from None
    builder = tfds.builder(spec.name)
    prepared = Path(builder.data_dir).is_dir() and any(Path(builder.data_dir).glob("*.tfrecord*"))
    if not prepared and not _online():
        # Offline, tfds.load retries for minutes before failing; say what to do at once.
        hint = f" (the data dir {root} has no {spec.name}/)" if root else ""
        raise DataError(
            f"{spec.name}: not downloaded and no network{hint}; put its files under a folder and "
            f"pass --data-dir DIR or set {DATA_DIR_ENV}=DIR (expected layout: DIR/mnist/*-ubyte.gz, "
            f"DIR/cifar10/cifar-10-batches-py/)"
        )
    splits = {}
    for split in ("train", "test"):
        ds = tfds.load(spec.name, split=split, as_supervised=True, batch_size=-1)
        x, y = tfds.as_numpy(ds)
        splits[split] = Split(np.asarray(x, dtype=np.uint8), np.asarray(y, dtype="int64"))
    info = builder.info
    names = tuple(info.features["label"].names) if "label" in info.features else spec.class_names
    # TFDS verifies its own downloads against its registered checksums.
    return Dataset(spec.name, splits["train"], splits["test"], names, source="tfds", verified=True,
                   notes=(f"tfds {tfds.__version__}, checksums checked by TFDS",))


# --------------------------------------------------------------------------------------------
# Synthetic data: unit tests only


def synthetic(name: str = "mnist", n_train: int = 64, n_test: int = 32, seed: int = 0) -> Dataset:
    """A tiny learnable stand-in with the dataset's shapes: class k lights up block k.

    For unit tests only. Everything made from it is labelled synthetic and is never a replication.
    """
    spec = DATASETS[name]
    h, w, c = spec.image_shape
    rng = np.random.default_rng(seed)

    def make(n):
        y = rng.integers(0, 10, size=n)
        x = rng.integers(0, 60, size=(n, h, w, c)).astype("uint8")
        for i, k in enumerate(y):
            r, col = divmod(int(k), 4)
            x[i, 2 + 6 * r: 6 + 6 * r, 2 + 6 * col: 6 + 6 * col, :] = 250
        return Split(x, y.astype("int64"))

    return Dataset(name, make(n_train), make(n_test), spec.class_names, source="synthetic",
                   verified=False, synthetic=True, notes=("synthetic data for tests: not a replication",))
