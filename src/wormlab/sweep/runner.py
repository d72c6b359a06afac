"""Run a plan on Dask: skip finished runs, write each run as it finishes, record failures.

The client keeps a bounded window of runs in flight (a sweep of 100,000 runs never puts
100,000 tasks on the scheduler). Workers simulate and encode Parquet; the client only renames
bytes into place, so the store never depends on a filesystem shared with the workers.

A run whose simulation raises comes back as a failure record (error, traceback, seed) and the
sweep goes on. A run lost with its worker is rescheduled by Dask; one Dask gives up on is left
unfinished, and running the same command again picks it up.
"""

from __future__ import annotations

import logging
import os
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from distributed.diagnostics.plugin import WorkerPlugin

from wormlab.errors import WormlabError
from wormlab.sweep.spec import Plan, RunSpec
from wormlab.sweep.store import Store, existing_store, open_store

CONNECT_TIMEOUT_S = 5
WAIT_FOR_WORKERS_S = 120
ProgressFn = Callable[[int, int, int], None]  # (done, total, failed)


def _simulate(scenario, seed: int):
    """Indirection so a test can make chosen runs raise."""
    from wormlab.engine.simulate import simulate

    return simulate(scenario, seed=seed)


def execute_run(spec: RunSpec) -> dict[str, Any]:
    """Simulate one run and encode it; never raises for an error of the run itself."""
    from wormlab.sweep.store import encode_run

    t0, cpu0 = time.perf_counter(), time.process_time()
    try:
        result = _simulate(spec.scenario, spec.seed)
        t1, cpu_s = time.perf_counter(), time.process_time() - cpu0
        ts_bytes, summary_bytes = encode_run(spec, result)
    except Exception as err:  # recorded, not raised: one bad run must not stop the sweep
        return {"ok": False, "index": spec.index, "record": failure_record(spec, err)}
    return {"ok": True, "index": spec.index, "timeseries": ts_bytes, "summary": summary_bytes,
            "run_s": t1 - t0, "cpu_s": cpu_s, "encode_s": time.perf_counter() - t1}


def failure_record(spec: RunSpec, err: BaseException) -> dict[str, Any]:
    import json
    import socket

    return {"run_index": spec.index, "point_index": spec.point_index, "replicate": spec.replicate,
            "seed": spec.seed, "params": json.dumps(spec.params), "error_type": type(err).__name__,
            "error": str(err), "traceback": "".join(traceback.format_exception(err)),
            "host": socket.gethostname(), "pid": os.getpid(),
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


class WarmUp(WorkerPlugin):
    """Load the compiled kernel once on every worker, including ones restarted later."""

    name = "wormlab-warm-up"

    def setup(self, worker) -> None:
        from wormlab.engine.simulate import warm_up

        warm_up()


@dataclass
class Outcome:
    """What a call of :func:`run_sweep` did, with the timings the benchmark reports."""

    total: int
    already_done: int
    skipped_failed: int
    todo: int
    succeeded: list[int] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)
    lost: list[int] = field(default_factory=list)
    lost_error: str = ""  # the first error Dask gave for a lost run
    workers: int = 0
    elapsed_s: float = 0.0
    run_s: float = 0.0
    cpu_s: float = 0.0  # CPU time of the simulations: well below run_s means workers lacked a core
    encode_s: float = 0.0
    write_s: float = 0.0

    @property
    def complete(self) -> bool:
        return not self.failed and not self.lost and self.skipped_failed == 0


@contextmanager
def dask_client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Any]:
    """A client on ``scheduler``, or on a local cluster of ``workers`` processes (loopback only)."""
    from distributed import Client, LocalCluster

    cluster = None
    if scheduler:
        _check_address(scheduler)
        try:
            client = Client(scheduler, timeout=CONNECT_TIMEOUT_S, set_as_default=False)
        except (OSError, TimeoutError) as err:
            raise WormlabError(
                f"cannot reach the Dask scheduler at {scheduler} within {CONNECT_TIMEOUT_S} s "
                f"({type(err).__name__}); start one with `dask scheduler`, or drop --scheduler "
                "to run on a local cluster") from None
        if workers:
            try:
                client.wait_for_workers(workers, timeout=WAIT_FOR_WORKERS_S)
            except (TimeoutError, OSError):
                client.close()
                raise WormlabError(f"{scheduler}: fewer than {workers} workers joined within "
                                   f"{WAIT_FOR_WORKERS_S} s") from None
    else:
        n = workers or os.cpu_count() or 1
        # no dashboard; the scheduler's health endpoint on a free loopback port, not on :8787
        cluster = LocalCluster(n_workers=n, threads_per_worker=1, processes=True, host="127.0.0.1",
                               dashboard_address=None, scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                               silence_logs=logging.ERROR)
        client = Client(cluster, set_as_default=False)
    try:
        client.register_plugin(WarmUp())
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _check_address(address: str) -> None:
    scheme, sep, rest = address.partition("://")
    _, colon, port = rest.rpartition(":")
    if not sep or scheme not in ("tcp", "tls", "ws", "wss", "inproc") or not colon or not port.isdigit():
        raise WormlabError(f"--scheduler {address!r}: expected an address like tcp://HOST:8786")


def pending(store: Store, indices: Iterable[int] | None = None, retry_failed: bool = False) -> tuple[list[int], int, int]:
    """Runs still to do, how many are already finished, how many failed runs are skipped."""
    done, failed = store.done_indices(), store.failed_indices()
    wanted = range(store.plan.n_runs) if indices is None else indices
    todo, skipped = [], 0
    for i in wanted:
        if i in done:
            continue
        if i in failed and not retry_failed:
            skipped += 1
            continue
        todo.append(i)
    return todo, len(done), skipped


def run_sweep(plan: Plan, out: str | Path, workers: int | None = None, scheduler: str | None = None,
              progress: ProgressFn | None = None, retry_failed: bool = False, client: Any = None,
              log: Callable[[str], None] | None = None) -> Outcome:
    """Run every unfinished run of ``plan`` into the sweep directory ``out``.

    Runs with a failure record are skipped unless ``retry_failed`` (they fail the same way
    again unless something changed; ``wormlab rerun`` runs chosen ones). Pass ``client`` to
    use a Dask client you manage.
    """
    store = open_store(out, plan)
    todo, already, skipped = pending(store, retry_failed=retry_failed)
    outcome = Outcome(total=plan.n_runs, already_done=already, skipped_failed=skipped, todo=len(todo))
    if log and already:
        log(f"resuming: {already} of {plan.n_runs} runs already finished, {len(todo)} to run" if todo
            else f"all {already} of {plan.n_runs} runs already finished")
    if skipped and log:
        log(f"{skipped} runs that failed before are not retried (use --retry-failed or `wormlab rerun`)")
    if not todo:
        return outcome
    if client is not None:
        _drive(client, store, todo, outcome, progress)
    else:
        with dask_client(workers, scheduler) as own:
            _drive(own, store, todo, outcome, progress)
    return outcome


def _drive(client, store: Store, todo: list[int], outcome: Outcome, progress: ProgressFn | None) -> None:
    from distributed import as_completed

    plan = store.plan
    scenarios: dict[int, Any] = {}
    session = uuid.uuid4().hex[:8]

    def submit(i: int):
        point = plan.point_of(i)
        if point not in scenarios:
            scenarios[point] = plan.scenario_of(i)
        spec = plan.run_spec(i, scenario=scenarios[point])
        return client.submit(execute_run, spec, key=f"wormlab-run-{i}-{session}", pure=False)

    outcome.workers = max(1, sum(client.nthreads().values()))
    window = max(8, 4 * outcome.workers)
    queue = iter(todo)
    t0 = time.perf_counter()
    futures = [submit(i) for _, i in zip(range(window), queue)]
    index_of = {f.key: int(f.key.split("-")[2]) for f in futures}
    done_count = outcome.already_done
    report = progress or (lambda done, total, failed: None)
    report(done_count, outcome.total, len(outcome.failed))
    completed = as_completed(futures, loop=client.loop, with_results=True, raise_errors=False)
    for future, value in completed:
        index = index_of.pop(future.key)
        future.release()
        if isinstance(value, BaseException) or not isinstance(value, dict):
            outcome.lost.append(index)  # the task itself died (e.g. Dask gave up on it)
            outcome.lost_error = outcome.lost_error or f"{type(value).__name__}: {value}".splitlines()[0]
        elif value["ok"]:
            t_write = time.perf_counter()
            store.write_run(index, value["timeseries"], value["summary"])
            outcome.write_s += time.perf_counter() - t_write
            outcome.run_s += value["run_s"]
            outcome.cpu_s += value["cpu_s"]
            outcome.encode_s += value["encode_s"]
            outcome.succeeded.append(index)
        else:
            store.write_failure(index, value["record"])
            outcome.failed.append(index)
        done_count += 0 if index in outcome.lost else 1
        report(done_count, outcome.total, len(outcome.failed))
        nxt = next(queue, None)
        if nxt is not None:
            f = submit(nxt)
            index_of[f.key] = nxt
            completed.add(f)
    outcome.elapsed_s = time.perf_counter() - t0


def rerun(out: str | Path, indices: Iterable[int], log: Callable[[str], None] | None = None) -> Outcome:
    """Run chosen runs again in this process (after fixing what made them fail), replacing their files."""
    store = existing_store(out)
    indices = list(indices)
    specs = [store.plan.run_spec(i) for i in indices]  # range-checked before anything runs
    outcome = Outcome(total=store.plan.n_runs, already_done=0, skipped_failed=0, todo=len(indices), workers=1)
    t0 = time.perf_counter()
    for spec in specs:
        value = execute_run(spec)
        if value["ok"]:
            store.write_run(spec.index, value["timeseries"], value["summary"])
            outcome.succeeded.append(spec.index)
            if log:
                log(f"run {spec.index} (seed {spec.seed}): finished")
        else:
            store.write_failure(spec.index, value["record"])
            outcome.failed.append(spec.index)
            if log:
                log(f"run {spec.index} (seed {spec.seed}): failed again: {value['record']['error']}")
    outcome.elapsed_s = time.perf_counter() - t0
    return outcome
