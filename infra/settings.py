"""One frozen settings object, read from ``DIPWATCH_*`` variables at the entry points."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from folds.decay import MIN_HALF_LIFE_DAYS
from folds.guard import DEDUP_HORIZON_DAYS
from folds.offline import ALLOWED_LATENESS_DAYS
from folds.summons import SummonsConfig
from folds.tension import TensionConfig

# The domain defaults live with the folds that use them; settings only expose them.
_TENSION = TensionConfig()
_SUMMONS = SummonsConfig()

__all__ = ["SaslMechanism", "SecurityProtocol", "Settings"]

#: Kafka's transport security, as its clients name it (infra/connection.py uses them).
SecurityProtocol = Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"]
SaslMechanism = Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"]


class Settings(BaseSettings):
    """Everything configurable. Built once by the CLI and passed down; nothing else
    reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="DIPWATCH_", frozen=True, extra="forbid", allow_inf_nan=False
    )

    # Brokers. Empty bootstrap servers = start the embedded broker (demo, tests).
    bootstrap_servers: str | None = None
    embedded_port: int | None = Field(default=None, ge=1, le=65535)
    connect_timeout_s: float = Field(default=20.0, gt=0, le=3600)
    # Transport security, passed to every client (infra/connection.py). The password
    # comes from DIPWATCH_SASL_PASSWORD or, better, a file (a Docker/Kubernetes secret).
    security_protocol: SecurityProtocol = "PLAINTEXT"
    sasl_mechanism: SaslMechanism = "SCRAM-SHA-512"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    sasl_password_file: Path | None = None
    #: CA bundle to verify the brokers (default: the system's); a client certificate
    #: and key for mutual TLS.
    ssl_cafile: Path | None = None
    ssl_certfile: Path | None = None
    ssl_keyfile: Path | None = None

    # Topics and the Faust app. The prefix isolates deployments (and test runs).
    topic_prefix: str = Field(default="dipwatch", pattern=r"^[A-Za-z0-9._-]+$")
    app_id: str = Field(default="dipwatch-worker", pattern=r"^[A-Za-z0-9._-]+$")
    partitions: int = Field(default=4, ge=1, le=1000)
    replication_factor: int = Field(default=1, ge=1)
    # Rebalance speed: a dead member is evicted after the session timeout; the
    # heartbeat must be at most a third of it; Kafka's floor is 6 s.
    session_timeout_s: float = Field(default=10.0, ge=6)
    heartbeat_interval_s: float = Field(default=3.0, gt=0)
    # Static membership: a worker restarted under the same id keeps its partitions.
    instance_id: str | None = None
    data_dir: Path = Path(".dipwatch")
    # The worker's HTTP side: query API, dashboard, alert stream, POST /events.
    web_enabled: bool = False
    web_host: str = "127.0.0.1"
    web_port: int = Field(default=6066, ge=1, le=65535)
    #: Required by POST /events (as "Authorization: Bearer …"); unset = publishing off.
    api_token: SecretStr | None = None
    #: Largest request body POST /events accepts (413 beyond).
    max_body_bytes: int = Field(default=1024 * 1024, gt=0, le=64 * 1024 * 1024)
    #: Alerts each worker keeps in memory for /api/alerts and the dashboard.
    recent_alerts: int = Field(default=2000, gt=0, le=1_000_000)
    #: Live alert streams (/api/alerts/stream) a worker serves at once (503 beyond).
    max_sse_clients: int = Field(default=100, gt=0, le=10_000)
    #: /healthz fails once the fold agent has not advanced for this long while records
    #: wait on its partitions (or at once, if it crashed); the worker then reads what
    #: waits and restarts (exit code 75) if records are there (streams/stall.py).
    stall_timeout_s: float = Field(default=120.0, gt=0)
    #: A worker whose changelog recovery has received nothing for this long while the
    #: changelog holds more exits (code 75) for its supervisor to restart it: a known
    #: faust-streaming stall (streams/watchdog.py).
    recovery_stall_s: float = Field(default=45.0, gt=0)

    # GDELT: where its file lists are, and how often the follower looks for a new file.
    gdelt_base_url: str = "http://data.gdeltproject.org/gdeltv2/"
    gdelt_poll_s: float = Field(default=900.0, gt=0, le=86_400)
    #: Default of ``ingest gdelt --countries`` (e.g. KAZ,RUS,UKR; empty: all states).
    gdelt_countries: str = Field(default="", pattern=r"^[A-Za-z]{3}(,[A-Za-z]{3})*$|^$")

    # Worker batching: up to batch_size events, or what arrived within batch_within_s.
    batch_size: int = Field(default=500, gt=0, le=100_000)
    batch_within_s: float = Field(default=0.05, gt=0, le=60)
    #: How long the worker's consumer lets the broker hold a fetch when no data waits
    #: (Faust hard-codes 1,500 ms; see streams/compat.py). Apache Kafka answers as soon
    #: as data arrives, so there it only paces idle polls; the embedded broker sleeps
    #: half the remaining wait before it looks again, so there it is latency: the demo
    #: and the embedded stacks set 10 ms (docs/PERFORMANCE.md has the trade-off).
    fetch_wait_ms: int = Field(default=500, ge=1, le=10_000)
    #: Run the worker's event loop on uvloop (libuv) rather than asyncio's own.
    uvloop: bool = True
    #: How long the worker's producer waits to fill a batch (Faust's default: 0), and how
    #: large a batch may grow (Faust's default: 16 KiB, less than a busy dyad's log):
    #: measured in docs/PERFORMANCE.md (fewer, fuller batches; +5 ms at most on an alert).
    producer_linger_ms: float = Field(default=5.0, ge=0, le=1_000)
    producer_batch_bytes: int = Field(default=1024 * 1024, ge=1_024, le=16 * 1024 * 1024)
    #: Records Faust buffers per stream (its default 4,096), and the most one poll of
    #: the consumer returns (0: aiokafka's own default).
    stream_buffer: int = Field(default=4_096, ge=1, le=1_000_000)
    max_poll_records: int = Field(default=0, ge=0, le=1_000_000)
    #: How often a worker under load commits the offsets it has folded, or after how
    #: many records, whichever comes first (Faust's defaults: 2.8 s, 10,000). The dyads'
    #: values are written back before each commit (one changelog write per touched dyad
    #: per commit), so this is also how stale the read model may be under load, and how
    #: much a crash makes the worker fold again. 10 s: under a backlog the worker folds
    #: ~7 % more events per second than at Faust's 2.8 s, which wrote back every touched
    #: pair every ~10,000 events (docs/PERFORMANCE.md, "Session 21"); Kafka Streams
    #: commits every 30 s. A worker that has caught up commits sooner (below).
    commit_interval_s: float = Field(default=10.0, gt=0, le=600)
    commit_every: int = Field(default=100_000, ge=1, le=10_000_000)
    #: A worker that has caught up (a batch short of batch_size) commits — and writes
    #: its values back — at most this often, without waiting for the interval.
    caught_up_commit_s: float = Field(default=0.25, gt=0, le=600)
    #: Net allocations between two young garbage collections (CPython's default: 700;
    #: 0 leaves the interpreter's own). See infra/runtime.py for why it is larger.
    gc_threshold: int = Field(default=50_000, ge=0, le=10_000_000)
    #: Processes an offline fold (``replay --offline``, ``ingest --offline``) shares its
    #: dyads among: 0 picks one per core, at most 4, for logs of 10,000 events or more
    #: (folds/parallel.py; the same alerts, in the same order, as one process).
    offline_jobs: int = Field(default=0, ge=0, le=64)

    # Domain parameters, all in event time (docs/TENSION.md explains each).
    # Half-lives of at least MIN_HALF_LIFE_DAYS keep the exact decay sums of any date the
    # contract allows (before LATEST) printable as JSON integers (folds/decay.py).
    half_life_days: float = Field(default=_TENSION.half_life_days, ge=MIN_HALF_LIFE_DAYS, le=36_500)
    baseline_half_life_days: float = Field(
        default=_TENSION.baseline_half_life_days, ge=MIN_HALF_LIFE_DAYS, le=36_500
    )
    #: Conflict scores at which a dyad becomes elevated, high, critical (ascending).
    tension_thresholds: tuple[float, float, float] = _TENSION.thresholds
    #: A level falls only once the score is below this share of its threshold.
    tension_hysteresis: float = Field(default=_TENSION.hysteresis, gt=0, le=1)
    spike_ratio: float = Field(default=_TENSION.spike_ratio, gt=1, le=1000)
    spike_min_points: float = Field(default=_TENSION.spike_min_points, ge=0, le=10_000)
    spike_min_history_days: float = Field(default=_TENSION.spike_min_history_days, ge=0, le=36_500)
    armed_conflict_lapse_days: float = Field(
        default=_TENSION.armed_conflict_lapse_days, gt=0, le=36_500
    )
    #: Days of event time behind its pair's latest act for which the read model keeps each
    #: act it has read, for `POST /events` to check a retraction or correction against
    #: (query/acts.py: ~16 bytes an act). The chart's own dedup keeps twice the allowed
    #: lateness and a week (query/chart.py), whatever is set.
    dedup_horizon_days: int = Field(default=DEDUP_HORIZON_DAYS, gt=0, le=36_500)
    #: Days of event time behind a partition's watermark within which a late event, a
    #: retraction or a correction is still placed exactly and the alerts it changes are
    #: withdrawn or raised; older ones go to the dead-letter topic. Each dyad keeps its
    #: events of this period (memory and changelog writes grow with it).
    allowed_lateness_days: float = Field(default=ALLOWED_LATENESS_DAYS, gt=0, le=36_500)
    summons_expiry_days: float = Field(default=_SUMMONS.expiry_days, gt=0, le=36_500)
    reciprocal_window_days: float = Field(default=_SUMMONS.reciprocal_window_days, gt=0, le=3650)
    #: Open summons on one dyad at which ``summons.several_open`` is raised.
    several_open: int = Field(default=_SUMMONS.several_open, ge=2, le=1000)

    # Logs.
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    log_format: Literal["auto", "json", "console"] = "auto"

    @model_validator(mode="after")
    def _ascending_thresholds(self) -> Settings:
        low, mid, high = self.tension_thresholds
        if not 0 < low < mid < high <= 10_000:
            raise ValueError("tension_thresholds must be three ascending scores in (0, 10000]")
        return self

    @field_validator(
        "api_token",
        "bootstrap_servers",
        "instance_id",
        "sasl_username",
        "sasl_password",
        "sasl_password_file",
        "ssl_cafile",
        "ssl_certfile",
        "ssl_keyfile",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """``VAR=`` (as compose writes ``${VAR:-}``) means unset, never an empty token."""
        return None if isinstance(value, str) and not value.strip() else value
