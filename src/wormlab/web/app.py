"""The dashboard server: a static page and a small JSON API over the run queue.

``create_app(limits)`` builds a FastAPI app; ``wormlab serve`` runs it with uvicorn on loopback.

API (all JSON unless noted):

- ``GET /``                         the page (one file, everything inline)
- ``GET /api/config``               scenarios, tunable parameters with bounds and defaults, limits
- ``POST /api/runs``                ``{"scenario": ..., "<param>": value, ...}`` -> 202 ``{"id"}``;
                                    422 ``{"detail"}`` for bad parameters; 429 when the queue is full
- ``GET /api/runs/{id}``            state and progress; when done, summary, series and observations
- ``GET /api/runs/{id}/map.png``    the IPv4 map (``?minute=N`` after the start; default: the end)
- ``GET /api/health``               queue counts
"""

from __future__ import annotations

import threading
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from wormlab.errors import WormlabError
from wormlab.web.jobs import SERIES_COLUMNS, Jobs, QueueFull
from wormlab.web.params import PARAMS, Limits, build_scenario, check_request

__all__ = ["Limits", "create_app"]


def _page() -> str:
    return (resources.files("wormlab.web") / "static" / "index.html").read_text(encoding="utf-8")


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def create_app(limits: Limits | None = None, hold: threading.Event | None = None) -> FastAPI:
    """The dashboard app; ``hold`` (tests only) keeps workers waiting so the queue can fill."""
    from contextlib import asynccontextmanager

    from wormlab.scenario import builtin_names, load_scenario

    limits = limits or Limits()
    jobs = Jobs(limits, hold)
    names = builtin_names()

    @asynccontextmanager
    async def lifespan(_app: FastAPI):
        yield
        jobs.shutdown()

    app = FastAPI(title="wormlab dashboard", docs_url=None, redoc_url=None, lifespan=lifespan)
    app.state.jobs = jobs

    @app.get("/", response_class=HTMLResponse)
    def index() -> HTMLResponse:
        return HTMLResponse(_page(), headers={"Cache-Control": "no-store"})

    @app.get("/api/config")
    def config() -> dict[str, Any]:
        scenarios = []
        for name in names:
            sc = load_scenario(name)
            scenarios.append({"name": name, "description": sc.description,
                              "defaults": {p.key: p.describe(limits, sc)["default"] for p in PARAMS}})
        first = load_scenario(names[0])
        return {"scenarios": scenarios, "params": [p.describe(limits, first) for p in PARAMS],
                "limits": {"max_vulnerable_hosts": limits.max_vulnerable_hosts,
                           "max_window_h": limits.max_window_h, "max_queued": limits.max_queued}}

    @app.post("/api/runs")
    async def start_run(request: Request) -> JSONResponse:
        try:
            body = await request.json()
        except ValueError:
            return _error(422, "the request body must be JSON")
        try:
            name, values = check_request(body, limits, names)
            # validation reads TOML and checks capacity: off the event loop, like the run itself
            scenario, seed = await run_in_threadpool(build_scenario, name, values, limits)
        except WormlabError as err:
            return _error(422, str(err))
        try:
            job = jobs.submit(scenario, seed, values)
        except QueueFull as err:
            return JSONResponse({"detail": f"busy: {err}"}, status_code=429,
                                headers={"Retry-After": "1"})
        return JSONResponse(job.status(), status_code=202)

    @app.get("/api/runs/{job_id}")
    def run_status(job_id: str) -> JSONResponse:
        job = jobs.get(job_id)
        if job is None:
            return _error(404, f"no run {job_id!r} (finished runs are kept only for a while)")
        out = job.status()
        if job.state == "done":
            out.update(_payload(job.result))
        return JSONResponse(out)

    @app.get("/api/runs/{job_id}/map.png")
    def run_map(job_id: str, minute: float | None = None) -> Response:
        import pandas as pd

        from wormlab.report.hilbert import map_png_bytes

        job = jobs.get(job_id)
        if job is None:
            return _error(404, f"no run {job_id!r}")
        if job.state != "done":
            return _error(409, f"run {job_id} is {job.state}; the map comes when it is done")
        ts = job.result.timeseries
        start, end = ts["time"].iloc[0], ts["time"].iloc[-1]
        at = end if minute is None else start + pd.Timedelta(minutes=minute)
        if not start <= at <= end:
            span = (end - start).total_seconds() / 60
            return _error(422, f"minute: must be between 0 and {span:g}")
        bits = job.scenario.internet.address_bits
        png = map_png_bytes(job.result.hosts, at, bits, scale=2)
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/api/health")
    def health() -> dict[str, Any]:
        return {"ok": True, **jobs.counts()}

    return app


def _payload(run: Any) -> dict[str, Any]:
    """Summary, series (epoch milliseconds and counts) and the event's timed observations."""
    from wormlab.report.figures import defence_markers, history_points, row_seconds
    from wormlab.report.runset import RunSet

    ts = run.timeseries
    per_minute = 60.0 / row_seconds(ts)
    import pandas as pd

    epoch = pd.Timestamp(0, tz="UTC")  # whatever the time unit of the column (ns, us, s)
    series: dict[str, Any] = {"t_ms": ((ts["time"] - epoch) // pd.Timedelta(milliseconds=1)).tolist()}
    for column in SERIES_COLUMNS:
        values = ts[column].to_numpy()
        series[column] = (values * per_minute).round(2).tolist() if column == "new_infections" else values.tolist()
    runset = RunSet([run], source="dashboard")
    observed = [{"t_ms": int(o.at.timestamp() * 1000), "value": o.value, "relation": o.relation,
                 "label": f"{o.describe()} ({o.source_short})"} for o in history_points(runset)]
    markers = [{"t_ms": int(m.time.timestamp() * 1000), "label": m.label}
               for m in defence_markers(run.scenario, ts["time"].iloc[0], ts["time"].iloc[-1])]
    summary = {k: v for k, v in run.summary.items() if not isinstance(v, (list, dict))}
    return {"summary": summary, "series": series, "observed": observed, "markers": markers}
