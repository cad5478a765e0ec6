"""The worker's HTTP side: query API, dashboard, live alert feed and ``POST /events``.

Served with aiohttp (Faust's own web stack is built on it) from a service started with
the Faust app. Every answer comes from the :class:`~query.readmodel.ReadModel`, so
any worker gives the same answer, whichever partitions it owns.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from importlib import resources
from typing import Any

from aiohttp import web
from aiokafka.errors import KafkaError
from prometheus_client import generate_latest

from folds.envoys import EnvoysState
from folds.summons import SummonsFold, SummonsState
from folds.tension import TensionFold, TensionState
from infra import metrics
from infra.clients import send_event, send_tick
from infra.logs import get_logger
from infra.progress import Progress
from infra.settings import Settings
from query.readmodel import ReadModel
from query.views import (
    alert_view,
    envoy_rows,
    lapsed_summons,
    open_summons,
    state_rows,
    tension_summary,
    tension_view,
)
from schemas.alerts import Severity
from schemas.errors import InvalidRecord
from schemas.events import DiplomaticEvent, check_replaces, parse_dyad
from schemas.filters import AlertFilter
from schemas.intake import IntakeRefused, parse_document, validate_events

__all__ = ["build_web_app"]

log = get_logger(__name__)

_MODEL: web.AppKey[ReadModel] = web.AppKey("model", ReadModel)
_SETTINGS: web.AppKey[Settings] = web.AppKey("settings", Settings)
_PUBLISH: web.AppKey[Any] = web.AppKey("publish", object)
_ASSIGNED: web.AppKey[Any] = web.AppKey("assigned", object)
_PROGRESS: web.AppKey[Progress] = web.AppKey("progress", Progress)
_KEEPALIVE_S = 15.0


def _json(data: Any, status: int = 200) -> web.Response:
    return web.json_response(data, status=status, dumps=lambda d: json.dumps(d, ensure_ascii=False))


def _today(request: web.Request) -> datetime:
    """``?at=`` (ISO date) or the wall clock: projections are as of a day, not a log."""
    at = request.query.get("at")
    if not at:
        return datetime.now(UTC)
    try:
        parsed = datetime.fromisoformat(at)
    except ValueError:
        raise web.HTTPBadRequest(text=f"at: not an ISO date: {at!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _dyads(request: web.Request) -> set[str] | None:
    """The ``?dyad=`` filters, normalised (``rus:kaz`` is ``KAZ:RUS``); 400 if malformed."""
    try:
        return {parse_dyad(d) for d in request.query.getall("dyad", [])} or None
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"dyad: {exc}") from None


def _tension_fold(model: ReadModel) -> TensionFold:
    fold = model.folds["tension"]
    assert isinstance(fold, TensionFold)
    return fold


async def tension_list(request: web.Request) -> web.Response:
    """GET /api/tension[?dyad=…][&at=…]: every dyad's level, score and projection."""
    model, wanted, today = request.app[_MODEL], _dyads(request), _today(request)
    fold = _tension_fold(model)
    rows = [
        tension_summary(fold, state, today)
        for dyad, state in model.states["tension"].items()
        if isinstance(state, TensionState) and (wanted is None or dyad in wanted)
    ]
    rows.sort(key=lambda r: (-r["current"]["conflict"], r["dyad"]))
    return _json({"dyads": rows})


async def tension_one(request: web.Request) -> web.Response:
    """GET /api/tension/{dyad}: the summary plus the weekly history points."""
    model = request.app[_MODEL]
    try:
        dyad = parse_dyad(request.match_info["dyad"])
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"dyad: {exc}") from None
    state = model.states["tension"].get(dyad)
    if not isinstance(state, TensionState):
        raise web.HTTPNotFound(text=f"no events for dyad {dyad!r} (form: KAZ:RUS, sorted)")
    history = model.history_points(dyad, state.as_of)
    return _json(tension_view(_tension_fold(model), state, history, _today(request)))


async def summons(request: web.Request) -> web.Response:
    """GET /api/summons[?dyad=…]: open summons cases, and the latest lapsed ones apart."""
    model, wanted, today = request.app[_MODEL], _dyads(request), _today(request)
    fold = model.folds["summons"]
    assert isinstance(fold, SummonsFold)
    states = [
        state
        for dyad, state in sorted(model.states["summons"].items())
        if isinstance(state, SummonsState) and (wanted is None or dyad in wanted)
    ]
    cases = [case for state in states for case in open_summons(fold, state, today)]
    lapsed = [case for state in states for case in lapsed_summons(state)]
    return _json({"open": cases, "lapsed": lapsed})


async def envoys(request: web.Request) -> web.Response:
    """GET /api/envoys[?dyad=…]: the envoy board."""
    model, wanted = request.app[_MODEL], _dyads(request)
    rows = [
        row
        for dyad, state in sorted(model.states["envoys"].items())
        if isinstance(state, EnvoysState) and (wanted is None or dyad in wanted)
        for row in envoy_rows(state)
    ]
    return _json({"envoys": rows})


async def aggregate_states(request: web.Request) -> web.Response:
    """GET /api/state/{aggregate}[?dyad=…]: any aggregate's state per dyad, as stored."""
    model, wanted = request.app[_MODEL], _dyads(request)
    name = request.match_info["aggregate"]
    if name not in model.states:
        known = ", ".join(sorted(model.states))
        raise web.HTTPNotFound(text=f"no aggregate {name!r} (known: {known})")
    return _json({name: state_rows(model.states[name], wanted)})


async def alerts(request: web.Request) -> web.Response:
    """GET /api/alerts[?dyad=…&rule=…&severity=…&limit=…]: recent alerts, newest event
    time first; the filters of ``dipwatch alerts``."""
    model = request.app[_MODEL]
    try:
        limit = min(int(request.query.get("limit", "100")), model.max_alerts)
        if limit < 1:
            raise ValueError(f"limit must be at least 1, not {limit}")
        wanted = AlertFilter(
            dyads=frozenset(_dyads(request) or ()),
            rules=frozenset(request.query.getall("rule", [])),
            min_severity=Severity(request.query.get("severity", "info")),
        )
    except ValueError as exc:
        raise web.HTTPBadRequest(text=f"limit or severity: {exc}") from None
    rows = [
        alert_view(a, model.withdrawn.get(a.alert_id)) for a in model.alerts() if wanted.accepts(a)
    ]
    return _json({"alerts": rows[:limit]})


async def alert_stream(request: web.Request) -> web.StreamResponse:
    """GET /api/alerts/stream: server-sent events, one ``alert`` event per new alert,
    and a ``state`` event when dyads' states moved (reload ``/api/dyads`` and boards)."""
    model = request.app[_MODEL]
    if model.subscribers >= request.app[_SETTINGS].max_sse_clients:
        raise web.HTTPServiceUnavailable(text="too many live alert streams; retry later")
    response = web.StreamResponse(
        headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    await response.write(b": dipwatch alerts\n\n")
    with model.subscribe() as queue:
        while model.subscribed(queue):
            try:
                alert = await asyncio.wait_for(queue.get(), _KEEPALIVE_S)
            except TimeoutError:
                await response.write(b": keepalive\n\n")
                continue
            if alert is None:
                await response.write(b"event: state\ndata: {}\n\n")
                continue
            body = json.dumps(alert_view(alert), ensure_ascii=False)
            await response.write(f"id: {alert.alert_id}\nevent: alert\ndata: {body}\n\n".encode())
    return response


async def health(request: web.Request) -> web.Response:
    """GET /healthz: the fold agent is alive — not crashed, and not stalled (no batch
    for ``stall_timeout_s`` while records wait on its partitions). 503 otherwise."""
    progress: Progress = request.app[_PROGRESS]
    lag = {f"{t}:{p}": n for (t, p), n in progress.lag().items()}
    body: dict[str, Any] = {"lag": lag, "partitions": request.app[_ASSIGNED]()}
    if progress.crashed is not None:
        return _json({"status": "crashed", "reason": progress.crashed, **body}, 503)
    stalled = progress.stalled_for()
    if stalled > request.app[_SETTINGS].stall_timeout_s:
        return _json({"status": "stalled", "stalled_s": round(stalled, 1), **body}, 503)
    return _json({"status": "ok", **body})


async def ready(request: web.Request) -> web.Response:
    """GET /readyz: 200 once the read model has caught up with the topics (the API's
    answers are then complete); the dyads it holds."""
    model = request.app[_MODEL]
    ready = model.caught_up.is_set()
    counts = {name: len(states) for name, states in model.states.items()}
    return _json({"ready": ready, "dyads": counts}, 200 if ready else 503)


async def metrics_page(request: web.Request) -> web.Response:
    """GET /metrics: Prometheus text format."""
    progress: Progress = request.app[_PROGRESS]
    for (_, partition), lag in progress.lag().items():
        metrics.LAG.labels(str(partition)).set(lag)
    return web.Response(body=generate_latest(metrics.REGISTRY), content_type="text/plain")


def _bearer(request: web.Request) -> bytes | None:
    """The token of an ``Authorization: Bearer <token>`` header; None if absent or not
    of that form (a bare token, another scheme, bytes that are not text)."""
    header = request.headers.get("Authorization", "")
    if not header.startswith("Bearer "):
        return None
    try:
        return header.removeprefix("Bearer ").encode("utf-8")
    except UnicodeEncodeError:  # aiohttp keeps undecodable bytes as surrogates
        return None


def _parse_and_validate(body: bytes, yaml_ok: bool, lateness: float) -> list[DiplomaticEvent]:
    """The CPU-bound part of a POST, run off the event loop."""
    document = parse_document(body, yaml_allowed=yaml_ok)
    return validate_events(document, "body", now=datetime.now(UTC), lateness_days=lateness)


def misplaced(
    model: ReadModel, events: list[DiplomaticEvent], lateness_days: float
) -> list[dict[str, Any]]:
    """The retractions and corrections of acts already read from the events topic that
    the worker could not put in their act's place, as a 422's errors: of another pair
    or dated too far from the act (``check_replaces``; the act's day is known, not its
    time: a day's slack), or of an act more than the lateness behind its pair's latest
    event, which the worker may have settled (it would stand beside a correction)."""
    errors = []
    for index, event in enumerate(events):
        act = event.retracts or event.corrects
        known = model.act_of(act) if act is not None else None
        if known is None:
            continue
        dyad, day, latest = known
        field = "retracts" if event.retracts else "corrects"
        try:
            check_replaces(event, dyad, day, lateness_days + 1)
            if day < latest - timedelta(days=lateness_days):
                reason = (
                    f"{field} {act!r} of {day.date()}, more than the allowed lateness "
                    f"({lateness_days:g} days) behind {dyad}'s latest event ({latest.date()}): "
                    "the worker may have settled it, and would leave it standing; a review "
                    "of old acts is a replay with a larger DIPWATCH_ALLOWED_LATENESS_DAYS"
                )
                raise InvalidRecord(reason, ((field, reason),))
        except InvalidRecord as exc:
            errors += [{"index": index, "field": f, "message": m} for f, m in exc.fields]
    return errors


async def post_events(request: web.Request) -> web.Response:
    """POST /events (Bearer token): one event, a list, or {"events": [...]}; all or none."""
    settings = request.app[_SETTINGS]
    if settings.api_token is None:
        raise web.HTTPServiceUnavailable(text="publishing is off: set DIPWATCH_API_TOKEN")
    given = _bearer(request)
    if given is None or not hmac.compare_digest(
        given, settings.api_token.get_secret_value().encode()
    ):
        log.warning("publish_refused_token", remote=request.remote)
        raise web.HTTPUnauthorized(text="a valid token is required: Authorization: Bearer …")
    body = await request.read()  # over client_max_size: 413 from aiohttp
    yaml_ok = "yaml" in request.content_type
    try:
        events = await asyncio.to_thread(
            _parse_and_validate, body, yaml_ok, settings.allowed_lateness_days
        )
    except IntakeRefused as exc:
        errors = [{"index": e.index, "field": e.field, "message": e.message} for e in exc.errors]
        log.info("publish_refused_invalid", remote=request.remote, errors=len(errors))
        return _json({"errors": errors}, 422)
    except InvalidRecord as exc:
        return _json({"errors": [{"index": 0, "field": "body", "message": exc.reason}]}, 400)
    refused = misplaced(request.app[_MODEL], events, settings.allowed_lateness_days)
    if refused:
        log.info("publish_refused_invalid", remote=request.remote, errors=len(refused))
        return _json({"errors": refused}, 422)
    try:
        await request.app[_PUBLISH](events)
    except KafkaError as exc:
        # Some may have gone out; event ids make a retry of the whole body harmless.
        log.warning("publish_failed", remote=request.remote, error=str(exc))
        raise web.HTTPServiceUnavailable(
            text=f"the broker did not acknowledge the events ({exc}); retry the same body"
        ) from None
    log.info("events_published", remote=request.remote, event_ids=[e.event_id for e in events])
    return _json({"accepted": len(events), "event_ids": [e.event_id for e in events]}, 202)


async def dashboard(_: web.Request) -> web.Response:
    """GET /: the dashboard page (static; it reads the JSON API and the alert stream)."""
    page = resources.files("query").joinpath("static/dashboard.html").read_text()
    return web.Response(text=page, content_type="text/html")


#: Sent with every response: no sniffing, no framing, no referrer; the page loads only
#: its own inline script (by hash) and talks only to its own origin.
_SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
}


def _dashboard_csp() -> str:
    page = resources.files("query").joinpath("static/dashboard.html").read_text()
    script = page.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return (
        f"default-src 'self'; script-src 'sha256-{digest}'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    )


def build_web_app(
    settings: Settings,
    model: ReadModel,
    producer: Any,
    topic: str,
    assigned: Callable[[], list[int]] = list,
    progress: Progress | None = None,
) -> web.Application:
    """Return the aiohttp application; ``producer`` publishes POSTed events to ``topic``;
    ``assigned`` tells which of its partitions this worker folds and ``progress`` how its
    fold agent fares (for /healthz and /metrics)."""
    app = web.Application(client_max_size=settings.max_body_bytes)
    app[_MODEL] = model
    app[_SETTINGS] = settings
    app[_ASSIGNED] = assigned
    app[_PROGRESS] = progress or Progress()
    csp = _dashboard_csp()

    async def harden(_: web.Request, response: web.StreamResponse) -> None:
        response.headers.update(_SECURITY_HEADERS)
        response.headers["Content-Security-Policy"] = csp
        response.headers["Server"] = "dipwatch"  # not aiohttp's name and version

    app.on_response_prepare.append(harden)

    async def publish(events: list[DiplomaticEvent]) -> None:
        futures = [await send_event(producer, topic, e) for e in sorted(events, key=_order)]
        for future in futures:
            await future
        if events:  # event time has reached the latest posted act, in every partition
            await send_tick(producer, topic, max(e.occurred_at for e in events))

    app[_PUBLISH] = publish
    app.add_routes(
        [
            web.get("/", dashboard),
            web.get("/healthz", health),
            web.get("/readyz", ready),
            web.get("/metrics", metrics_page),
            web.get("/api/tension", tension_list),
            web.get("/api/tension/{dyad}", tension_one),
            web.get("/api/summons", summons),
            web.get("/api/envoys", envoys),
            web.get("/api/state/{aggregate}", aggregate_states),
            web.get("/api/alerts", alerts),
            web.get("/api/alerts/stream", alert_stream),
            web.post("/events", post_events),
        ]
    )
    return app


def _order(event: DiplomaticEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.event_id)
