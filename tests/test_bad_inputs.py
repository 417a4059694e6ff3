"""The bad-input corpus: each gets one clear message naming the file or argument, a non-zero exit,
no traceback, and leaves results/ unchanged. Runs the real command line."""

from __future__ import annotations

import gzip
import io
import pickle
import shutil
import signal
import subprocess
import sys
import tarfile
import time

import numpy as np
import pytest
from conftest import REPO, cifar_batch_bytes, idx_bytes, run_cli, tree_snapshot


def _copy_mnist(src, dst):
    (dst / "mnist").mkdir(parents=True)
    for f in (src / "mnist").iterdir():
        shutil.copy(f, dst / "mnist" / f.name)
    return dst / "mnist"


def _gz(path, raw):
    path.write_bytes(gzip.compress(raw, compresslevel=1))


def case_truncated_gz(d, fake):
    m = _copy_mnist(fake, d)
    f = m / "t10k-images-idx3-ubyte.gz"
    f.write_bytes(f.read_bytes()[:500])
    return ["--data-dir", d], "t10k-images-idx3-ubyte.gz: truncated or corrupt gzip"


def case_wrong_magic(d, fake):
    m = _copy_mnist(fake, d)
    raw = bytearray(idx_bytes(np.zeros(10000, np.uint8)))
    raw[3] = 9
    _gz(m / "t10k-labels-idx1-ubyte.gz", bytes(raw))
    return ["--data-dir", d], "t10k-labels-idx1-ubyte.gz: wrong IDX magic number"


def case_wrong_count(d, fake):
    m = _copy_mnist(fake, d)
    _gz(m / "t10k-labels-idx1-ubyte.gz", idx_bytes(np.zeros(10001, np.uint8)))
    return ["--data-dir", d], "header says 10001 items, expected 10000"


def case_labels_out_of_range(d, fake):
    m = _copy_mnist(fake, d)
    labels = np.full(10000, 12, np.uint8)
    _gz(m / "t10k-labels-idx1-ubyte.gz", idx_bytes(labels))
    return ["--data-dir", d], "label 12 out of range 0-9"


def case_empty_file(d, fake):
    m = _copy_mnist(fake, d)
    (m / "t10k-labels-idx1-ubyte.gz").unlink()
    (m / "t10k-labels-idx1-ubyte").write_bytes(b"")
    return ["--data-dir", d], "t10k-labels-idx1-ubyte: empty or too short"


def case_missing_file(d, fake):
    m = _copy_mnist(fake, d)
    (m / "train-images-idx3-ubyte.gz").unlink()
    return ["--data-dir", d], "missing train-images-idx3-ubyte.gz"


def case_wrong_md5(d, fake):
    _copy_mnist(fake, d)
    return ["--data-dir", d, "--verify"], "decompressed MD5"


def case_data_dir_is_a_file(d, fake):
    f = d / "datafile"
    f.write_text("x")
    return ["--data-dir", f], "is a file, not a folder of datasets"


def case_non_numeric_seeds(d, fake):
    return ["--seeds", "three"], "--seeds: 'three' is not a count"


def case_negative_seeds(d, fake):
    return ["--seeds", "0,-1"], "--seeds: seeds must be non-negative"


def case_unknown_claim(d, fake):
    return ["--claim", "mnist-resnet"], "unknown claim 'mnist-resnet'"


def case_unknown_dataset(d, fake):
    return ["--dataset", "imagenet"], "--dataset: unknown dataset 'imagenet'"


def case_results_dir_under_a_file(d, fake):
    f = d / "blocker"
    f.write_text("x")
    return ["--results-dir", f / "results"], "--results-dir: cannot create"


def case_oracle_without_a_port(d, fake):
    return ["--claim", "depth-width", "--role", "worker", "--tuner-id", "w1", "--oracle", "10.0.0.1"], \
        "--oracle: '10.0.0.1' is not HOST:PORT"


def case_role_without_an_oracle(d, fake):
    return ["--claim", "depth-width", "--role", "chief"], "--role needs --oracle HOST:PORT"


def case_damaged_result_json(d, fake):
    return ["--damage-result"], "result.json: damaged JSON"


CASES = {name[5:]: fn for name, fn in globals().items() if name.startswith("case_")}


@pytest.fixture(scope="module")
def prepared_results(tmp_path_factory, fake_data_dir):
    """A results dir holding one finished smoke result, to prove nothing in it changes."""
    root = tmp_path_factory.mktemp("kept")
    proc = run_cli("run", "mnist-mlp", "--profile", "smoke", "--quiet", "--data-dir", fake_data_dir,
                   "--results-dir", root, env_extra={"REPLICATION_NO_VERIFY": "1"})
    assert proc.returncode == 0, proc.stderr[-2000:]
    return root


@pytest.mark.slow  # 16 command-line subprocesses, each importing TensorFlow
@pytest.mark.parametrize("case", sorted(CASES))
def test_bad_input(case, tmp_path, fake_data_dir, prepared_results):
    results_dir = tmp_path / "results"
    shutil.copytree(prepared_results, results_dir)
    extra, needle = CASES[case](tmp_path, fake_data_dir)
    env = {"REPLICATION_NO_VERIFY": "1"}
    claim = "mnist-mlp"
    force = ["--force"]
    args = []
    it = iter(extra)
    for a in it:
        if a == "--verify":
            env = {}
        elif a == "--claim":
            claim = next(it)
        elif a == "--damage-result":
            path = results_dir / "smoke" / "mnist" / "mnist-mlp" / "result.json"
            path.write_text(path.read_text()[:100])
            args += ["--data-dir", fake_data_dir]
            force = []  # --force is the documented way past a damaged result
        else:
            args.append(str(a))
    if "--results-dir" not in args:
        args += ["--results-dir", str(results_dir)]
    if "--data-dir" not in args:
        args += ["--data-dir", str(fake_data_dir)]
    before = tree_snapshot(results_dir)
    # --force: the finished result must not short-circuit reading the data.
    proc = run_cli("run", claim, "--profile", "smoke", "--quiet", *force, *args, env_extra=env)
    assert proc.returncode in (1, 2), proc.stdout[-1000:] + proc.stderr[-2000:]
    assert "Traceback" not in proc.stderr
    assert needle in proc.stderr
    messages = [ln for ln in proc.stderr.splitlines() if ln.startswith(("error:", "python -m replication"))]
    assert len([m for m in messages if needle in m or m.startswith("error:")]) == 1
    assert tree_snapshot(results_dir) == before, "a failed command changed results/"


def test_crafted_cifar_pickle_never_runs_through_the_cli(tmp_path):
    marker = tmp_path / "PAYLOAD_RAN"
    batches = tmp_path / "data" / "cifar10" / "cifar-10-batches-py"
    batches.mkdir(parents=True)
    evil = (b"\x80\x02cposix\nsystem\nq\x00X" + len(f"touch {marker}").to_bytes(4, "little")
            + f"touch {marker}".encode() + b"q\x01\x85q\x02Rq\x03.")
    (batches / "data_batch_1").write_bytes(evil)
    code = ("import sys; from replication import data\n"
            "from replication.errors import DataError\n"
            f"try:\n    data.load('cifar10', {str(tmp_path / 'data')!r}, verify=False)\n"
            "except DataError as e:\n    print('ERR', e); sys.exit(1)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO)
    assert proc.returncode == 1 and "forbidden global posix.system" in proc.stdout
    assert not marker.exists(), "the pickle's payload ran"


def test_tar_with_traversal_through_load(tmp_path):
    folder = tmp_path / "cifar10"
    folder.mkdir()
    with tarfile.open(folder / "cifar-10-python.tar.gz", "w:gz") as tar:
        raw = cifar_batch_bytes(2)
        info = tarfile.TarInfo("cifar-10-batches-py/../../escaped")
        info.size = len(raw)
        tar.addfile(info, io.BytesIO(raw))
    from replication import data
    from replication.errors import DataError

    with pytest.raises(DataError, match="unsafe member refused"):
        data.load("cifar10", tmp_path, verify=False)
    assert not (tmp_path.parent / "escaped").exists()
    assert pickle  # the module is used by the corpus helpers


@pytest.mark.slow  # a real all run interrupted
def test_ctrl_c_during_all_exits_cleanly_and_says_how_to_resume(tmp_path, fake_data_dir):
    import os

    env = {**os.environ, "REPLICATION_NO_VERIFY": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "replication", "all", "--profile", "smoke", "--seeds", "0,1,2,3,4,5",
         "--data-dir", str(fake_data_dir), "--results-dir", str(tmp_path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=env)
    deadline = time.time() + 300
    while time.time() < deadline and not list(tmp_path.rglob("history.csv")):
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err[-2000:]
    assert "interrupted" in err and "run the same command again" in err
    assert "Traceback" not in err
    for path in tmp_path.rglob("*.json"):
        import json

        json.loads(path.read_text())  # nothing half-written


def test_ctrl_c_swallowed_by_library_code_still_stops_training():
    """The CI failure this guards against: a SIGINT whose KeyboardInterrupt was swallowed (in a
    finaliser or TensorFlow callback) let training carry on. The recorded request stops the next
    batch."""
    import os

    import keras
    import numpy as np

    from replication import interrupts
    from replication.epochs import StopOnInterrupt

    seen = []

    class SwallowSigint(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            seen.append(batch)
            if batch == 1:
                try:
                    os.kill(os.getpid(), signal.SIGINT)
                    time.sleep(0.5)
                except KeyboardInterrupt:
                    pass  # what a finaliser does with it

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    model.compile(optimizer="sgd", loss="mse")
    x, y = np.zeros((64, 4), "float32"), np.zeros((64, 2), "float32")
    interrupts.install()
    try:
        with pytest.raises(KeyboardInterrupt):
            model.fit(x, y, batch_size=4, epochs=3, verbose=0,
                      callbacks=[SwallowSigint(), StopOnInterrupt()])
        assert interrupts.requested()
        assert seen == [0, 1]  # stopped at the batch the signal arrived in, not 48 batches later
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        interrupts._requested.clear()
