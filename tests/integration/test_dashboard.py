"""The dashboard in a real headless Chromium (Debian's, driven by Playwright).

Replay the corpus into a worker with the web side on; the page must show the October
2022 summons alerts, the tension chart and the envoy board, and a new alert must appear
on the page within a second of reaching its topic. The screenshot is kept in
test-artifacts/dashboard.png.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from infra.brokers.tansu import free_port
from tests.helpers import summons_now, worker_process
from tests.integration.conftest import ROOT
from tests.integration.test_web import call, wait_ready, web_env

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
ARTIFACTS = ROOT / "test-artifacts"


@pytest.mark.skipif(CHROMIUM is None, reason="needs Debian's chromium: apt-get install chromium")
def test_the_dashboard_shows_the_corpus_and_live_alerts(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    from playwright.sync_api import sync_playwright

    port = free_port()
    env = web_env(isolated, port)
    with worker_process(env, tmp_path / "worker.log"):
        wait_ready(port)
        replay = subprocess.run(
            [sys.executable, "-m", "dipwatch", "replay"],
            env={**os.environ, **env},
            capture_output=True,
            timeout=120,
        )
        assert replay.returncode == 0, replay.stderr.decode()[-2000:]
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
            # The test drives the page with evaluated snippets; the page itself needs no eval.
            page = browser.new_page(viewport={"width": 1400, "height": 1000}, bypass_csp=True)
            page.goto(f"http://127.0.0.1:{port}/")
            summons = page.locator('#alerts li[data-rule^="summons."]', has_text="2022-10")
            summons.first.wait_for(timeout=60_000)
            assert summons.count() >= 2  # opened (Oct 4), announced reciprocal (Oct 5)
            page.locator("#tension-line").wait_for(timeout=30_000)
            assert page.locator("#tension-chart circle").count() > 3
            # The states come after the alerts they raised (written back before a commit);
            # the page reloads them on the stream's `state` event.
            page.locator("#envoys", has_text="Vrublevsky").wait_for(timeout=30_000)
            assert page.locator("#status").inner_text() == "live"
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "dashboard.png"), full_page=True)

            # A live alert: an analyst posts a summons now; time it from the topic to the page.
            fresh = summons_now("live-dashboard-1", "KAZ", "RUS", "Alexey Borodavkin")
            page.evaluate(
                """() => { window.__seen = null; new MutationObserver((_, obs) => {
                    if (document.querySelector('#alerts li.new')) {
                        window.__seen = Date.now(); obs.disconnect(); } })
                  .observe(document.querySelector('#alerts'), {childList: true}); }"""
            )
            sent = time.time()
            assert call(port, "/events", json.dumps(fresh).encode())[0] == 202
            page.wait_for_function("window.__seen !== null", timeout=30_000)
            shown_ms = page.evaluate("window.__seen")
            browser.close()
    raised = _raised_at(tmp_path / "worker.log")
    to_page_ms = shown_ms - raised * 1000
    print(f"\nPOST -> page {shown_ms - sent * 1000:.0f} ms; raised -> page {to_page_ms:.0f} ms")
    assert to_page_ms < 1000


def _raised_at(log: Path) -> float:
    """Wall-clock time the worker logged raising the last alert (the live one)."""
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    raised = [x for x in lines if x.get("event") == "alert_raised"]
    return datetime.fromisoformat(raised[-1]["timestamp"]).timestamp()
