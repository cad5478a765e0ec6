"""The interpreter set-up of infra/runtime.py: the cyclic collector tuned and paused."""

from __future__ import annotations

import gc
from pathlib import Path

import pytest

from infra.runtime import freeze_startup, no_cycle_collection, tune_gc
from replay.loader import load_paths


def test_the_young_threshold_is_set_and_the_older_ratios_kept() -> None:
    before = gc.get_threshold()
    try:
        tune_gc(12_345)
        assert gc.get_threshold() == (12_345, before[1], before[2])
        tune_gc(0)  # 0 leaves it as it is
        assert gc.get_threshold() == (12_345, before[1], before[2])
    finally:
        gc.set_threshold(*before)


def test_no_cycle_collection_pauses_the_collector_and_puts_it_back_as_it_was() -> None:
    assert gc.isenabled()
    try:
        with no_cycle_collection():
            assert not gc.isenabled()
        assert gc.isenabled()
        gc.disable()
        with no_cycle_collection():
            assert not gc.isenabled()
        assert not gc.isenabled()  # a caller's choice is left alone
    finally:
        gc.enable()
        gc.unfreeze()


def test_what_was_built_is_frozen_out_of_later_collections() -> None:
    try:
        with no_cycle_collection():
            built = [{"n": i} for i in range(1_000)]
        assert gc.get_freeze_count() >= len(built)
        assert gc.get_count()[0] < len(built)  # no young collection left to walk them
    finally:
        gc.unfreeze()


def test_a_ready_process_freezes_what_is_alive_and_still_collects_what_comes_after() -> None:
    alive = {"held": [1, 2, 3]}  # a container alive when the process is ready
    try:
        frozen = freeze_startup()
        assert frozen == gc.get_freeze_count() > 0
        assert not any(o is alive for o in gc.get_objects())  # out of every generation
        cycle: list[object] = []
        cycle.append(cycle)  # garbage made afterwards, a cycle: collected as before
        del cycle
        assert gc.collect() >= 1
    finally:
        gc.unfreeze()


def test_loading_events_leaves_the_collector_on_even_when_it_fails(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(b'{"event_id": "x"}\n')
    assert load_paths([path]).problems  # an invalid line: a problem, not an error
    assert gc.isenabled()
    with pytest.raises(OSError):
        load_paths([tmp_path / "missing.jsonl"])
    assert gc.isenabled()


def test_the_console_script_skips_the_teardown_with_every_line_written_and_its_code(
    tmp_path: Path,
) -> None:
    """``dipwatch replay`` ends its process with :func:`infra.runtime.end_process`: the
    alerts, the state file and the exit code are all there as with a normal exit."""
    import subprocess
    import sys

    from typer.testing import CliRunner

    from dipwatch.cli import cli

    script = Path(sys.executable).parent / "dipwatch"
    state = tmp_path / "state.json"
    done = subprocess.run(
        [str(script), "replay", "--offline", "--state", str(state)],
        capture_output=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    in_process = CliRunner().invoke(cli, ["replay", "--offline"])
    assert done.stdout.decode() == in_process.stdout and done.stdout.count(b"\n") >= 21
    assert state.read_text().endswith("}\n")
    missing = subprocess.run(
        [str(script), "replay", "--offline", str(tmp_path / "none.jsonl")],
        capture_output=True,
        check=False,
    )
    assert missing.returncode == 2 and b"no such file or folder" in missing.stderr
