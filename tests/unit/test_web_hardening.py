"""The HTTP side under a careless user and an attacker, without a broker: the aiohttp
app is served on loopback and spoken to with a real HTTP client (and a raw socket)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Sequence
from types import SimpleNamespace
from typing import Any

from aiohttp.test_utils import TestClient, TestServer

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.progress import Progress
from infra.settings import Settings
from infra.topics import Topics
from query.readmodel import ReadModel
from query.web import build_web_app, misplaced
from replay.loader import bundled_corpus, load_paths
from schemas.codec import encode_alert, encode_event
from schemas.events import DiplomaticEvent
from tests.helpers import make_event, moved_to_kyrgyzstan

TOKEN = "s3cret-token"
CORPUS = [item.event for item in load_paths([bundled_corpus()]).events]


def _serve(
    check: Callable[[TestClient[Any, Any]], Awaitable[Any]],
    progress: Progress | None = None,
    read: Sequence[DiplomaticEvent] = (),
    **overrides: Any,
) -> Any:
    """Serve the app on loopback and ``check`` it (the read model has read ``read`` from
    the events topic)."""
    settings = Settings(api_token=TOKEN, **overrides)
    model = ReadModel(build_folds(settings), Topics(), settings.app_id)
    for event in read:
        model.chart.on_event(event.dyad.encode(), encode_event(event), None)

    async def run() -> Any:
        app = build_web_app(settings, model, None, "events", progress=progress)
        async with TestClient(TestServer(app)) as client:
            return await check(client)

    return asyncio.run(run())


def test_every_response_carries_security_headers_and_no_server_version() -> None:
    async def check(client: TestClient[Any, Any]) -> Any:
        return [(await client.get(path)).headers for path in ("/", "/api/alerts", "/nope")]

    for headers in _serve(check):
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
        assert "script-src 'sha256-" in headers["Content-Security-Policy"]
        assert headers["Server"] == "dipwatch"


def test_only_a_bearer_token_opens_publishing() -> None:
    async def check(client: TestClient[Any, Any]) -> Any:
        bare = await client.post("/events", data=b"{}", headers={"Authorization": TOKEN})
        wrong = await client.post("/events", data=b"{}", headers={"Authorization": "Bearer x"})
        right = await client.post(
            "/events", data=b"{}", headers={"Authorization": f"Bearer {TOKEN}"}
        )
        return bare.status, wrong.status, right.status

    assert _serve(check) == (401, 401, 422)  # the right token reaches validation


def test_a_non_utf8_authorization_header_is_a_401_not_a_500() -> None:
    async def check(client: TestClient[Any, Any]) -> bytes:
        reader, writer = await asyncio.open_connection(client.host, client.port)
        writer.write(
            b"POST /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer \xff\xfe\r\n"
            b"Content-Length: 2\r\nConnection: close\r\n\r\n{}"
        )
        await writer.drain()
        status = await reader.readline()
        writer.close()
        return status

    assert b" 401 " in _serve(check)


def test_a_yaml_alias_bomb_is_refused_fast() -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 10) + "]" for i in range(1, 9)]
    body = "\n".join(lines).encode()

    async def check(client: TestClient[Any, Any]) -> Any:
        started = time.monotonic()
        response = await client.post(
            "/events",
            data=body,
            headers={"Authorization": f"Bearer {TOKEN}", "Content-Type": "application/yaml"},
        )
        return response.status, await response.json(), time.monotonic() - started

    status, body_json, _ = _serve(check)
    assert status == 400
    assert "aliases are not accepted" in body_json["errors"][0]["message"]


def test_query_parameters_are_checked_and_dyads_normalised() -> None:
    async def check(client: TestClient[Any, Any]) -> Any:
        negative = await client.get("/api/alerts", params={"limit": "-1"})
        zero = await client.get("/api/alerts", params={"limit": "0"})
        lower = await client.get("/api/envoys", params={"dyad": "rus:kaz"})
        bad = await client.get("/api/envoys", params={"dyad": "KAZRUS"})
        one = await client.get("/api/tension/rus:kaz")
        return negative.status, zero.status, lower.status, bad.status, one.status

    # rus:kaz is KAZ:RUS: no such dyad in an empty model, so 404, not a silent miss
    assert _serve(check) == (400, 400, 200, 400, 404)


def test_live_streams_are_capped() -> None:
    async def check(client: TestClient[Any, Any]) -> Any:
        first = await client.get("/api/alerts/stream")
        await first.content.readline()  # the stream is open and subscribed
        second = await client.get("/api/alerts/stream")
        status = second.status
        first.close()
        return first.status, status

    assert _serve(check, max_sse_clients=1) == (200, 503)


def test_the_live_stream_says_when_states_moved_after_the_alerts() -> None:
    """A worker writes the states back before it commits, after the alerts they raised:
    the stream sends a ``state`` event when changelog records arrive, so a page reloads
    them then (query/static/dashboard.html)."""
    _, alerts = fold_offline(build_folds(Settings()), CORPUS)
    settings = Settings(api_token=TOKEN)
    model = ReadModel(build_folds(settings), Topics(), settings.app_id)
    changelog = Topics().changelog(settings.app_id)

    async def run() -> list[str]:
        app = build_web_app(settings, model, None, "events", progress=None)
        async with TestClient(TestServer(app)) as client:
            stream = await client.get("/api/alerts/stream")
            await stream.content.readline()  # subscribed
            model.on_alert(encode_alert(alerts[0]))
            value = SimpleNamespace(key=b'"KAZ:RUS"', value=b'{"head": null}')
            model._on_records(changelog, [value])
            model._on_records(changelog, [])  # nothing read: nothing said
            lines = [(await stream.content.readline()).decode() for _ in range(7)]
            stream.close()
            return [line for line in lines if line.startswith("event:")]

    assert asyncio.run(run()) == ["event: alert\n", "event: state\n"]


def test_healthz_fails_when_the_agent_crashed_or_stalls_with_records_waiting() -> None:
    async def status(client: TestClient[Any, Any]) -> Any:
        response = await client.get("/healthz")
        return response.status, (await response.json())["status"]

    idle = Progress()
    assert _serve(status, idle) == (200, "ok")  # nothing waits: idle is healthy

    waiting = Progress(highwaters=lambda: {("events", 0): 10})
    waiting.batch_done({("events", 0): 4})
    assert _serve(status, waiting, stall_timeout_s=60) == (200, "ok")
    waiting.last_batch_at = waiting.reading_since = time.monotonic() - 61
    assert _serve(status, waiting, stall_timeout_s=60) == (503, "stalled")

    crashed = Progress()
    crashed.crashed = "KafkaError: broker gone"
    assert _serve(status, crashed) == (503, "crashed")


def test_metrics_are_served_in_prometheus_format() -> None:
    progress = Progress(highwaters=lambda: {("events", 3): 7})

    async def check(client: TestClient[Any, Any]) -> Any:
        response = await client.get("/metrics")
        return response.status, await response.text()

    status, text = _serve(check, progress)
    assert status == 200
    for name in ("dipwatch_events_folded_total", "dipwatch_dead_letters", "dipwatch_alerts"):
        assert name in text
    assert 'dipwatch_consumer_lag{partition="3"} 7.0' in text


def test_a_correction_the_worker_could_not_place_over_an_act_already_read_is_refused() -> None:
    """POST /events of a correction alone: the read model has read its act from the
    events topic (KAZ:RUS); folded in KGZ:RUS it would leave that act standing."""
    act = make_event(event_id="act")
    moved = moved_to_kyrgyzstan("act.r1", corrects="act")

    async def check(client: TestClient[Any, Any]) -> Any:
        auth = {"Authorization": f"Bearer {TOKEN}"}
        response = await client.post("/events", data=json.dumps(moved), headers=auth)
        return response.status, await response.json()

    status, body = _serve(check, read=[act])
    assert status == 422
    [error] = body["errors"]
    assert (error["index"], error["field"]) == (0, "corrects")
    assert error["message"].startswith(
        "corrects 'act', an act of KAZ:RUS, but is itself of KGZ:RUS"
    )
    model = ReadModel(build_folds(Settings()), Topics(), "app")
    model.chart.on_event(b"KAZ:RUS", encode_event(act), None)
    same = make_event(event_id="act.r1", corrects="act", summary="Russia summoned him again.")
    unknown = make_event(**{**moved, "corrects": "not-read"})
    assert misplaced(model, [same, unknown], 30) == []  # the act's pair, an act not read
    # Re-dated past the lateness: by then the act may be settled, and would stand.
    later = make_event(event_id="late.r1", corrects="act", occurred_at="2022-11-10T00:00:00Z")
    [error] = misplaced(model, [later], 30)
    assert error["message"].startswith(
        "corrects 'act' of 2022-10-04 but is dated 2022-11-10, 37 days apart"
    )
    assert misplaced(model, [later], 40) == []
    # An act more than the lateness behind its pair's latest event: maybe settled.
    model.chart.on_event(
        b"KAZ:RUS",
        encode_event(make_event(event_id="next", occurred_at="2022-12-01T00:00:00Z")),
        None,
    )
    [error] = misplaced(model, [same], 30)
    assert (
        "more than the allowed lateness (30 days) behind KAZ:RUS's latest event (2022-12-01)"
        in error["message"]
    )
