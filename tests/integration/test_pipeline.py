"""The contract suite: the same tests against whichever broker the session runs.

Every test talks to a real Kafka-protocol broker over TCP, with real worker processes.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.clients import event_producer, send_tick
from infra.settings import Settings
from infra.topics import REASON_HEADER, SOURCE_HEADER, Topics
from replay.loader import bundled_corpus, load_paths
from schemas.codec import decode_alert, encode_event
from schemas.ticks import TICK_KEY, parse_tick
from tests.helpers import make_event, retraction, standing, threat, worker_process
from tests.integration.kafka_io import collect_alerts, consume, produce, table_state


def _replay(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipwatch", "replay", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _corpus_reference() -> tuple[dict, list]:  # type: ignore[type-arg]
    events = [item.event for item in load_paths([bundled_corpus()]).events]
    return fold_offline(build_folds(Settings()), events)


def test_published_event_raises_alert_with_the_folds_content(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    events = [
        make_event(
            event_id="s1",
            occurred_at="2022-10-04T00:00:00Z",
            action="demand",
            cameo="100",
            envoy=None,
            target={"country": "KAZ", "kind": "state"},
        ),
        threat("s2", "2022-10-04T06:00:00Z"),
    ]
    _, expected = fold_offline(build_folds(Settings()), events)
    assert [(a.rule, a.figures["to_level"]) for a in expected] == [("tension.level_up", "elevated")]
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    with worker_process(isolated, tmp_path / "worker.log"):
        asyncio.run(
            produce(bootstrap, topics.events, [(e.dyad.encode(), encode_event(e)) for e in events])
        )
        got = asyncio.run(
            collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected})
        )
    assert sorted(got, key=lambda a: a.alert_id) == sorted(expected, key=lambda a: a.alert_id)


def test_replay_then_consume_gives_the_same_events_in_event_time_order(
    isolated: dict[str, str], topics: Topics
) -> None:
    result = _replay(isolated)
    assert result.returncode == 0, result.stderr
    assert "48 published" in result.stdout or "published" in result.stdout
    corpus = [item.event for item in load_paths([bundled_corpus()]).events]
    records = asyncio.run(
        consume(
            isolated["DIPWATCH_BOOTSTRAP_SERVERS"],
            topics.events,
            min_count=len(corpus) + topics.partitions,
            ticks=True,
        )
    )
    ticks = [r for r in records if r.key == TICK_KEY]
    # The replay ends with one tick per partition, at the corpus's latest event time.
    assert sorted(r.partition for r in ticks) == list(range(topics.partitions))
    assert {parse_tick(r.value) for r in ticks} == {corpus[-1].occurred_at}
    records = [r for r in records if r.key != TICK_KEY]
    assert len(records) == len(corpus)
    for record in records:
        value = json.loads(record.value)
        assert record.key.decode() == ":".join(
            sorted((value["actor"]["country"], value["target"]["country"]))
        )
        assert record.timestamp == int(
            corpus[0].__class__.model_validate(value).occurred_at.timestamp() * 1000
        )
    by_partition: dict[int, list[str]] = {}
    for record in sorted(records, key=lambda r: (r.partition, r.offset)):
        by_partition.setdefault(record.partition, []).append(json.loads(record.value)["event_id"])
    order = {e.event_id: i for i, e in enumerate(corpus)}
    for ids in by_partition.values():
        assert [order[i] for i in ids] == sorted(order[i] for i in ids)


def test_streaming_the_corpus_twice_gives_exactly_the_offline_state_and_alerts(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    state, expected = _corpus_reference()
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    with worker_process(isolated, tmp_path / "worker.log"):
        assert _replay(isolated).returncode == 0
        assert _replay(isolated).returncode == 0  # a second replay must not double anything
        got = asyncio.run(
            collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected})
        )
        app_id = isolated["DIPWATCH_APP_ID"]
        streamed = {
            name: asyncio.run(table_state(bootstrap, app_id, f"{name}-state", len(values)))
            for name, values in state.items()
        }
    assert len(got) == len(expected), "no alert lost, none doubled"
    assert {a.alert_id: a for a in got} == {a.alert_id: a for a in expected}
    assert set(state) == {"tension", "summons", "envoys"}
    assert streamed == state


def test_invalid_records_go_to_the_dead_letter_topic_and_the_worker_keeps_running(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    garbage = [b"not json at all", b'{"event_id": "x"}', json.dumps({"schema_version": 9}).encode()]
    good = threat("after-garbage")
    _, expected = fold_offline(build_folds(Settings()), [good])
    with worker_process(isolated, tmp_path / "worker.log") as proc:
        asyncio.run(
            produce(
                bootstrap,
                topics.events,
                [(b"KAZ:RUS", g) for g in garbage] + [(b"KAZ:RUS", encode_event(good))],
            )
        )
        got = asyncio.run(
            collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected})
        )
        dead = asyncio.run(consume(bootstrap, topics.dead_letter, min_count=len(garbage)))
        assert proc.poll() is None, "the worker is still running"
    assert {a.alert_id for a in got} == {a.alert_id for a in expected}
    assert sorted(r.value for r in dead) == sorted(garbage), "original bytes kept"
    for record in dead:
        headers = dict(record.headers)
        assert headers[REASON_HEADER] and headers[SOURCE_HEADER].startswith(topics.events.encode())
    reasons = sorted(dict(r.headers)[REASON_HEADER].decode() for r in dead)
    assert any("not JSON" in r for r in reasons) and any(
        "schema_version: 9 is newer" in r for r in reasons
    )


def test_mis_keyed_record_is_rekeyed_to_its_dyad_and_applied_once(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    event = threat("no-key")
    _, expected = fold_offline(build_folds(Settings()), [event])
    with worker_process(isolated, tmp_path / "worker.log"):
        asyncio.run(produce(bootstrap, topics.events, [(None, encode_event(event))]))
        got = asyncio.run(
            collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected})
        )
    assert [a.alert_id for a in got] == [a.alert_id for a in expected]


def test_skip_invalid_sends_bad_lines_to_the_dead_letter_topic_and_publishes_the_rest(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    good = make_event(event_id="good-line")
    path = tmp_path / "mixed.jsonl"
    path.write_text(encode_event(good).decode() + "\n{broken\n", encoding="utf-8")
    refused = _replay(isolated, str(path))
    assert refused.returncode == 1 and f"{path}:2: not JSON" in refused.stderr
    result = _replay(isolated, str(path), "--skip-invalid")
    assert result.returncode == 0, result.stderr
    assert "1 published, 1 invalid skipped" in result.stdout
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
    dead = asyncio.run(consume(bootstrap, topics.dead_letter, min_count=1))
    published = asyncio.run(consume(bootstrap, topics.events, min_count=1))
    assert [r.value for r in dead] == [b"{broken"]
    assert dict(dead[0].headers)[REASON_HEADER].decode().startswith(f"{path}:2: not JSON")
    assert [json.loads(r.value)["event_id"] for r in published] == ["good-line"]


def test_the_corpus_out_of_order_through_the_broker_stands_as_the_sorted_log(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    """The corpus delivered out of order — each event up to 30 days (the allowed
    lateness) late, plus a retraction — through a real worker: once every partition has
    had its closing tick, the state and the standing alerts (raised, less withdrawn) are
    those of the sorted log without the retracted act."""
    corpus = [item.event for item in load_paths([bundled_corpus()]).events]
    rnd = random.Random(14)
    delayed = sorted(corpus, key=lambda e: e.occurred_at + timedelta(days=rnd.uniform(0, 30)))
    victim = next(e for e in corpus if e.event_id == "kz-2022-10-05-summons-russian-ambassador")
    retracted = retraction("review-retracts-announced-summons", victim)
    arrived = [*delayed, retracted]
    assert [e.event_id for e in arrived[:-1]] != [e.event_id for e in corpus]  # out of order
    kept = [e for e in corpus if e is not victim]
    state, expected = fold_offline(build_folds(Settings()), kept, until=corpus[-1].occurred_at)
    bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]

    async def publish() -> None:
        await produce(
            bootstrap, topics.events, [(e.dyad.encode(), encode_event(e)) for e in arrived]
        )
        producer = event_producer(bootstrap)
        await producer.start()
        try:
            await send_tick(producer, topics.events, corpus[-1].occurred_at)
        finally:
            await producer.stop()

    with worker_process(isolated, tmp_path / "worker.log"):
        asyncio.run(publish())
        asyncio.run(collect_alerts(bootstrap, topics.all_alerts, {a.alert_id for a in expected}))
        got = [
            decode_alert(r.value)
            for topic in topics.all_alerts
            for r in asyncio.run(consume(bootstrap, topic, idle_s=5))
        ]
    withdrawn = [a for a in got if a.withdraws]
    print(f"\nout of order: {len(got)} alerts delivered, {len(withdrawn)} withdrawals")
    assert withdrawn, "a late event and a retraction must have withdrawn something"
    # Per topic partition the order is the worker's: a withdrawal follows what it withdraws.
    assert standing(got) == standing(expected)
    streamed = {
        name: asyncio.run(
            table_state(bootstrap, isolated["DIPWATCH_APP_ID"], f"{name}-state", len(values))
        )
        for name, values in state.items()
    }
    assert streamed == state
