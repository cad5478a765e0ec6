"""``dipwatch demo``, the README's main job, as a user runs it: its own embedded broker,
a worker, the corpus replayed; every alert the offline fold predicts arrives. While it
monitors, a worker that exits to be restarted (its fold process killed) is restarted."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from tests.helpers import stop_process


def _demo(tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {
        k: v for k, v in os.environ.items() if not k.startswith("DIPWATCH_")
    }  # the defaults, as from a fresh clone: the embedded broker
    env["DIPWATCH_DATA_DIR"] = str(tmp_path / "data")
    return subprocess.Popen(
        [sys.executable, "-m", "dipwatch", "demo", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def _until(proc: subprocess.Popen[str], pattern: str, seen: list[str]) -> re.Match[str]:
    """Read the demo's lines until one matches ``pattern`` (all kept in ``seen``)."""
    assert proc.stdout is not None
    for line in proc.stdout:
        seen.append(line)
        if match := re.search(pattern, line):
            return match
    raise AssertionError(f"the demo ended without {pattern!r}:\n{''.join(seen[-40:])}")


@pytest.fixture(autouse=True)
def _embedded_only(broker_kind: str) -> None:
    if broker_kind != "embedded":
        pytest.skip("the demo runs its own embedded broker (make test runs it)")


def test_the_demo_receives_every_predicted_alert_and_exits(tmp_path: Path) -> None:
    demo = _demo(tmp_path, "--exit-after-replay")
    seen: list[str] = []
    try:
        got = _until(demo, r"(\d+) of (\d+) predicted alerts received", seen)
        rest, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, "".join(seen[-40:]) + rest
    finally:
        stop_process(demo)  # type: ignore[arg-type]
    assert got[1] == got[2] and int(got[2]) > 0


def test_a_worker_that_asks_to_be_restarted_is_restarted(tmp_path: Path) -> None:
    demo = _demo(tmp_path)
    seen: list[str] = []
    try:
        started = _until(demo, r"worker started \(pid (\d+)\); dashboard on (\S+)/", seen)
        _until(demo, r"monitoring; Ctrl-C to stop", seen)
        pid, dashboard = int(started[1]), started[2]
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        assert len(children) == 1  # the fold process (streams/fold_process.py)
        os.kill(int(children[0]), signal.SIGKILL)
        _until(demo, r"the worker exited with code 75 to be restarted", seen)
        again = _until(demo, r"worker started \(pid (\d+)\)", seen)
        assert int(again[1]) != pid
        deadline = time.monotonic() + 60
        while True:  # the new worker serves its dashboard, healthy
            try:
                with urllib.request.urlopen(f"{dashboard}/healthz", timeout=5) as answer:
                    if answer.status == 200:
                        break
            except OSError:
                pass
            assert time.monotonic() < deadline, "the restarted worker never became healthy"
            time.sleep(0.5)
        demo.send_signal(signal.SIGINT)
        rest, _ = demo.communicate(timeout=60)
        assert demo.returncode == 0, "".join(seen[-40:]) + rest
    finally:
        stop_process(demo)  # type: ignore[arg-type]
