"""The data layer on real file formats generated in tmp dirs: good, corrupt, truncated, crafted."""

from __future__ import annotations

import gzip
import hashlib
import io
import pickle
import tarfile

import numpy as np
import pytest
from conftest import cifar_batch_bytes, idx_bytes, real_data_dir, write_idx_folder

from replication import data
from replication.errors import DataError


@pytest.fixture(scope="module")
def mnist_dir(tmp_path_factory):
    return write_idx_folder(tmp_path_factory.mktemp("d") / "mnist")


def test_idx_folder_loads_shapes_and_labels(mnist_dir):
    ds = data.load("mnist", mnist_dir.parent, verify=False)
    assert ds.train.x.shape == (60000, 28, 28, 1) and ds.train.x.dtype == np.uint8
    assert ds.test.x.shape == (10000, 28, 28, 1)
    assert ds.train.y.min() >= 0 and ds.train.y.max() <= 9
    assert not ds.verified and not ds.synthetic


def test_generated_mnist_fails_the_published_md5(mnist_dir):
    with pytest.raises(DataError, match=r"train-images-idx3-ubyte.gz: decompressed MD5 .* official file"):
        data.load("mnist", mnist_dir.parent)


# -- Fashion-MNIST is verified by content, whatever gzip wrapper it comes in -------------------


@pytest.fixture
def fashion_content(tmp_path, monkeypatch):
    """Small IDX files under Fashion-MNIST's names, with the checksum table set to their content.

    Returns {file name: decompressed bytes}; the split sizes are patched down to 64 / 32 images.
    """
    monkeypatch.setattr(data, "MNIST_FILES", {
        "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte", 64),
        "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 32),
    })
    plain = write_idx_folder(tmp_path / "content", n_train=64, n_test=32, gz=False, seed=3)
    content = {f.name: f.read_bytes() for f in sorted(plain.iterdir())}
    monkeypatch.setitem(data.IDX_MD5, "fashion_mnist",
                        {name: hashlib.md5(raw).hexdigest() for name, raw in content.items()})
    return content


def _write_fashion(root, content, level):
    """Write ``content`` as ``root/fashion_mnist/``: gzipped at ``level``, or plain if None."""
    folder = root / "fashion_mnist"
    folder.mkdir(parents=True)
    for name, raw in content.items():
        if level is None:
            (folder / name).write_bytes(raw)
        else:
            (folder / f"{name}.gz").write_bytes(gzip.compress(raw, compresslevel=level))
    return folder


def test_fashion_mnist_verifies_its_content_gzipped_at_any_level_or_not(tmp_path, fashion_content):
    loaded = {}
    for level in (1, 9, None):
        folder = _write_fashion(tmp_path / f"level-{level}", fashion_content, level)
        ds = data.load("fashion_mnist", folder.parent)
        assert ds.verified and ds.notes == (), level
        assert ds.class_names[0] == "T-shirt/top" and ds.class_names[9] == "Ankle boot"
        loaded[level] = ds
    # The two wrappers differ byte for byte, so a check of the .gz file would refuse one of them.
    gz1 = (tmp_path / "level-1" / "fashion_mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    gz9 = (tmp_path / "level-9" / "fashion_mnist" / "train-images-idx3-ubyte.gz").read_bytes()
    assert gz1 != gz9
    for level in (9, None):
        assert np.array_equal(loaded[level].train.x, loaded[1].train.x)
        assert np.array_equal(loaded[level].test.y, loaded[1].test.y)


@pytest.mark.parametrize("level", [6, None])
def test_fashion_mnist_one_changed_byte_fails_naming_the_file(tmp_path, fashion_content, level):
    changed = dict(fashion_content)
    raw = bytearray(changed["t10k-images-idx3-ubyte"])
    raw[-1] ^= 0x01  # a pixel: the header still parses, only the checksum can tell
    changed["t10k-images-idx3-ubyte"] = bytes(raw)
    folder = _write_fashion(tmp_path, changed, level)
    name = "t10k-images-idx3-ubyte" + (".gz" if level is not None else "")
    with pytest.raises(DataError) as info:
        data.load("fashion_mnist", folder.parent)
    message = str(info.value)
    assert message.startswith(f"{folder / name}: decompressed MD5 ")
    assert "does not match the official file's" in message and "\n" not in message
    ds = data.load("fashion_mnist", folder.parent, verify=False)  # the bytes themselves are fine
    assert not ds.verified and len(ds.test) == 32


@pytest.mark.slow  # real data
@pytest.mark.skipif(real_data_dir() is None, reason="real datasets not present")
def test_real_mnist_and_cifar10_verify():
    root = real_data_dir()
    mnist = data.load("mnist", root)
    assert mnist.verified and len(mnist.train) == 60000 and len(mnist.test) == 10000
    assert np.bincount(mnist.test.y).tolist()[:3] == [980, 1135, 1032]
    cifar = data.load("cifar10", root)
    assert cifar.verified and cifar.train.x.shape == (50000, 32, 32, 3)
    assert cifar.train.y[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    mean = cifar.train.x.reshape(-1, 3).mean(0) / 255
    assert np.allclose(mean, [0.4914, 0.4822, 0.4465], atol=1e-3)


# -- bad IDX files ----------------------------------------------------------------------------


def _replace(folder, stem, raw, gz=True):
    (folder / f"{stem}.gz").unlink(missing_ok=True)
    (folder / stem).unlink(missing_ok=True)
    if gz:
        (folder / f"{stem}.gz").write_bytes(gzip.compress(raw))
    else:
        (folder / stem).write_bytes(raw)


@pytest.fixture
def bad_dir(tmp_path, mnist_dir):
    folder = tmp_path / "mnist"
    folder.mkdir()
    for f in mnist_dir.iterdir():
        (folder / f.name).write_bytes(f.read_bytes())
    return folder


def test_truncated_gz(bad_dir):
    path = bad_dir / "t10k-labels-idx1-ubyte.gz"
    path.write_bytes(path.read_bytes()[:-20])
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte.gz: truncated or corrupt gzip"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_wrong_magic(bad_dir):
    raw = bytearray(idx_bytes(np.zeros(10000, np.uint8)))
    raw[3] = 0x03
    _replace(bad_dir, "t10k-labels-idx1-ubyte", bytes(raw))
    with pytest.raises(DataError, match=r"t10k-labels.*wrong IDX magic number 0x00000803"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_wrong_count(bad_dir):
    _replace(bad_dir, "t10k-labels-idx1-ubyte", idx_bytes(np.zeros(9999, np.uint8)))
    with pytest.raises(DataError, match=r"header says 9999 items, expected 10000"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_labels_out_of_range(bad_dir):
    labels = np.zeros(10000, np.uint8)
    labels[5] = 11
    _replace(bad_dir, "t10k-labels-idx1-ubyte", idx_bytes(labels))
    with pytest.raises(DataError, match=r"label 11 out of range 0-9"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_empty_file(bad_dir):
    _replace(bad_dir, "t10k-labels-idx1-ubyte", b"", gz=False)
    with pytest.raises(DataError, match=r"t10k-labels-idx1-ubyte: empty or too short"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_truncated_data_section(bad_dir):
    raw = idx_bytes(np.zeros(10000, np.uint8))[:-1]
    _replace(bad_dir, "t10k-labels-idx1-ubyte", raw)
    with pytest.raises(DataError, match=r"9999 data bytes, header promises 10000"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_missing_file(bad_dir):
    (bad_dir / "train-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DataError, match=r"missing train-labels-idx1-ubyte.gz"):
        data.load("mnist", bad_dir.parent, verify=False)


def test_unknown_dataset_and_bad_data_dirs(tmp_path):
    with pytest.raises(DataError, match=r"unknown dataset 'nope'"):
        data.load("nope", tmp_path)
    a_file = tmp_path / "file"
    a_file.write_text("x")
    with pytest.raises(DataError, match=r"is a file, not a folder"):
        data.load("mnist", a_file)
    with pytest.raises(DataError, match=r"does not exist"):
        data.load("mnist", tmp_path / "missing")
    with pytest.raises(DataError, match=r"mnist: no such folder"):
        data.load("mnist", tmp_path)


# -- CIFAR-10 pickles and tars ----------------------------------------------------------------


class Payload:
    """Unpickling this would create a file: proof that a crafted pickle ran."""

    marker = None

    def __reduce__(self):
        return (open, (str(Payload.marker), "w"))


def test_crafted_pickle_is_refused_and_never_runs(tmp_path):
    Payload.marker = tmp_path / "PWNED"
    path = tmp_path / "data_batch_1"
    path.write_bytes(pickle.dumps({b"data": Payload(), b"labels": [1]}, protocol=3))
    with pytest.raises(DataError, match=r"data_batch_1: refused to unpickle \(forbidden global "):
        data._read_cifar_batch(path, verify=False)
    assert not Payload.marker.exists()


def test_cifar_batch_reads_nhwc_and_checks_labels(tmp_path):
    path = tmp_path / "data_batch_1"
    path.write_bytes(cifar_batch_bytes(n=4, labels=[0, 1, 2, 3]))
    split = data._read_cifar_batch(path, verify=False)
    assert split.x.shape == (4, 32, 32, 3) and split.y.tolist() == [0, 1, 2, 3]
    path.write_bytes(cifar_batch_bytes(n=2, labels=[0, 10]))
    with pytest.raises(DataError, match=r"labels out of range"):
        data._read_cifar_batch(path, verify=False)


def test_cifar_wrong_md5_and_truncated(tmp_path):
    path = tmp_path / "test_batch"
    raw = cifar_batch_bytes(n=4)
    path.write_bytes(raw)
    with pytest.raises(DataError, match=r"test_batch: MD5 [0-9a-f]{32} does not match the published"):
        data._read_cifar_batch(path, verify=True)
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(DataError, match=r"test_batch: not a readable CIFAR-10 batch"):
        data._read_cifar_batch(path, verify=False)


@pytest.mark.parametrize("member", ["../evil.txt", "/tmp/evil-abs.txt"])
def test_tar_path_traversal_is_refused(tmp_path, member):
    tar_path = tmp_path / "cifar10" / data.CIFAR10_TAR
    tar_path.parent.mkdir()
    with tarfile.open(tar_path, "w:gz") as tar:
        payload = b"owned"
        info = tarfile.TarInfo(member)
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    with pytest.raises(DataError, match=r"cifar-10-python.tar.gz: unsafe member refused"):
        data.load("cifar10", tmp_path)
    assert not (tmp_path / "evil.txt").exists()


def test_synthetic_is_labelled():
    ds = data.synthetic("cifar10", 8, 4)
    assert ds.synthetic and ds.source == "synthetic" and ds.train.x.shape == (8, 32, 32, 3)
    assert ds.provenance()["synthetic"] is True


def test_preprocess_and_subsets():
    ds = data.synthetic("mnist", 100, 50)
    x = data.Preprocess()(ds.train.x)
    assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
    std = data.Preprocess.standardize_from(ds.train)
    z = std(ds.train.x)
    assert abs(float(z.mean())) < 1e-3 and abs(float(z.std()) - 1) < 1e-3
    sub = ds.subset(10, 5)
    assert len(sub.train) == 10 and len(sub.test) == 5
    assert np.array_equal(ds.subset(10, 5).train.y, sub.train.y)  # the same fixed subset every time
    train, val = ds.validation_split(20)
    assert len(train) == 80 and len(val) == 20
