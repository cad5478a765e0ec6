"""Garbage published straight to the events topic: the worker stays up, every invalid
record reaches the dead-letter topic with its reason and original bytes, every valid
one is applied."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.settings import Settings
from infra.topics import REASON_HEADER, SOURCE_HEADER, Topics
from schemas.codec import encode_event
from tests.helpers import event_dict, make_event, threat, worker_process
from tests.integration.kafka_io import collect_alerts, consume, produce, table_state

FAR_FUTURE = json.dumps(
    event_dict(
        event_id="from-9999",
        occurred_at="9999-01-01T00:00:00Z",
        recorded_at="9999-01-02T00:00:00Z",
    )
).encode()
FAR_FUTURE_MS = 253_370_764_800_000  # 9999-01-01


def test_a_mix_of_garbage_and_events_straight_to_the_topic(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    valid = [threat(f"ok-{i}", f"2022-10-{i + 1:02d}T00:00:00Z") for i in range(8)]
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
        # The two records that used to stop the worker for good (issue #15).
        "JSON nested 100,000 deep": (b"[" * 100_000 + b"]" * 100_000, "RecursionError"),
        "a 5,000-digit integer": (
            b'{"event_id": "big", "goldstein": ' + b"7" * 5000 + b"}",
            "4300 digits",
        ),
        # Dated in 9999 in a record stamped 9999, as `publish` stamped it before it
        # refused future dates: past the contract's last date, never folded.
        "year 9999 in a record of 9999": (FAR_FUTURE, "is not before 2200-01-01"),
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
        asyncio.run(produce(bootstrap, topics.events, records, {FAR_FUTURE: FAR_FUTURE_MS}))
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


def test_a_retraction_of_another_pairs_act_is_dead_lettered_once_the_lateness_has_passed(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    """Published straight to the topic, apart from its act, a retraction filed under
    another pair cannot be refused as it comes: the act might come after it. Once its
    pair has moved on past the lateness with no such act, it retracted nothing, and it
    goes to the dead-letter topic with that reason, as what names it: the record is at
    the offset its source header gives (folds/tombstones.py)."""
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    act = threat("act", "2022-10-01T00:00:00Z")  # KAZ:RUS
    ukraine = {
        "actor": {"country": "UKR", "kind": "government"},
        "target": {"country": "KAZ", "kind": "state"},
        "envoy": None,
    }
    wrong = make_event(
        **ukraine,
        event_id="wrong-pair",
        occurred_at="2022-10-01T00:00:00Z",
        action="statement",
        cameo="010",
        retracts="act",
    )
    start = datetime(2022, 10, 2, tzinfo=UTC)
    later = [  # KAZ:UKR moves on, 100 days
        make_event(
            **ukraine,
            event_id=f"u{d}",
            occurred_at=(start + timedelta(days=d)).isoformat(),
            action="criticize",
            cameo="111",
        )
        for d in range(0, 100, 5)
    ]
    records = [(e.dyad.encode(), encode_event(e)) for e in [act, wrong, *later]]
    with worker_process(isolated, tmp_path / "worker.log") as proc:
        asyncio.run(produce(bootstrap, topics.events, records))
        dead = asyncio.run(consume(bootstrap, topics.dead_letter, min_count=1))
        assert proc.poll() is None
    assert [json.loads(r.value) for r in dead] == [
        {
            "event_id": "wrong-pair",
            "dyad": "KAZ:UKR",
            "retracts": "act",
            "occurred_at": "2022-10-01T00:00:00+00:00",
        }
    ]
    headers = dict(dead[0].headers)
    assert "which KAZ:UKR did not hold" in headers[REASON_HEADER].decode()
    assert "nothing was retracted" in headers[REASON_HEADER].decode()
    topic, partition, offset = headers[SOURCE_HEADER].decode().rsplit(":", 2)
    events = asyncio.run(consume(bootstrap, topics.events, min_count=len(records)))
    at = [r for r in events if r.partition == int(partition) and r.offset == int(offset)]
    assert topic == topics.events and [r.value for r in at] == [encode_event(wrong)]
