"""What every ``dipwatch`` command shares: settings, failing with a reason, options."""

from __future__ import annotations

import math
from datetime import UTC, datetime
from typing import NoReturn

import typer

from infra.connection import Connection
from infra.logs import configure_logging
from infra.runtime import tune_gc
from infra.settings import Settings
from schemas.errors import DipwatchError
from schemas.events import parse_dyad

__all__ = [
    "KAFKA_EPOCH",
    "connection_of",
    "fail",
    "load_settings",
    "parse_date",
    "parse_dyads",
    "parse_speed",
]


def load_settings() -> Settings:
    try:
        settings = Settings()
    except Exception as exc:  # pydantic's ValidationError: say which variable
        fail(f"invalid DIPWATCH_* setting: {exc}")
    configure_logging(settings.log_level, settings.log_format)
    tune_gc(settings.gc_threshold)
    return settings


def fail(message: str, code: int = 2) -> NoReturn:
    typer.secho(f"dipwatch: error: {message}", err=True, fg=typer.colors.RED)
    raise typer.Exit(code)


def parse_date(value: str | None) -> datetime | None:
    if value is None:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        fail(f"not an ISO date or datetime: {value!r}")
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


#: Kafka record timestamps count milliseconds from the Unix epoch.
KAFKA_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def parse_dyads(values: list[str] | None) -> tuple[str, ...]:
    """``--dyad`` values as dyad keys (``rus:kaz`` means ``KAZ:RUS``)."""
    try:
        return tuple(parse_dyad(v) for v in values or ())
    except ValueError as exc:
        fail(f"--dyad: {exc}")


def connection_of(settings: Settings) -> Connection:
    """The configured brokers and their transport security; exit with a reason if none."""
    if not settings.bootstrap_servers:
        fail(
            "no broker configured: set DIPWATCH_BOOTSTRAP_SERVERS=host:port "
            "(or run `dipwatch demo`, which starts the embedded broker)"
        )
    try:
        return Connection.from_settings(settings)
    except DipwatchError as exc:
        fail(str(exc))


def parse_speed(value: str) -> float | None:
    if value == "max":
        return None
    try:
        factor = float(value)
    except ValueError:
        factor = 0.0
    if not (math.isfinite(factor) and factor > 0):
        fail(f"--speed must be 'max' or a positive factor, not {value!r}")
    return factor
