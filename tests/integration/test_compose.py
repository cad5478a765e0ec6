"""docker-compose.yml, proved without a Docker engine.

The file is validated against the Compose Specification's JSON schema, its settings are
checked against the project's, and the commands and environments of its services — read
from the file itself — run as local processes against the test broker: the init creates
the topics, the worker comes up healthy, the replay runs, the alerts appear.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from folds.offline import fold_offline
from folds.registry import build_folds
from infra.brokers.tansu import free_port
from infra.settings import Settings
from infra.topics import Topics
from replay.loader import bundled_corpus, load_paths
from tests.helpers import stop_process
from tests.integration.conftest import ROOT
from tests.integration.gdelt_feed_server import Feed
from tests.integration.kafka_io import collect_alerts, consume

COMPOSE = ROOT / "docker-compose.yml"
_VAR = re.compile(r"\$\{(\w+)(?::-([^}]*))?\}")


def _compose() -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(COMPOSE.read_text())
    return data


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ``${VAR}`` / ``${VAR:-default}``, as `docker compose config` does."""
    return _VAR.sub(lambda m: env.get(m.group(1)) or (m.group(2) or ""), value)


def test_the_compose_file_satisfies_the_compose_specification() -> None:
    schema = json.loads((ROOT / "tests/data/compose-spec.json").read_text())
    validator = jsonschema.Draft201909Validator(schema)
    errors = sorted(validator.iter_errors(_compose()), key=lambda e: list(e.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors)
    # The schema bites: a misspelt key or a wrong shape in a copy of the file is caught.
    broken = _compose()
    broken["services"]["worker"]["comand"] = broken["services"]["worker"].pop("command")
    broken["services"]["kafka"]["healthcheck"]["retries"] = "many"
    assert len(list(validator.iter_errors(broken))) == 2


def test_the_compose_file_keeps_the_operational_promises() -> None:
    services = _compose()["services"]
    pom = (ROOT / "scripts/kafka/pom.xml").read_text()
    tested = re.search(r"<kafka.version>(.+)</kafka.version>", pom)
    assert tested and services["kafka"]["image"] == f"apache/kafka:{tested.group(1)}"
    worker = services["worker"]
    assert "container_name" not in worker, "--scale needs generated names"
    assert all(str(p).count(":") == 2 and "-" in str(p).split(":")[1] for p in worker["ports"])
    assert worker["stop_grace_period"] and worker["healthcheck"]["test"]
    assert worker["depends_on"]["init"]["condition"] == "service_completed_successfully"
    assert services["replay"]["profiles"] == ["replay"]
    known = {f"DIPWATCH_{name.upper()}" for name in Settings.model_fields}
    for name, service in services.items():
        unknown = {k for k in service.get("environment", {}) if k.startswith("DIPWATCH_")} - known
        assert not unknown, f"{name}: no such setting {sorted(unknown)}"
    dockerfile = (ROOT / "Dockerfile").read_text()
    assert re.search(r"^USER (?!root)\w+", dockerfile, re.M), "the image runs as non-root"
    assert "-slim" in dockerfile


def _service_process(
    service: dict[str, Any], overrides: dict[str, str], log: Path, *extra: str
) -> subprocess.Popen[bytes]:
    env = {k: _interpolate(str(v), {}) for k, v in service.get("environment", {}).items()}
    env.update(overrides)
    command = [_interpolate(str(part), {}) for part in service["command"]]
    assert command[0] == "dipwatch"
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "dipwatch", *command[1:], *extra],
            env={**os.environ, **env},
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def _healthcheck(service: dict[str, Any], port: int) -> bool:
    test = [str(p) for p in service["healthcheck"]["test"]]
    assert test[0] == "CMD" and test[1] == "python"
    script = test[3].replace("127.0.0.1:6066", f"127.0.0.1:{port}")
    return subprocess.run([sys.executable, "-c", script], capture_output=True).returncode == 0


def test_the_compose_services_run_as_local_processes(
    isolated: dict[str, str], tmp_path: Path
) -> None:
    services = _compose()["services"]
    port = free_port()
    # What the compose network provides differently here: the broker's address, a
    # loopback port for the dashboard, test-private topics and data dir.
    overrides = {
        **isolated,
        "DIPWATCH_WEB_HOST": "127.0.0.1",
        "DIPWATCH_WEB_PORT": str(port),
    }
    log = tmp_path / "services.log"
    init = _service_process(services["init"], overrides, log)
    assert init.wait(120) == 0, log.read_text()
    assert "created 7 of 7 topics" in log.read_text()  # six of the registry, one changelog
    worker = _service_process(services["worker"], overrides, log)
    try:
        deadline = time.monotonic() + 90
        while not _healthcheck(services["worker"], port):
            assert worker.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the worker's healthcheck never passed"
            time.sleep(1)
        replay = _service_process(services["replay"], overrides, log)
        assert replay.wait(120) == 0, log.read_text()[-3000:]
        events = [item.event for item in load_paths([bundled_corpus()]).events]
        _, expected = fold_offline(build_folds(Settings()), events)
        topics = Topics(isolated["DIPWATCH_TOPIC_PREFIX"])
        got = asyncio.run(
            collect_alerts(
                isolated["DIPWATCH_BOOTSTRAP_SERVERS"],
                topics.all_alerts,
                {a.alert_id for a in expected},
                timeout_s=120,
            )
        )
        assert {a.alert_id for a in got} == {a.alert_id for a in expected}
        assert worker.poll() is None
    finally:
        stop_process(worker, 60)


def test_the_ingest_service_follows_a_gdelt_feed_as_a_local_process(
    isolated: dict[str, str], tmp_path: Path, feed: Feed
) -> None:
    services = _compose()["services"]
    assert services["ingest"]["profiles"] == ["live"]
    name = feed.add("20221005120000", ["110", "111"])
    feed.add_foreign("20221005120000")  # rows of other countries: not followed
    overrides = {**isolated, "DIPWATCH_GDELT_BASE_URL": feed.url, "DIPWATCH_GDELT_POLL_S": "0.5"}
    log = tmp_path / "ingest.log"
    ingest = _service_process(services["ingest"], overrides, log)
    try:
        deadline = time.monotonic() + 90
        while f"imported {name}" not in log.read_text():
            assert ingest.poll() is None, log.read_text()[-3000:]
            assert time.monotonic() < deadline, "the ingest service imported nothing"
            time.sleep(0.5)
    finally:
        stop_process(ingest)
    topics = Topics(isolated["DIPWATCH_TOPIC_PREFIX"])
    records = asyncio.run(consume(isolated["DIPWATCH_BOOTSTRAP_SERVERS"], topics.events))
    # DIPWATCH_GDELT_COUNTRIES defaults to KAZ,RUS,UKR in the file: the KAZ-RUS acts only
    assert len(records) == 2
    assert all(r.key == b"KAZ:RUS" for r in records)


@pytest.mark.parametrize("service", ["init", "worker", "replay", "alerts", "ingest"])
def test_every_dipwatch_service_runs_a_real_subcommand(service: str) -> None:
    command = _compose()["services"][service]["command"]
    help_run = subprocess.run(
        [sys.executable, "-m", "dipwatch", *command[1:2], "--help"], capture_output=True
    )
    assert help_run.returncode == 0, help_run.stderr.decode()
