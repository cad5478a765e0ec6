"""Kafka with SASL_SSL and SCRAM: Apache Kafka started here with a TLS listener and a
SCRAM-SHA-512 user created at format time. The worker, replay and alerts work with the
right password and fail with one clear line with a wrong one; the password is never
logged."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import free_port
from infra.connection import Connection
from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths
from tests.helpers import stop_process, worker_process
from tests.integration.conftest import ROOT

USER, PASSWORD = "dipwatch", "correct-horse-battery"


@pytest.fixture(scope="module")
def secure_broker(
    broker_kind: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[dict[str, str]]:
    """A SASL_SSL Apache Kafka broker; the client settings to reach it."""
    if broker_kind != "kafka":
        pytest.skip("SASL/TLS is specified on Apache Kafka (make test-kafka)")
    data = tmp_path_factory.mktemp("secure-kafka")
    port, internal, controller = free_port(), free_port(), free_port()
    log = (data / "broker.log").open("wb")
    proc = subprocess.Popen(
        [
            str(ROOT / "scripts/apache-kafka.sh"),
            "run-secure",
            str(data / "k"),
            str(port),
            str(internal),
            str(controller),
            USER,
            PASSWORD,
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    secret = data / "password"
    secret.write_text(PASSWORD + "\n")
    env = {
        "DIPWATCH_BOOTSTRAP_SERVERS": f"127.0.0.1:{port}",
        "DIPWATCH_SECURITY_PROTOCOL": "SASL_SSL",
        "DIPWATCH_SASL_MECHANISM": "SCRAM-SHA-512",
        "DIPWATCH_SASL_USERNAME": USER,
        "DIPWATCH_SASL_PASSWORD_FILE": str(secret),
        "DIPWATCH_SSL_CAFILE": str(data / "k" / "ca.pem"),
        "DIPWATCH_CONNECT_TIMEOUT_S": "120",
        "DIPWATCH_LOG_FORMAT": "json",
    }
    try:
        deadline = time.monotonic() + 120
        while not (data / "k" / "ca.pem").exists():
            assert proc.poll() is None and time.monotonic() < deadline, "no certificate"
            time.sleep(0.5)
        settings = Settings(**{k.removeprefix("DIPWATCH_").lower(): v for k, v in env.items()})
        asyncio.run(wait_until_ready(Connection.from_settings(settings), 120))
        yield env
    finally:
        stop_process(proc)
        log.close()


def _dipwatch(
    env: dict[str, str], *args: str, timeout: float = 180
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipwatch", *args],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def test_worker_replay_and_alerts_over_sasl_ssl(
    secure_broker: dict[str, str], isolated: dict[str, str], tmp_path: Path
) -> None:
    env = {**isolated, **secure_broker}
    events = [item.event for item in load_paths([bundled_corpus()]).events]
    _, expected = fold_offline(build_folds(Settings()), events)
    replay = _dipwatch(env, "replay")
    assert replay.returncode == 0, replay.stderr[-2000:]
    log = tmp_path / "worker.log"
    with worker_process(env, log, "--max-runtime", "240"):
        alerts = _dipwatch(
            env,
            "alerts",
            "--from-beginning",
            "--json",
            "--max",
            str(len(expected)),
            "--idle-timeout",
            "90",
        )
    assert alerts.returncode == 0, alerts.stderr[-2000:]
    got = {line.split('"alert_id":"', 1)[1].split('"', 1)[0] for line in alerts.stdout.splitlines()}
    assert got == {a.alert_id for a in expected}
    assert PASSWORD not in log.read_text() + replay.stderr + alerts.stderr


@pytest.mark.parametrize("command", [["replay"], ["alerts", "--max", "1"], ["worker"]])
def test_a_wrong_password_fails_with_one_clear_line(
    secure_broker: dict[str, str], isolated: dict[str, str], command: list[str]
) -> None:
    env = {
        **isolated,
        **secure_broker,
        "DIPWATCH_SASL_PASSWORD_FILE": "",
        "DIPWATCH_SASL_PASSWORD": "not-the-password",
    }
    result = _dipwatch(env, *command, timeout=120)
    assert result.returncode != 0
    assert f"refused the credentials of '{USER}' (SCRAM-SHA-512)" in result.stderr
    assert "not-the-password" not in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
