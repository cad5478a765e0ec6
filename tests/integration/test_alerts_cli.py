"""`dipwatch alerts`: from the beginning, from a date, from now; filtered; lines or JSON."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import Topics
from replay.loader import bundled_corpus, load_paths
from schemas.alerts import Alert
from schemas.codec import encode_alert
from tests.integration.kafka_io import produce

CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]


def _publish(bootstrap: str, topics: Topics, alerts: list[Alert]) -> None:
    for aggregate in ("tension", "summons", "envoys"):
        records = [(a.dyad.encode(), encode_alert(a)) for a in alerts if a.aggregate == aggregate]
        asyncio.run(produce(bootstrap, topics.alerts(aggregate), records))


def _alerts_cli(env: dict[str, str], *args: str) -> list[str]:
    run = subprocess.run(
        [sys.executable, "-m", "dipwatch", "alerts", "--idle-timeout", "4", *args],
        env={**os.environ, **env},
        capture_output=True,
        timeout=120,
    )
    assert run.returncode == 0, run.stderr.decode()[-2000:]
    return run.stdout.decode().splitlines()


def test_filters_and_starting_points(
    broker_kind: str, isolated: dict[str, str], topics: Topics
) -> None:
    _, expected = fold_offline(build_folds(Settings()), CORPUS)
    _publish(isolated["DIPWATCH_BOOTSTRAP_SERVERS"], topics, expected)

    everything = _alerts_cli(isolated, "--from-beginning", "--json")
    assert sorted(json.loads(x)["alert_id"] for x in everything) == sorted(
        a.alert_id for a in expected
    )
    lines = _alerts_cli(isolated, "--from-beginning", "--dyad", "KAZ:RUS", "--rule", "summons")
    want = [a for a in expected if a.dyad == "KAZ:RUS" and a.aggregate == "summons"]
    assert len(lines) == len(want) == 3  # opened, reciprocal_announced, lapsed
    assert all("KAZ:RUS" in x and "summons." in x for x in lines)
    severe = [
        json.loads(x)
        for x in _alerts_cli(isolated, "--from-beginning", "--severity", "high", "--json")
    ]
    assert {a["alert_id"] for a in severe} == {
        a.alert_id for a in expected if a.severity.value in ("high", "critical")
    }
    if broker_kind == "kafka":  # Tansu's offsets_for_times always answers 0 (docs/BROKERS.md)
        since = datetime(2022, 10, 5, tzinfo=UTC)
        later = [json.loads(x) for x in _alerts_cli(isolated, "--since", "2022-10-05", "--json")]
        assert {a["alert_id"] for a in later} == {a.alert_id for a in expected if a.at >= since}

    # From now: only what is published after the command started.
    proc = subprocess.Popen(
        [sys.executable, "-m", "dipwatch", "alerts", "--json", "--max", "1"],
        env={**os.environ, **isolated},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        time.sleep(4)  # assigned and positioned at the end
        fresh = expected[0].model_copy(update={"alert_id": "fresh-alert-after-start"})
        _publish(isolated["DIPWATCH_BOOTSTRAP_SERVERS"], topics, [fresh])
        out, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert [json.loads(x)["alert_id"] for x in out.decode().splitlines()] == [
        "fresh-alert-after-start"
    ]
