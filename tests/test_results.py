"""Atomic writes and the results store."""

from __future__ import annotations

import json
import os
import stat

import numpy as np
import pytest

from replication import results
from replication.errors import ResultError


def test_atomic_write_replaces_whole_file_and_leaves_no_temp(tmp_path):
    path = tmp_path / "a" / "result.json"
    results.atomic_write_json(path, {"x": 1, "arr": np.arange(3), "nan": float("nan")})
    results.atomic_write_json(path, {"x": 2})
    assert json.loads(path.read_text()) == {"x": 2}
    assert [p.name for p in path.parent.iterdir()] == ["result.json"]


def test_a_failure_mid_write_keeps_the_old_file(tmp_path, monkeypatch):
    path = tmp_path / "result.json"
    results.atomic_write_json(path, {"old": True})

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(OSError):
        results.atomic_write_json(path, {"old": False})
    assert json.loads(path.read_text()) == {"old": True}
    assert [p.name for p in tmp_path.iterdir()] == ["result.json"]


def test_npz_round_trip(tmp_path):
    path = tmp_path / "arrays.npz"
    results.atomic_save_npz(path, a=np.arange(4))
    with np.load(path) as f:
        assert f["a"].tolist() == [0, 1, 2, 3]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["arrays.npz"]


@pytest.fixture(params=[0o022, 0o002], ids=["umask022", "umask002"])
def umask(request):
    old = os.umask(request.param)
    yield request.param
    os.umask(old)


def _mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_atomic_files_get_the_mode_of_a_plain_open(tmp_path, umask):
    plain = tmp_path / "plain.txt"
    plain.write_text("x")
    assert _mode(plain) == 0o666 & ~umask  # what a plain open() gives a new file
    results.atomic_write_text(tmp_path / "result.json", "{}")
    results.atomic_save_npz(tmp_path / "arrays.npz", a=np.arange(3))
    assert _mode(tmp_path / "result.json") == _mode(plain)
    assert _mode(tmp_path / "arrays.npz") == _mode(plain)
    assert os.umask(umask) == umask  # reading the umask left it as it was


def test_atomic_model_save_gets_the_mode_of_a_plain_open(tmp_path, umask):
    import keras

    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    results.atomic_save_model(model, tmp_path / "model.keras")
    assert _mode(tmp_path / "model.keras") == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]


def test_umask_is_read_and_restored_without_proc(umask, monkeypatch):
    def no_proc(self, *a, **k):
        raise OSError("no /proc here")

    monkeypatch.setattr(results.Path, "read_text", no_proc)
    assert results.umask() == umask
    assert os.umask(umask) == umask


def test_store_keys_by_profile_dataset_claim(tmp_path):
    store = results.Store(tmp_path)
    for profile, dataset in (("smoke", "mnist"), ("quick", "mnist"), ("smoke", "fashion_mnist")):
        store.save({"claim": "c", "profile": profile, "dataset": dataset, "v": profile + dataset},
                   arrays={"x": np.zeros(2)})
    assert store.load("smoke", "mnist", "c")["v"] == "smokemnist"
    assert store.load("quick", "mnist", "c")["v"] == "quickmnist"
    assert store.load("smoke", "fashion_mnist", "c")["v"] == "smokefashion_mnist"
    assert store.load("paper", "mnist", "c") is None
    assert store.load_arrays("smoke", "mnist", "c")["x"].shape == (2,)
    assert len(list(store.all_results())) == 3


def test_damaged_result_json_gets_a_clear_error(tmp_path):
    store = results.Store(tmp_path)
    path = store.save({"claim": "c", "profile": "smoke", "dataset": "mnist"})
    path.write_text('{"claim": "c", "prof')
    with pytest.raises(ResultError, match=r"result.json: damaged JSON .* --force"):
        store.load("smoke", "mnist", "c")


def test_results_dir_whose_parent_is_a_file(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ResultError, match=r"--results-dir: cannot create"):
        results.ensure_writable_dir(blocker / "results")
    with pytest.raises(ResultError, match=r"is a file, not a folder"):
        results.Store(blocker)


def test_fingerprint_is_stable_and_sensitive():
    a = results.fingerprint({"epochs": 3, "seeds": (0, 1)})
    assert a == results.fingerprint({"seeds": [0, 1], "epochs": 3})
    assert a != results.fingerprint({"epochs": 4, "seeds": (0, 1)})


def test_provenance_has_versions_commit_hardware():
    prov = results.provenance()
    assert prov["versions"]["keras"] and prov["versions"]["python"]
    assert "commit" in prov["git"] and prov["hardware"]["cpu_count"] >= 1
