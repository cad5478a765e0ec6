"""The GDELT feed against a local HTTP server serving GDELT-shaped files (there is no
network here): backfill a range, follow and restart, an outage, a file that does not
check out. Real broker, real `dipwatch ingest gdelt` processes."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys

from infra.topics import Topics
from tests.integration.gdelt_feed_server import Feed
from tests.integration.kafka_io import consume


def _ingest(env: dict[str, str], feed: Feed, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "dipwatch", "ingest", "gdelt", *args],
        env={
            **os.environ,
            **env,
            "DIPWATCH_GDELT_BASE_URL": feed.url,
            "DIPWATCH_GDELT_POLL_S": "0.5",
        },
        capture_output=True,
        text=True,
        timeout=180,
    )


def _events(env: dict[str, str], topics: Topics) -> list[bytes]:
    bootstrap = env["DIPWATCH_BOOTSTRAP_SERVERS"]
    return [r.value for r in asyncio.run(consume(bootstrap, topics.events, idle_s=2.0))]


def test_backfill_imports_the_range_once(
    isolated: dict[str, str], topics: Topics, feed: Feed
) -> None:
    feed.add("20221005120000", ["110", "111"])
    feed.add("20221005121500", ["190"])
    feed.add("20221005123000", ["040"])
    args = ("--since", "2022-10-05T12:00", "--until", "2022-10-05T12:30")
    first = _ingest(isolated, feed, *args)
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.count("imported ") == 2
    assert len(_events(isolated, topics)) == 3
    again = _ingest(isolated, feed, *args)
    assert again.returncode == 0 and "imported " not in again.stdout
    assert len(_events(isolated, topics)) == 3, "nothing published twice"


def test_follow_imports_each_new_file_once_and_resumes_after_a_restart(
    isolated: dict[str, str], topics: Topics, feed: Feed
) -> None:
    feed.add("20221005120000", ["110"])
    first = _ingest(isolated, feed, "--follow", "--max-runtime", "6")
    assert first.returncode == 0, first.stderr[-2000:]
    assert first.stdout.count("imported 20221005120000") == 1  # polled many times
    feed.add("20221005121500", ["111"])
    second = _ingest(isolated, feed, "--follow", "--max-runtime", "6")
    assert second.returncode == 0, second.stderr[-2000:]
    assert "imported 20221005120000" not in second.stdout  # remembered across the restart
    assert second.stdout.count("imported 20221005121500") == 1
    assert len(_events(isolated, topics)) == 2


def test_follow_rides_out_an_outage_of_the_feed(
    isolated: dict[str, str], topics: Topics, feed: Feed
) -> None:
    feed.add("20221005120000", ["110"])
    feed.fail_next = 3
    result = _ingest(isolated, feed, "--follow", "--max-runtime", "15")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "gdelt_feed_unavailable" in result.stderr and "HTTP 503" in result.stderr
    assert result.stdout.count("imported 20221005120000") == 1


def test_a_file_that_does_not_check_out_is_refused_and_not_recorded(
    isolated: dict[str, str], topics: Topics, feed: Feed
) -> None:
    name = feed.add("20221005120000", ["110"])
    feed.bad_md5.add(name)
    refused = _ingest(isolated, feed, "--since", "2022-10-05")
    assert refused.returncode == 1
    assert f"refused: {name}: MD5" in refused.stdout
    assert _events(isolated, topics) == []
    feed.bad_md5.clear()
    fixed = _ingest(isolated, feed, "--since", "2022-10-05")
    assert fixed.returncode == 0 and f"imported {name}" in fixed.stdout
    assert len(_events(isolated, topics)) == 1
