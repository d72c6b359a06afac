"""Load on loopback: 20 concurrent run requests are served or refused with 429, memory stays bounded."""

from __future__ import annotations

import asyncio
import threading
import time

import httpx
from web_support import serve

from wormlab.web.app import create_app
from wormlab.web.params import Limits

BODY = {"vulnerable_hosts": 20_000, "window_h": 3, "patch_from_h": 1}
CONCURRENT = 20
ROUNDS = 5


async def burst(base: str) -> list[httpx.Response]:
    async with httpx.AsyncClient(base_url=base, timeout=30.0) as client:
        return await asyncio.gather(*(client.post("/api/runs", json=BODY) for _ in range(CONCURRENT)))


def rss_bytes() -> int:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def wait_all(base: str, ids: list[str]) -> None:
    with httpx.Client(base_url=base, timeout=30.0) as client:
        for job in ids:
            for _ in range(600):  # bounded: 30 s per run at most
                answer = client.get(f"/api/runs/{job}")
                if answer.status_code == 404:  # finished, then forgotten for newer runs
                    break
                state = answer.json()["state"]
                if state in ("done", "failed"):
                    assert state == "done"
                    break
                time.sleep(0.05)
            else:
                raise AssertionError(f"run {job} did not finish")


def test_twenty_concurrent_requests_are_served_or_refused():
    hold = threading.Event()
    limits = Limits(max_queued=4, max_kept=4)
    with serve(create_app(limits, hold=hold)) as base:
        assert base.startswith("http://127.0.0.1:")
        # round 1: workers held, so exactly the queue's worth is accepted
        answers = asyncio.run(burst(base))
        codes = sorted(r.status_code for r in answers)
        assert codes == [202] * 4 + [429] * 16
        assert all("busy" in r.json()["detail"] for r in answers if r.status_code == 429)
        hold.set()
        wait_all(base, [r.json()["id"] for r in answers if r.status_code == 202])
        after_first = rss_bytes()
        # more rounds, workers free: every answer is 202 or 429, never an error
        for _ in range(ROUNDS - 1):
            answers = asyncio.run(burst(base))
            assert {r.status_code for r in answers} <= {202, 429}
            accepted = [r.json()["id"] for r in answers if r.status_code == 202]
            assert 1 <= len(accepted) <= CONCURRENT
            wait_all(base, accepted)
        health = httpx.get(f"{base}/api/health").json()
        assert health["kept"] <= limits.max_kept and health["queued"] == health["running"] == 0
        assert rss_bytes() - after_first < 200 * 2**20  # results are forgotten, not piled up
