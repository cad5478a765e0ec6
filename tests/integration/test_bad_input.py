"""Garbage published straight to the events topic: the worker stays up, every invalid
record reaches the dead-letter topic with its reason and original bytes, every valid
one is applied."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from infra.settings import Settings
from infra.topics import REASON_HEADER, SOURCE_HEADER, Topics
from schemas.codec import encode_event
from streams.folds.offline import fold_offline
from streams.folds.registry import build_folds
from tests.helpers import event_dict, threat, worker_process
from tests.integration.kafka_io import collect_alerts, consume, produce, table_state


def test_a_mix_of_garbage_and_events_straight_to_the_topic(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    valid = [threat(f"ok-{i}", f"2022-10-{i + 1:02d}T00:00:00Z") for i in range(5)]
    unkeyed = threat("ok-unkeyed", "2022-10-09T00:00:00Z")
    invalid: dict[str, tuple[bytes, str]] = {
        "not JSON": (b"\x00\xffnot json {", "not JSON"),
        "wrong schema": (
            json.dumps({"event_id": "x", "action": "summon"}).encode(),
            "occurred_at: Field required",
        ),
        "unknown country": (
            json.dumps(event_dict(event_id="bad-country", actor={"country": "XYZ"})).encode(),
            "XYZ",
        ),
        "1 MB value": (b'{"pad": "' + b"x" * 999_980 + b'"}', "over the"),
        "date in the future": (
            json.dumps(
                event_dict(
                    event_id="from-2099",
                    occurred_at="2099-01-01T00:00:00Z",
                    recorded_at="2099-01-02T00:00:00Z",
                )
            ).encode(),
            "in the future of its record",
        ),
        "unknown schema_version": (
            json.dumps(event_dict(event_id="v9", schema_version=9)).encode(),
            "schema_version: 9",
        ),
    }
    records: list[tuple[bytes | None, bytes]] = []
    for i, event in enumerate(valid):
        records.append((b"KAZ:RUS", encode_event(event)))
        if i < len(invalid):
            records.append((b"KAZ:RUS", list(invalid.values())[i][0]))
    records.append((b"KAZ:RUS", list(invalid.values())[-1][0]))
    records.append((None, encode_event(unkeyed)))  # no key: valid, re-keyed, applied
    applied = [*valid, unkeyed]
    _, expected = fold_offline(build_folds(Settings()), applied)

    with worker_process(isolated, tmp_path / "worker.log") as proc:
        asyncio.run(produce(bootstrap, topics.events, records))
        got = asyncio.run(
            collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected})
        )
        dead = asyncio.run(consume(bootstrap, topics.dead_letter, min_count=len(invalid)))
        state = asyncio.run(
            table_state(bootstrap, isolated["DIPWATCH_APP_ID"], "tension-state", min_keys=1)
        )
        assert proc.poll() is None, "the worker died on bad input"

    assert {a.alert_id for a in got} == {a.alert_id for a in expected}
    assert state["KAZ:RUS"]["state"]["events"] == len(applied), "every valid event applied"
    assert len(dead) == len(invalid), "each invalid record dead-lettered once"
    by_value = {r.value: dict(r.headers) for r in dead}
    for name, (raw, reason) in invalid.items():
        assert raw in by_value, f"{name}: original bytes not on the dead-letter topic"
        headers = by_value[raw]
        assert reason in headers[REASON_HEADER].decode(), (name, headers[REASON_HEADER])
        assert headers[SOURCE_HEADER].decode().startswith(f"{topics.events}:")
