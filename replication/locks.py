"""One run at a time per claim folder: a lock file that says who holds it.

Two runs writing the same ``<results>/<profile>/<dataset>/<claim>/`` would overwrite each other's
results and checkpoints (the second used to die in h5py with "unable to lock file"). A run holds
the folder for as long as it works in it::

    from replication.locks import claim_lock
    from replication.errors import LockHeld

    with claim_lock(folder, wait=args.wait, log=print):
        ...  # train, save, write result.json

``claim_lock(folder, *, wait=False, poll_s=2.0, log=print)`` creates ``folder`` if needed, then
``folder/.lock`` holding ``{"host", "pid", "since", "argv"}`` (``since``: when it got the lock, UTC,
ISO 8601), and yields the lock's path. On exit it removes the lock only if the file is still the one
it wrote. :func:`read_lock` reads a lock's holder (for a listing of running claims, say).

* Held by another run: raises :class:`~replication.errors.LockHeld`, whose one-line message names
  the folder, the holder's PID, host and start time and says that ``--wait`` waits for it. With
  ``wait=True`` it logs one line instead and polls every ``poll_s`` seconds until the lock is free.
* Held by a PID that no longer runs *on this host* (a run killed hard): taken over, with one log
  line.
* Held by another host: never taken over (its processes cannot be seen from here); the message
  says to delete the file if that run is gone.
* Damaged or unreadable: counted as held (nothing says whether its run is gone); the message
  names the file and says to delete it if no run is using the folder.
* Held under this process's own PID: refused even with ``wait`` (the lock is not re-entrant, or a
  run before this one had the same PID, as in a restarted container), saying to delete it.

Why our own lock rather than ``fcntl.flock``/``lockf``: those are POSIX-only, record no holder (so a
waiting run cannot say whom it waits for), and on NFS they depend on the lock daemon and can be
lost without the holder being told. Creating the lock by ``link(2)`` of a fully written unique file
is the NFS-safe recipe of the open(2) man page (O_EXCL paragraph), so no reader ever sees a
half-written lock. A PID the system has since given to another process keeps an abandoned lock
held; the message's PID and start time say so, and deleting the file frees it.
"""

from __future__ import annotations

import contextlib
import datetime
import json
import os
import socket
import sys
import time
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

from .errors import LockHeld, ResultError

LOCK_NAME = ".lock"


def read_lock(lock: Path) -> dict:
    """The holder recorded in ``lock``: {host, pid, since, argv}.

    Raises ``FileNotFoundError`` if there is no lock, ``ValueError`` (the reason) if it is damaged.
    """
    try:
        text = Path(lock).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise ValueError("not UTF-8 text") from None
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise ValueError(f"unreadable: {exc.strerror or exc}") from None
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"not JSON: {exc.msg} at character {exc.pos}") from None
    if not isinstance(record, dict):
        raise ValueError("not a JSON object")
    pid, host, since = record.get("pid"), record.get("host"), record.get("since")
    if not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0:
        raise ValueError(f"no valid 'pid' ({pid!r})")
    if not isinstance(host, str) or not host.strip():
        raise ValueError(f"no valid 'host' ({host!r})")
    if not isinstance(since, str):
        raise ValueError(f"no valid 'since' ({since!r})")
    return record


@contextlib.contextmanager
def claim_lock(folder: str | os.PathLike, *, wait: bool = False, poll_s: float = 2.0,
               log: Callable[[str], object] = print) -> Iterator[Path]:
    """Hold ``folder/.lock`` for the ``with`` block; see the module docstring for the rules.

    ``wait``: poll every ``poll_s`` seconds until the lock is free instead of raising ``LockHeld``.
    ``log``: receives the one-line notes (waiting, taking over a dead run's lock, lock lost).
    """
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError, PermissionError) as exc:
        raise ResultError(f"{folder}: cannot create the folder ({exc.strerror or exc})") from None
    lock = folder / LOCK_NAME
    host = socket.gethostname()
    record = {"host": host, "pid": os.getpid(), "since": None, "argv": list(sys.argv)}
    waiting_said = False
    while True:
        record["since"] = _utc_now()
        if _try_create(lock, record):
            break
        try:
            holder = read_lock(lock)
        except FileNotFoundError:
            continue  # released between our attempt and the read: try again at once
        except ValueError as exc:
            state = f"{lock}: damaged lock file ({exc}); delete it if no run is using {folder}"
            hint = ""
        else:
            pid, holder_host = holder["pid"], _one_line(holder["host"])
            who = f"PID {pid} on {holder_host} since {_one_line(holder['since'])}"
            if holder_host == host and pid == os.getpid():
                raise LockHeld(f"{folder} is locked by {who}, which is this process's PID: either "
                               f"it locked the folder already, or an earlier run with the same PID "
                               f"left the lock; delete {lock} if no run is using it")
            if holder_host == host and not _pid_running(pid):
                if _remove_if_unchanged(lock, holder, record):
                    log(f"{folder}: removed the lock of {who}, which is no longer running")
                continue
            state = f"{folder} is locked by {who}"
            hint = "; pass --wait to wait for it"
            if holder_host != host:
                hint += f", or delete {lock} if that run is gone"
        if not wait:
            raise LockHeld(state + hint)
        if not waiting_said:
            log(f"{state}; waiting for it to go (checking every {poll_s:g} s)")
            waiting_said = True
        time.sleep(poll_s)
    try:
        yield lock
    finally:
        _release(lock, record, log)


# --------------------------------------------------------------------------------------------


def _utc_now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def _one_line(text) -> str:
    """``text`` with every run of whitespace (newlines included) made one space."""
    return " ".join(str(text).split())


def _try_create(lock: Path, record: dict) -> bool:
    """Create ``lock`` holding ``record`` if no lock exists; True if we did."""
    tmp = lock.with_name(f"{lock.name}.{record['host']}.{record['pid']}.{uuid.uuid4().hex[:8]}.tmp")
    data = (json.dumps(record, indent=1) + "\n").encode("utf-8")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except OSError as exc:
        raise ResultError(f"{lock}: cannot create the lock file ({exc.strerror or exc})") from None
    try:
        try:
            os.write(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
        try:
            os.link(tmp, lock)
            return True
        except FileExistsError:
            # On NFS a lost reply makes a link that succeeded report EEXIST on retry; the link
            # count of our unique file tells the truth (open(2), O_EXCL).
            return os.stat(tmp).st_nlink == 2
        except OSError as exc:
            raise ResultError(f"{lock}: cannot create the lock file ({exc.strerror or exc}; "
                              f"it needs a filesystem with hard links)") from None
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def _pid_running(pid: int) -> bool:
    """Whether ``pid`` is a running process on this host (True when we cannot tell)."""
    if os.name == "nt":
        return True  # os.kill(pid, 0) would terminate it on Windows: never take over there
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # PermissionError: it runs under another user
        return True
    return True


def _remove_if_unchanged(lock: Path, seen: dict, ours: dict) -> bool:
    """Remove the dead holder's ``lock`` if it still holds ``seen``; False if someone beat us.

    Another run may take the same dead lock over at the same moment: each renames the lock to a
    private name first (only one rename can move a given file), and whoever moved a lock that is
    no longer the dead one puts it straight back.
    """
    private = lock.with_name(f"{lock.name}.stale.{ours['pid']}.{uuid.uuid4().hex[:8]}")
    try:
        os.rename(lock, private)
    except FileNotFoundError:
        return False
    except OSError as exc:
        raise ResultError(f"{lock}: cannot take over the lock of a run that is no longer running "
                          f"({exc.strerror or exc}); delete it by hand") from None
    try:
        try:
            moved = read_lock(private)
        except ValueError:
            moved = None
        if moved == seen:
            return True
        with contextlib.suppress(FileExistsError):
            os.link(private, lock)  # a live run's lock, taken by mistake: restore it
        return False
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(private)


def _release(lock: Path, record: dict, log: Callable[[str], object]) -> None:
    try:
        holder = read_lock(lock)
    except FileNotFoundError:
        log(f"{lock}: the lock was already gone when this run ended (deleted by hand?)")
        return
    except ValueError as exc:
        log(f"{lock}: left alone: it is no longer the lock this run wrote ({exc})")
        return
    if holder != record:
        log(f"{lock}: left alone: it is now held by PID {holder['pid']} on "
            f"{_one_line(holder['host'])}, not by this run")
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(lock)
