"""The command line refuses what it cannot do, with a reason and no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from alerts.follow import render_alert
from dipwatch.cli import cli

RUN = CliRunner()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["replay", "--dry-run", "--speed", "nan"], "--speed must be 'max' or a positive"),
        (["replay", "--dry-run", "--speed", "inf"], "--speed must be 'max' or a positive"),
        (["replay", "--dry-run", "--dyad", "KAZRUS"], "--dyad: not a dyad"),
        (["alerts", "--max", "0"], "--max must be at least 1"),
        (["alerts", "--since", "1969-12-31"], "alert topics hold no record before 1970"),
        (["alerts", "--dyad", "kaz:kaz"], "the two countries must differ"),
    ],
)
def test_bad_options_are_refused_with_a_reason(args: list[str], message: str) -> None:
    result = RUN.invoke(cli, args, env={"DIPWATCH_BOOTSTRAP_SERVERS": "127.0.0.1:9"})
    assert result.exit_code == 2, result.output
    assert message in result.output and "Traceback" not in result.output


def test_a_dyad_is_normalised_whatever_its_case_and_order() -> None:
    result = RUN.invoke(cli, ["replay", "--dry-run", "--dyad", "rus:kaz"])
    assert result.exit_code == 0
    assert "KAZ:RUS" in result.output and "0 selected" not in result.output


def test_publish_of_a_deeply_nested_file_says_why_not_a_traceback(tmp_path: Path) -> None:
    path = tmp_path / "nested.json"
    path.write_bytes(b"[" * 100_000 + b"]" * 100_000)
    result = RUN.invoke(cli, ["publish", str(path), "--dry-run"])
    assert result.exit_code == 2
    assert "beyond this reader's limits" in result.output and "Traceback" not in result.output


def test_an_alert_line_escapes_control_characters_from_the_topic() -> None:
    from datetime import UTC, datetime

    from schemas.alerts import Alert

    alert = Alert(
        alert_id="a",
        rule="summons.opened",
        severity="warning",
        dyad="KAZ:RUS",
        at=datetime(2022, 10, 4, tzinfo=UTC),
        when="2022-10-04",
        raised_at=datetime(2022, 10, 5, tzinfo=UTC),
        title="evil \x1b[2J title \u202e",
        detail="d",
        evidence=("e",),
    )
    line = render_alert(alert)
    assert "\x1b" not in line and "\u202e" not in line and "\\u001b[2J" in line
