"""The dashboard's JSON API: bounds enforced on the server, runs off the request path, the map."""

from __future__ import annotations

import threading
import time
import warnings

import pytest

import wormlab
from wormlab.web.app import create_app
from wormlab.web.params import Limits

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from fastapi.testclient import TestClient

SMALL = {"vulnerable_hosts": 20_000, "window_h": 3, "patch_from_h": 1}


def wait_done(client, job_id: str, polls: int = 600) -> dict:
    for _ in range(polls):  # bounded: at most 600 polls of 50 ms
        body = client.get(f"/api/runs/{job_id}").json()
        if body["state"] in ("done", "failed"):
            return body
        time.sleep(0.05)
    raise AssertionError(f"run {job_id} did not finish: {body}")


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Limits(max_vulnerable_hosts=500_000, max_window_h=48))) as c:
        yield c


def test_config_lists_params_with_server_bounds(client):
    cfg = client.get("/api/config").json()
    params = {p["key"]: p for p in cfg["params"]}
    assert params["vulnerable_hosts"]["max"] == 500_000 and params["window_h"]["max"] == 48
    assert {"probe_rate_per_s", "patch_rate_per_h", "patch_from_h", "mean_uptime_h", "seed"} <= set(params)
    defaults = cfg["scenarios"][0]["defaults"]
    assert defaults["vulnerable_hosts"] == 400_000 and defaults["window_h"] == 38
    assert defaults["patch_rate_per_h"] == 0.025 and defaults["patch_from_h"] == 5


def test_default_run_is_the_library_run(client):
    started = client.post("/api/runs", json={"scenario": "codered-2001-07-19", "seed": 2})
    assert started.status_code == 202
    body = wait_done(client, started.json()["id"])
    assert body["state"] == "done" and body["progress"] == 1.0
    direct = wormlab.simulate(wormlab.load_scenario("codered-2001-07-19"), seed=2)
    assert body["series"]["ever_infected"] == direct.timeseries["ever_infected"].tolist()
    assert body["summary"]["ever_infected"] == direct.summary["ever_infected"]
    assert body["series"]["t_ms"][0] == 995536800000  # 2001-07-19T10:00:00Z
    assert [o["value"] for o in body["observed"]] == [359000.0, 250000.0]
    assert [m["label"] for m in body["markers"]] == ["patch rate 0.025/h", "worm: flood (day 20)"]


def test_a_defence_changes_the_outbreak(client):
    ids = [client.post("/api/runs", json={**SMALL, "window_h": 12, "vulnerable_hosts": 200_000,
                                          "patch_rate_per_h": rate, "patch_from_h": 1}).json()["id"]
           for rate in (0.0, 1.0)]
    slow, fast = (wait_done(client, i)["summary"] for i in ids)
    assert fast["patched_at_end"] > 10 * slow["patched_at_end"]
    assert fast["ever_infected"] < slow["ever_infected"]


@pytest.mark.parametrize("body, message", [
    ({"vulnerable_hosts": 600_000}, "vulnerable hosts: 600,000 is out of range; allowed 100 to 500,000"),
    ({"window_h": 100}, "simulated window: 100 is out of range"),
    ({"probe_rate_per_s": -1}, "worm probe rate: -1 is out of range"),
    ({"probe_rate_per_s": "fast"}, "worm probe rate: expected a number"),
    ({"probe_rate_per_s": None}, "expected a number"),
    ({"seed": 1.5}, "seed: must be a whole number"),
    ({"filtering": 1}, "unknown parameter 'filtering'"),
    ({"scenario": "slammer"}, "scenario: unknown 'slammer'"),
    ({"window_h": 4, "patch_from_h": 6}, "is after the end of the window"),
    ([1, 2], "must be a JSON object"),
])
def test_bad_parameters_get_422_and_a_message(client, body, message):
    answer = client.post("/api/runs", json=body)
    assert answer.status_code == 422
    assert message in answer.json()["detail"]


def test_not_json_is_422(client):
    answer = client.post("/api/runs", content=b"{not json", headers={"Content-Type": "application/json"})
    assert answer.status_code == 422 and "JSON" in answer.json()["detail"]


def test_map_png(client):
    job = client.post("/api/runs", json=SMALL).json()["id"]
    wait_done(client, job)
    png = client.get(f"/api/runs/{job}/map.png?minute=60")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content.startswith(b"\x89PNG")
    assert client.get(f"/api/runs/{job}/map.png?minute=999").status_code == 422
    assert client.get("/api/runs/r999/map.png").status_code == 404
    assert client.get("/api/runs/r999").status_code == 404


def test_queue_is_bounded_and_finished_runs_are_forgotten():
    hold = threading.Event()
    limits = Limits(max_queued=2, max_kept=3)
    with TestClient(create_app(limits, hold=hold)) as c:
        codes = [c.post("/api/runs", json=SMALL).status_code for _ in range(5)]
        assert codes == [202, 202, 429, 429, 429]
        busy = c.post("/api/runs", json=SMALL)
        assert busy.headers["retry-after"] == "1" and "busy" in busy.json()["detail"]
        first = c.get("/api/runs/r1").json()
        assert first["state"] == "queued" and "series" not in first
        assert c.get("/api/runs/r1/map.png").status_code == 409
        hold.set()
        wait_done(c, "r2")
        for _ in range(4):
            wait_done(c, c.post("/api/runs", json=SMALL).json()["id"])
        health = c.get("/api/health").json()
        assert health["kept"] == 3 and health["done"] == 3
        assert c.get("/api/runs/r1").status_code == 404
