"""The results store: atomic files keyed by profile, dataset and claim, with their provenance.

Layout: ``<results>/<profile>/<dataset>/<claim>/`` holding ``result.json`` (metrics, lecture
value, verdict, config, seeds, n, mean +/- std, versions, commit, hardware, wall time),
``arrays.npz`` (what the figures need) and ``runs/`` (per-seed training state and the trained
models other claims reuse; never committed).

Every file is written to a temporary name in the same folder, flushed, then renamed over the old
one, so a crash leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

from . import hardware
from .errors import ResultError

RESULTS_DIR_ENV = "REPLICATION_RESULTS_DIR"
DEFAULT_RESULTS_DIR = "results"
# The committed results of the latest real run, apart from the default results directory.
REFERENCE_DIR = Path(__file__).resolve().parent.parent / "reference"


# --------------------------------------------------------------------------------------------
# Atomic writes


def umask() -> int:
    """The process's umask, left as it was.

    Linux shows it in /proc/self/status. Elsewhere the only way to read it is to set it, which is
    process-wide: it is set to 0o077 for that instant, so a file another thread creates meanwhile
    gets a stricter mode, never a looser one.
    """
    with contextlib.suppress(OSError, ValueError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def _atomic_path(path: Path, suffix: str = ""):
    """Yield a temporary path beside ``path``; rename it over ``path`` only if the block succeeds.

    The file gets the mode a plain ``open(path, "w")`` would give a new file (0o666 less the
    umask), not the 0o600 of ``tempfile.mkstemp``, so atomic and plain writes are equally readable.
    """
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ResultError(f"{path.parent}: cannot create the folder ({exc.strerror or exc})") from None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp" + suffix)
    os.close(fd)
    try:
        yield Path(tmp)
        # After the block: a writer may have replaced the temporary file with one of its own.
        os.chmod(tmp, 0o666 & ~umask())
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path: Path, data: bytes) -> None:
    with _atomic_path(path) as tmp:
        Path(tmp).write_bytes(data)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj) -> None:
    atomic_write_text(path, json.dumps(to_jsonable(obj), indent=1, sort_keys=False) + "\n")


def atomic_save_npz(path: Path, **arrays) -> None:
    with _atomic_path(path, suffix=".npz") as tmp:
        np.savez_compressed(tmp, **arrays)


def atomic_save_model(model, path: Path) -> None:
    # Keras insists on the .keras suffix, so the temporary name keeps it.
    with _atomic_path(path, suffix=".keras") as tmp:
        model.save(tmp)


def atomic_savefig(fig, path: Path, **kwargs) -> None:
    path = Path(path)
    with _atomic_path(path, suffix=path.suffix) as tmp:
        fig.savefig(tmp, **kwargs)


def read_json(path: Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        raise ResultError(f"{path}: no such file") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ResultError(f"{path}: damaged JSON ({exc}); delete it or rerun with --force") from None


def to_jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): to_jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [to_jsonable(v) for v in obj]
    if isinstance(obj, Path):
        return str(obj)
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, float) and obj != obj:
        return None  # NaN is not JSON
    return obj


# --------------------------------------------------------------------------------------------
# The store


def fingerprint(config: dict) -> str:
    """A short hash of a configuration (JSON with sorted keys)."""
    blob = json.dumps(to_jsonable(config), sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:12]


class Store:
    """``<root>/<profile>/<dataset>/<claim>/``: one claim's result for one profile and dataset."""

    def __init__(self, root: str | os.PathLike):
        self.root = Path(root)
        if self.root.exists() and not self.root.is_dir():
            raise ResultError(f"--results-dir: {self.root} is a file, not a folder")

    def claim_dir(self, profile: str, dataset: str, claim: str) -> Path:
        return self.root / profile / dataset / claim

    def result_path(self, profile: str, dataset: str, claim: str) -> Path:
        return self.claim_dir(profile, dataset, claim) / "result.json"

    def load(self, profile: str, dataset: str, claim: str) -> dict | None:
        path = self.result_path(profile, dataset, claim)
        return read_json(path) if path.exists() else None

    def load_arrays(self, profile: str, dataset: str, claim: str) -> dict[str, np.ndarray]:
        path = self.claim_dir(profile, dataset, claim) / "arrays.npz"
        if not path.exists():
            return {}
        try:
            with np.load(path, allow_pickle=False) as f:
                return {k: f[k] for k in f.files}
        except Exception as exc:
            raise ResultError(f"{path}: damaged array file ({exc}); rerun with --force") from None

    def save(self, result: dict, arrays: dict | None = None) -> Path:
        folder = self.claim_dir(result["profile"], result["dataset"], result["claim"])
        if arrays:
            # Arrays first: result.json, written last, is what marks the claim as done.
            atomic_save_npz(folder / "arrays.npz", **arrays)
        path = folder / "result.json"
        atomic_write_json(path, result)
        return path

    def all_results(self):
        """Every result.json under the root, as (path, dict)."""
        for path in sorted(self.root.glob("*/*/*/result.json")):
            yield path, read_json(path)


# The profiles, most faithful first (registry.PROFILES names the same three).
PROFILE_ORDER = ("paper", "quick", "smoke")


def profiles_with_results(results_dir: str | os.PathLike) -> list[str]:
    """The profiles that hold at least one result, most faithful first."""
    root = Path(results_dir)
    return [p for p in PROFILE_ORDER if any((root / p).glob("*/*/result.json"))]


def pick_profile(results_dir: str | os.PathLike, profile: str | None = None) -> str | None:
    """``profile`` if given, else the most faithful profile with results (paper > quick > smoke)."""
    if profile is not None:
        if profile not in PROFILE_ORDER:
            raise ResultError(f"--profile: unknown profile {profile!r}; choose from {', '.join(PROFILE_ORDER)}")
        return profile
    found = profiles_with_results(results_dir)
    return found[0] if found else None


def ensure_writable_dir(path: Path, what: str = "--results-dir") -> Path:
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ResultError(f"{what}: cannot create {path} ({exc.strerror or exc})") from None
    except PermissionError as exc:
        raise ResultError(f"{what}: cannot create {path} ({exc.strerror})") from None
    if not path.is_dir():
        raise ResultError(f"{what}: {path} is not a folder")
    return path


# --------------------------------------------------------------------------------------------
# Provenance


def git_commit() -> dict:
    here = Path(__file__).resolve().parent.parent
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=here, capture_output=True,
                                text=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no", "--",
                                "replication"], cwd=here, capture_output=True, text=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return {"commit": None, "dirty": None}
    return {"commit": commit or None, "dirty": bool(dirty) if commit else None}


def versions() -> dict:
    from importlib import metadata

    out = {"python": platform.python_version()}
    for dist in ("replication", "keras", "tensorflow", "jax", "jaxlib", "keras-tuner", "numpy",
                 "tensorflow-datasets"):
        with contextlib.suppress(metadata.PackageNotFoundError):
            out[dist] = metadata.version(dist)
    with contextlib.suppress(Exception):
        import keras

        out["keras_backend"] = keras.backend.backend()
    return out


def peak_rss_mib() -> float | None:
    """The largest resident memory this process has had so far (MiB), as the kernel counts it."""
    try:
        import resource
    except ImportError:  # not on POSIX
        return None
    kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    return round(kib / (1024 if sys.platform != "darwin" else 1024 * 1024), 1)


def load_average() -> float | None:
    """The host's 1-minute load average (runnable threads of every process), None where the OS
    keeps none."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def host_cpu_seconds() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole host since it booted, every core summed, from
    ``/proc/stat`` (Linux; None elsewhere). The hypervisor's steal counts as busy: this guest
    could not use it."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
        hz = os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, AttributeError):
        return None
    if len(fields) < 9 or fields[0] != "cpu":
        return None
    user, nice, system, idle, iowait, irq, softirq, steal = (int(x) for x in fields[1:9])
    total = user + nice + system + idle + iowait + irq + softirq + steal
    return (total - idle - iowait) / hz, total / hz


def others_cpu_share(start: tuple | None, end: tuple | None, own_cpu_s: float) -> float | None:
    """The share of the host's CPU time between two :func:`host_cpu_seconds` readings that went to
    anything but this process (other processes, the kernel's work for them, the hypervisor's
    steal): 0 on a host of its own, 0.5 where another job kept one of 2 cores busy."""
    if start is None or end is None or end[1] <= start[1]:
        return None
    return round(min(max(end[0] - start[0] - own_cpu_s, 0.0) / (end[1] - start[1]), 1.0), 3)


def cpu_use(process_cpu_s: float, wall_s: float, load_start: float | None,
            others_share: float | None = None) -> dict:
    """What the host gave a run: this process's CPU seconds (all its threads) over wall time x the
    cores it may use (1.0: every core all the time), the share of the host's CPU time that went to
    other processes meanwhile (:func:`others_cpu_share`), and the load average as it started and
    ended. A run that shared its cores reads a share well below its unshared one, others' share
    above 0 and a load above the cores; the quick reference's CIFAR-10 runs shared 2 cores at a
    load of about 6 (issue #22), and nothing in their results said so."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    return {"process_cpu_s": round(process_cpu_s, 2), "cores": cores,
            "cpu_share": round(process_cpu_s / (wall_s * cores), 3) if wall_s > 0 else None,
            "others_cpu_share": others_share,
            "load_average_start": load_start, "load_average_end": load_average()}


class CpuMeter:
    """:func:`cpu_use` over a span: ``meter = CpuMeter()`` as it starts, ``meter.stop()`` as it
    ends."""

    def __init__(self):
        import time

        self._clock, self._cpu = time.perf_counter, time.process_time
        self.wall0, self.cpu0 = self._clock(), self._cpu()
        self.load0, self.host0 = load_average(), host_cpu_seconds()

    def stop(self) -> dict:
        own = self._cpu() - self.cpu0
        return cpu_use(own, self._clock() - self.wall0, self.load0,
                       others_cpu_share(self.host0, host_cpu_seconds(), own))


def provenance(precision: str | None = None, calibrate: float = 0.0) -> dict:
    """Where a number was computed: package versions, git commit, hardware (CPU instruction sets
    included), the precision, this process's peak memory so far and, with ``calibrate``, a
    matmul rate over ``calibrate`` seconds in each precision used (to compare wall times across
    machines)."""
    out = {"versions": versions(), "git": git_commit(), "hardware": hardware.info(),
           "peak_rss_mib_process_so_far": peak_rss_mib()}
    if precision is not None:
        out["precision"] = precision
    if calibrate:
        out["calibration"] = hardware.calibration(precision or "float32", calibrate)
    return out
