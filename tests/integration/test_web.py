"""The worker's HTTP side on a real broker: POST /events, the query API, the alert stream.

One worker process with the web enabled; the corpus goes in through POST /events (the
analysts' way), so the answers can be checked against the offline fold of the same events.
"""

from __future__ import annotations

import asyncio
import json
import time
import urllib.error
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer

from folds import SummonsFold, TensionFold, fold_all
from folds.envoys import EnvoysState
from folds.history import ConflictHistory, HistoryState
from folds.offline import fold_offline
from folds.registry import build_folds
from folds.summons import SummonsState
from folds.tension import TensionState
from infra.brokers.tansu import free_port
from infra.settings import Settings
from infra.topics import Topics
from query.views import envoy_rows, open_summons, tension_view
from replay.loader import bundled_corpus, load_paths
from schemas.codec import encode_event
from tests.helpers import summons_now, threat, worker_process
from tests.integration.kafka_io import consume, produce

TOKEN = "s3cret-token-for-tests"
AT = "2026-01-01T00:00:00Z"


def call(
    port: int,
    path: str,
    body: bytes | None = None,
    token: str | None = TOKEN,
    ctype: str = "application/json",
) -> tuple[int, Any]:
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body)
    if body is not None:
        request.add_header("Content-Type", ctype)
    if token is not None:
        request.add_header("Authorization", f"Bearer {token}")
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        text = exc.read().decode()
        try:
            return exc.code, json.loads(text)
        except json.JSONDecodeError:
            return exc.code, text


def wait_ready(port: int, timeout_s: float = 90) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if call(port, "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.5)
    raise AssertionError("the worker's web side never became ready")


def web_env(isolated: dict[str, str], port: int) -> dict[str, str]:
    return {
        **isolated,
        "DIPWATCH_WEB_ENABLED": "true",
        "DIPWATCH_WEB_PORT": str(port),
        "DIPWATCH_API_TOKEN": TOKEN,
        "DIPWATCH_MAX_BODY_BYTES": str(256 * 1024),
    }


def _history_of(dyad: str, events: list[Any]) -> HistoryState:
    value, _ = fold_all(ConflictHistory(), dyad, [e for e in events if e.dyad == dyad])
    if value is None:  # no conflict act: the history is empty, as the fold starts it
        return ConflictHistory().initial(dyad)
    return HistoryState.model_validate(value["state"])


def expected_views(events: list[Any]) -> dict[str, Any]:
    """What the API must answer, computed from the offline fold of the same events."""
    states, alerts = fold_offline(build_folds(Settings()), events)
    today = datetime.fromisoformat(AT)
    history = ConflictHistory()
    tension = {}
    for d, v in states["tension"].items():
        state = TensionState.model_validate(v["state"])
        points = history.points(_history_of(d, events), state.as_of)
        tension[d] = tension_view(TensionFold(), state, points, today)
    summons = [
        c
        for _, v in sorted(states["summons"].items())
        for c in open_summons(SummonsFold(), SummonsState.model_validate(v["state"]), today)
    ]
    envoys = [
        r
        for _, v in sorted(states["envoys"].items())
        for r in envoy_rows(EnvoysState.model_validate(v["state"]))
    ]
    return {"tension": tension, "summons": summons, "envoys": envoys, "alerts": alerts}


def api_answers(port: int, dyads: list[str]) -> dict[str, Any]:
    return {
        "tension": {d: call(port, f"/api/tension/{d}?at={AT}")[1] for d in dyads},
        "summons": call(port, f"/api/summons?at={AT}")[1]["open"],
        "envoys": call(port, "/api/envoys")[1]["envoys"],
    }


def test_publish_over_http_then_query_and_stream(isolated: dict[str, str], tmp_path: Path) -> None:
    port = free_port()
    corpus = [item.event for item in load_paths([bundled_corpus()]).events]
    raw = [json.loads(e.model_dump_json()) for e in corpus]
    expected = expected_views(corpus)
    log_path = tmp_path / "worker.log"
    with worker_process(web_env(isolated, port), log_path):
        wait_ready(port)
        # Refusals first: nothing of these may reach the log.
        assert call(port, "/events", json.dumps(raw[0]).encode(), token=None)[0] == 401
        assert call(port, "/events", json.dumps(raw[0]).encode(), token="wrong")[0] == 401
        assert call(port, "/events", b"x" * (300 * 1024))[0] == 413
        bad = dict(raw[0], goldstein="very", actor={"country": "ZZZ", "kind": "state"})
        status, body = call(port, "/events", json.dumps([raw[1], bad]).encode())
        assert status == 422
        assert {(e["index"], e["field"].split(".")[0]) for e in body["errors"]} >= {
            (1, "goldstein"),
            (1, "actor"),
        }
        assert call(port, "/events", b"{not json")[0] == 400
        # The corpus, in two posts (JSON, then YAML): all 48 accepted.
        half = len(raw) // 2
        status, body = call(port, "/events", json.dumps(raw[:half]).encode())
        assert status == 202 and body["accepted"] == half
        import yaml

        status, body = call(
            port, "/events", yaml.safe_dump(raw[half:]).encode(), ctype="application/yaml"
        )
        assert status == 202 and body["accepted"] == len(raw) - half
        dyads = sorted(expected["tension"])
        deadline = time.monotonic() + 60
        while len(call(port, "/api/alerts?limit=1000")[1]["alerts"]) < len(expected["alerts"]):
            assert time.monotonic() < deadline, "alerts did not reach the read model"
            time.sleep(0.5)
        # The states follow the alerts: written back before the commit that covers them,
        # within DIPWATCH_CAUGHT_UP_COMMIT_S of the worker catching up.
        wanted = {k: expected[k] for k in ("tension", "summons", "envoys")}
        deadline = time.monotonic() + 30
        while (answers := api_answers(port, dyads)) != wanted and time.monotonic() < deadline:
            time.sleep(0.25)
        assert answers == wanted
        # A correction of a corpus act, read from the events topic, about another pair:
        # refused, naming the act's pair (it would leave that act standing there).
        act = next(
            e
            for e in raw
            if e["envoy"] is None and "POL" not in (e["actor"]["country"], e["target"]["country"])
        )
        moved = dict(act, event_id="moved.r1", corrects=act["event_id"])
        moved["target"] = dict(act["target"], country="POL")
        status, body = call(port, "/events", json.dumps(moved).encode())
        assert status == 422 and body["errors"][0]["field"] == "corrects", body
        assert f"an act of {corpus[raw.index(act)].dyad}" in body["errors"][0]["message"]
        got = call(port, "/api/alerts?limit=1000")[1]["alerts"]
        assert {a["alert_id"] for a in got} == {a.alert_id for a in expected["alerts"]}
        assert call(port, "/api/alerts?rule=summons&dyad=KAZ:RUS")[1]["alerts"][0][
            "rule"
        ].startswith("summons.")
        assert call(port, "/api/tension/XXX:YYY")[0] == 404
        delays = asyncio.run(_stream_delay(port, isolated))
    log = log_path.read_text()
    assert TOKEN not in log and "wrong" not in log
    print(f"\nSSE: alert on the topic -> on the stream: {delays * 1000:.0f} ms")
    assert delays < 1.0


async def _stream_delay(port: int, isolated: dict[str, str]) -> float:
    """POST an event that raises an alert; return topic arrival -> SSE arrival, seconds."""
    from infra.topics import Topics

    topics = Topics(isolated["DIPWATCH_TOPIC_PREFIX"])
    consumer = AIOKafkaConsumer(
        *topics.all_alerts,
        bootstrap_servers=isolated["DIPWATCH_BOOTSTRAP_SERVERS"],
        group_id=None,
        auto_offset_reset="latest",
        fetch_max_wait_ms=50,
    )
    await consumer.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /api/alerts/stream HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b": dipwatch alerts\n\n")
    try:
        await asyncio.sleep(1.0)  # the consumer's partitions are assigned
        fresh = summons_now("live-summons-1", "POL", "RUS", "Test Envoy")
        status, _ = await asyncio.to_thread(call, port, "/events", json.dumps(fresh).encode())
        assert status == 202

        async def on_topic() -> float:
            while True:
                batch = await consumer.getmany(timeout_ms=100)
                if any(batch.values()):
                    return time.monotonic()

        async def on_stream() -> float:
            await reader.readuntil(b"event: alert\n")
            return time.monotonic()

        topic_at, stream_at = await asyncio.wait_for(asyncio.gather(on_topic(), on_stream()), 30)
        return max(stream_at - topic_at, 0.0)
    finally:
        writer.close()
        await consumer.stop()


def test_the_chart_leaves_out_what_the_worker_refused_as_too_late(
    isolated: dict[str, str], topics: Topics, tmp_path: Path
) -> None:
    """A threat published straight to the events topic 48 days behind its pair: the
    worker dead-letters it as too late, and the chart the API serves, which the read
    model folds from the events topic, takes it back out (it follows the dead letters)."""
    port = free_port()
    start = datetime(2023, 1, 2, tzinfo=UTC)
    pair = [threat(f"n{d}", (start + timedelta(days=d)).isoformat()) for d in range(0, 200, 9)]
    late = threat("late", (start + timedelta(days=150)).isoformat())  # 48 days behind
    records = [(e.dyad.encode(), encode_event(e)) for e in [*pair, late]]
    history = ConflictHistory()
    with worker_process(web_env(isolated, port), tmp_path / "worker.log"):
        wait_ready(port)
        bootstrap = isolated["DIPWATCH_BOOTSTRAP_SERVERS"]
        asyncio.run(produce(bootstrap, topics.events, records))
        dead = asyncio.run(consume(bootstrap, topics.dead_letter, min_count=1))
        assert [json.loads(r.value)["event_id"] for r in dead] == ["late"]
        until = start + timedelta(days=198)  # the pair's watermark: its latest event

        def chart(events: list[Any]) -> list[dict[str, Any]]:
            points = history.points(_history_of("KAZ:RUS", events), until)
            return [{"at": at.isoformat(), "conflict": v} for at, v in points]

        want = chart(pair)
        assert chart(sorted([*pair, late], key=lambda e: e.occurred_at)) != want  # in time
        deadline, got = time.monotonic() + 60, None
        while time.monotonic() < deadline:
            got = call(port, f"/api/tension/KAZ:RUS?at={AT}")[1]["history"]
            if got == want:
                break
            time.sleep(1)
        assert got == want
