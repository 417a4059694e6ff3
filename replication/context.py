"""Where a claim runs: its folders, its data, the results it builds on. Not part of its config.

The runner makes one :class:`RunContext` per claim run and hands it to ``run(config, ctx)``; a
claim asks it for everything that is not its config, through these methods, never by guessing
paths or reaching into other modules' state.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path

from . import results
from .errors import ReplicationError


@dataclasses.dataclass(frozen=True)
class Prerequisite:
    """A claim this one builds on: its saved result and the folder its seed runs live in."""

    claim: str
    result: dict
    folder: Path  # <results>/<profile>/<dataset>/<claim>

    @property
    def config(self) -> dict:
        return self.result.get("config", {})

    def runs(self, folder: str = "") -> list[tuple[Path, dict]]:
        """(run folder, done.json record) of every seed it trained (under ``folder``, if given),
        in its seed order."""
        runs = []
        for seed in self.result["seeds"]:
            run_dir = self.folder / self.result["runs_dir"] / folder / f"seed{seed}"
            done = run_dir / "done.json"
            if not done.exists():
                raise ReplicationError(f"{done}: missing; rerun {self.claim} with --force")
            runs.append((run_dir, results.read_json(done)))
        return runs

    def runs_by_seed(self, folder: str = "") -> dict[int, tuple[Path, dict]]:
        return {record["seed"]: (d, record) for d, record in self.runs(folder)}


@dataclasses.dataclass
class RunContext:
    """One run of one claim: folders, data access, verbosity, prerequisites. (A distributed sweep's
    role goes to the one claim that takes it, as ``run(config, ctx, distributed)``.)"""

    claim_dir: Path  # <results>/<profile>/<dataset>/<claim>
    fingerprint: str = "run"  # of the claim's config: its seed runs live in runs/<fingerprint>/
    data_dir: Path | None = None
    verbose: int = 1  # Keras: 0 silent, 1 progress bars (a terminal), 2 one line per epoch
    deterministic: bool = False
    loader: Callable | None = None  # name -> Dataset; tests inject synthetic data here
    prerequisites: dict[str, Prerequisite] = dataclasses.field(default_factory=dict)
    force: bool = False  # --force: a claim may delete state of its own (the tuner's project)
    # Wall seconds an earlier, interrupted invocation trained: finished seed runs handed back
    # instead of trained again, and the epochs of runs resumed (training.trained_seconds); the
    # runner adds them to the claim's compute time.
    reused_seconds: float = 0.0
    _datasets: dict = dataclasses.field(default_factory=dict, repr=False)

    @property
    def work_dir(self) -> Path:
        """``<claim dir>/runs/<fingerprint>``: this config's seed runs."""
        return self.claim_dir / "runs" / self.fingerprint

    @property
    def tuner_dir(self) -> Path:
        """``<claim dir>/tuner``: a Keras Tuner project (kept across configs; see claims.depth_width)."""
        return self.claim_dir / "tuner"

    def run_dir(self, *parts) -> Path:
        path = Path(self.work_dir, *[str(p) for p in parts])
        path.mkdir(parents=True, exist_ok=True)
        return path

    def dataset(self, name: str):
        if name not in self._datasets:
            if self.loader is not None:
                self._datasets[name] = self.loader(name)
            else:
                from . import data

                verify = os.environ.get("REPLICATION_NO_VERIFY", "") == ""
                self._datasets[name] = data.load(name, self.data_dir, verify=verify)
        return self._datasets[name]

    def prerequisite(self, claim_id: str) -> Prerequisite:
        found = self.prerequisites.get(claim_id)
        if found is None:
            raise ReplicationError(f"{claim_id} was not run first: it is a prerequisite (Claim.requires)")
        return found

    def add_reused(self, seconds: float) -> None:
        self.reused_seconds += float(seconds or 0.0)
