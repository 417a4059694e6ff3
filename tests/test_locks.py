"""The claim-folder lock, between real processes: refuse, wait, take over a dead run's, never
another host's, and report a damaged lock file."""

from __future__ import annotations

import datetime
import json
import os
import queue
import socket
import subprocess
import sys
import threading
import time

import pytest
from conftest import REPO

from replication import locks
from replication.errors import LockHeld

# One run: takes the lock on argv[1] (waiting if argv[3] == "wait"), says "locked", and holds it
# until the file argv[2] exists. A refused lock prints "error: <message>" and exits 1, as the CLI does.
HOLDER = """
import sys, time
from pathlib import Path
from replication.errors import LockHeld
from replication.locks import claim_lock

folder, release, wait = Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3] == "wait"
try:
    with claim_lock(folder, wait=wait, poll_s=0.05, log=lambda line: print(line, flush=True)):
        print("locked", flush=True)
        while not release.exists():
            time.sleep(0.02)
except LockHeld as exc:
    print(f"error: {exc}", file=sys.stderr, flush=True)
    sys.exit(1)
print("released", flush=True)
"""


class Run:
    """A holder process whose stdout lines can be awaited."""

    def __init__(self, folder, release, wait=False):
        env = {**os.environ, "PYTHONPATH": str(REPO)}
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-c", HOLDER, str(folder), str(release), "wait" if wait else "now"],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.lines: list[str] = []
        self._queue: queue.Queue = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.proc.stdout:
            self._queue.put(line.rstrip("\n"))

    def expect(self, start: str, timeout: float = 60.0) -> str:
        """The first new stdout line starting with ``start``; fails after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                pytest.fail(f"no line starting {start!r} after {timeout} s; got {self.lines}")
            self.lines.append(line)
            if line.startswith(start):
                return line

    def finish(self, timeout: float = 60.0) -> tuple[int, str]:
        """Wait for the exit; (exit status, stderr). Stdout lines not yet awaited join ``lines``."""
        rc = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=timeout)
        while not self._queue.empty():
            self.lines.append(self._queue.get())
        stderr = self.proc.stderr.read()
        self.proc.stdout.close()
        self.proc.stderr.close()
        return rc, stderr


@pytest.fixture
def runs():
    """Every Run a test starts; any still alive at the end is killed and reaped."""
    started: list[Run] = []
    yield lambda *a, **k: started.append(Run(*a, **k)) or started[-1]
    for run in started:
        if run.proc.poll() is None:
            run.proc.kill()
        run.proc.wait(timeout=30)
        for stream in (run.proc.stdout, run.proc.stderr):
            if not stream.closed:
                stream.close()


def _lock_record(host, pid):
    return {"host": host, "pid": pid, "since": "2024-05-01T10:00:00+00:00", "argv": ["replication"]}


def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()  # reaped: no zombie keeps the PID alive
    return proc.pid


def test_second_process_gets_a_one_line_error_and_a_nonzero_exit(tmp_path, runs):
    folder = tmp_path / "smoke" / "mnist" / "mnist-mlp"
    first = runs(folder, tmp_path / "release-1")
    first.expect("locked")
    record = json.loads((folder / ".lock").read_text())
    assert record["pid"] == first.proc.pid and record["host"] == socket.gethostname()
    assert datetime.datetime.fromisoformat(record["since"]).utcoffset() == datetime.timedelta(0)
    assert record["argv"][0] == "-c"

    second = runs(folder, tmp_path / "release-2")
    rc, stderr = second.finish()
    assert rc == 1 and "Traceback" not in stderr
    assert stderr.count("\n") == 1
    assert stderr.startswith(f"error: {folder} is locked by PID {first.proc.pid} on "
                             f"{socket.gethostname()} since {record['since']}")
    assert "pass --wait to wait for it" in stderr
    assert second.lines == [] and json.loads((folder / ".lock").read_text()) == record

    (tmp_path / "release-1").touch()
    first.expect("released")
    assert first.finish()[0] == 0
    assert not (folder / ".lock").exists()
    assert sorted(p.name for p in folder.iterdir()) == []  # no temporary files left behind


def test_a_waiting_process_gets_the_lock_once_the_first_releases(tmp_path, runs):
    folder = tmp_path / "claim"
    first = runs(folder, tmp_path / "release-1")
    first.expect("locked")
    second = runs(folder, tmp_path / "release-2", wait=True)
    waiting = second.expect(f"{folder} is locked by PID {first.proc.pid} on ")
    assert "waiting" in waiting
    time.sleep(0.5)  # ten polls: still waiting, still the first's lock
    assert second.proc.poll() is None
    assert json.loads((folder / ".lock").read_text())["pid"] == first.proc.pid

    (tmp_path / "release-1").touch()
    assert first.finish()[0] == 0
    second.expect("locked")
    assert second.lines == [waiting, "locked"]  # the wait was said once
    assert json.loads((folder / ".lock").read_text())["pid"] == second.proc.pid
    (tmp_path / "release-2").touch()
    second.expect("released")
    assert second.finish()[0] == 0
    assert not (folder / ".lock").exists()


def test_the_lock_of_a_killed_run_on_this_host_is_taken_over(tmp_path, runs):
    folder = tmp_path / "claim"
    killed = runs(folder, tmp_path / "never")
    killed.expect("locked")
    killed.proc.kill()
    killed.finish()  # reaped: the PID is dead, its lock stays behind
    left = json.loads((folder / ".lock").read_text())
    assert left["pid"] == killed.proc.pid

    said = []
    with locks.claim_lock(folder, log=said.append) as lock:
        assert locks.read_lock(lock)["pid"] == os.getpid()
    assert said == [f"{folder}: removed the lock of PID {killed.proc.pid} on {socket.gethostname()} "
                    f"since {left['since']}, which is no longer running"]
    assert not lock.exists()


def test_a_lock_of_another_host_is_never_taken_over(tmp_path, runs):
    folder = tmp_path / "claim"
    folder.mkdir()
    text = json.dumps(_lock_record("gpu-node-7.example", _dead_pid()))
    (folder / ".lock").write_text(text)
    with pytest.raises(LockHeld) as info:
        with locks.claim_lock(folder, log=pytest.fail):
            pytest.fail("took another host's lock")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{folder} is locked by PID ") and " on gpu-node-7.example since " in message
    assert "pass --wait" in message and f"delete {folder / '.lock'} if that run is gone" in message

    # Waiting does not take it over either, however long it polls.
    waiter = runs(folder, tmp_path / "release", wait=True)
    waiter.expect(f"{folder} is locked by PID ")
    time.sleep(0.5)
    assert waiter.proc.poll() is None and (folder / ".lock").read_text() == text


@pytest.mark.parametrize("content, reason", [
    (b'{"host": "a", "pi', "not JSON"),
    (b"", "not JSON"),
    (b'["host", "pid"]', "not a JSON object"),
    (b'{"host": "a", "since": "2024"}', "no valid 'pid' (None)"),
    (b"\xff\xfe\x00garbage", "not UTF-8 text"),
], ids=["truncated", "empty", "list", "no-pid", "binary"])
def test_a_damaged_lock_counts_as_held_and_names_the_file(tmp_path, content, reason):
    folder = tmp_path / "claim"
    folder.mkdir()
    lock = folder / ".lock"
    lock.write_bytes(content)
    with pytest.raises(LockHeld) as info:
        with locks.claim_lock(folder, log=pytest.fail):
            pytest.fail("took a damaged lock")
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{lock}: damaged lock file ({reason}")
    assert message.endswith(f"delete it if no run is using {folder}")
    assert lock.read_bytes() == content


def test_a_damaged_lock_reaches_a_second_process_as_one_line(tmp_path, runs):
    folder = tmp_path / "claim"
    folder.mkdir()
    (folder / ".lock").write_text("{not json")
    rc, stderr = runs(folder, tmp_path / "release").finish()
    assert rc == 1 and stderr.startswith(f"error: {folder / '.lock'}: damaged lock file (not JSON")
    assert stderr.count("\n") == 1


def test_release_leaves_a_lock_that_is_no_longer_ours(tmp_path):
    folder = tmp_path / "claim"
    said = []
    replaced = json.dumps(_lock_record(socket.gethostname(), 1))
    with locks.claim_lock(folder, log=said.append) as lock:
        lock.unlink()  # deleted by hand, and another run took the folder
        lock.write_text(replaced)
    assert lock.read_text() == replaced
    assert said == [f"{lock}: left alone: it is now held by PID 1 on {socket.gethostname()}, "
                    f"not by this run"]


def test_the_lock_is_not_reentrant(tmp_path):
    with locks.claim_lock(tmp_path, log=pytest.fail) as lock:
        for wait in (False, True):  # waiting for ourselves would never end: refused at once
            with pytest.raises(LockHeld, match=r"which is this process's PID"):
                with locks.claim_lock(tmp_path, wait=wait, log=pytest.fail):
                    pass
        assert locks.read_lock(lock)["pid"] == os.getpid()
    assert not lock.exists()
