"""Runs off the request path: a bounded queue, worker threads, and a bounded memory of results.

A request never waits for a simulation: it gets a run id (202) or, when ``max_queued`` runs are
already waiting, a 429. Finished runs keep only what the page reads (a slim time series and two
host columns for the map), and only the newest ``max_kept`` of them, so memory stays bounded
however many requests arrive.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from wormlab.web.params import Limits

SERIES_COLUMNS = ("ever_infected", "infected", "patched", "new_infections")


@dataclass
class Job:
    id: str
    scenario: Any
    seed: int
    params: dict[str, float]
    state: str = "queued"  # queued -> running -> done | failed
    progress: float = 0.0
    error: str = ""
    created_s: float = field(default_factory=time.monotonic)
    result: Any = None  # wormlab.report.runset.RunData once done (slim)

    def status(self) -> dict[str, Any]:
        return {"id": self.id, "state": self.state, "progress": round(self.progress, 4),
                "error": self.error, "params": self.params, "scenario": self.scenario.name,
                "seed": self.seed}


class QueueFull(Exception):
    """Raised by :meth:`Jobs.submit` when the queue is at its limit (the server answers 429)."""


class Jobs:
    """The run queue of one server. ``hold`` (an Event) lets tests keep workers waiting."""

    def __init__(self, limits: Limits, hold: threading.Event | None = None):
        self.limits = limits
        self._lock = threading.Lock()
        self._jobs: OrderedDict[str, Job] = OrderedDict()
        self._waiting = 0
        self._ids = itertools.count(1)
        self._hold = hold
        self._pool = ThreadPoolExecutor(max_workers=limits.workers, thread_name_prefix="wormlab-run")

    def submit(self, scenario: Any, seed: int, params: dict[str, float]) -> Job:
        with self._lock:
            if self._waiting >= self.limits.max_queued:
                raise QueueFull(f"{self._waiting} runs are already waiting (limit "
                                f"{self.limits.max_queued}); try again when one has finished")
            job = Job(f"r{next(self._ids)}", scenario, seed, params)
            self._waiting += 1
            self._jobs[job.id] = job
            self._prune()
        self._pool.submit(self._run, job)
        return job

    def get(self, job_id: str) -> Job | None:
        with self._lock:
            return self._jobs.get(job_id)

    def counts(self) -> dict[str, int]:
        with self._lock:
            states = [j.state for j in self._jobs.values()]
        return {s: states.count(s) for s in ("queued", "running", "done", "failed")} | {"kept": len(states)}

    def shutdown(self) -> None:
        if self._hold is not None:
            self._hold.set()
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _prune(self) -> None:
        """Forget the oldest finished runs beyond ``max_kept`` (caller holds the lock)."""
        finished = [k for k, j in self._jobs.items() if j.state in ("done", "failed")]
        for key in finished[: max(0, len(finished) - self.limits.max_kept)]:
            del self._jobs[key]

    def _run(self, job: Job) -> None:
        from wormlab.engine.simulate import simulate
        from wormlab.errors import WormlabError

        if self._hold is not None:
            self._hold.wait(timeout=60.0)
        with self._lock:
            self._waiting -= 1
            job.state = "running"

        def progress(done: int, total: int) -> None:
            job.progress = done / total if total else 1.0

        try:
            result = simulate(job.scenario, seed=job.seed, progress=progress)
            job.result = slim(result)
            job.progress, job.state = 1.0, "done"
        except WormlabError as err:
            job.error, job.state = str(err), "failed"
        except Exception as err:  # noqa: BLE001 - a worker must survive; the page shows the error
            job.error, job.state = f"internal error: {type(err).__name__}: {err}", "failed"
        with self._lock:
            self._prune()


def slim(result: Any) -> Any:
    """What the page reads of a Result: the time series columns it draws and the map's columns."""
    from wormlab.report.runset import RunData

    ts = result.timeseries[["time", *SERIES_COLUMNS, "probes_sent", "flood_packets_to_target"]].copy()
    hosts = result.hosts[["address", "infected_at"]].copy()
    return RunData(ts, dict(result.summary), result.scenario, hosts, f"seed {result.seed}")
