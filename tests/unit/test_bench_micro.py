"""``python -m bench offline``'s breakdown of the offline fold (figures, not pass/fail:
only that every part is measured and printed)."""

from __future__ import annotations

import re

from bench.generate import Shape
from bench.micro import fold_parts, shared_rates


def test_the_offline_breakdown_times_each_fold_the_engine_and_the_whole() -> None:
    line = fold_parts(Shape(events=300, dyads=20, years=0.5, seed=3))
    parts = dict(re.findall(r"([a-z][a-z ]*?) (\d+\.\d)", line.split(": ", 1)[1]))
    assert set(parts) == {"tension", "summons", "envoys", "engine", "whole fold"}
    assert all(float(v) > 0 for v in parts.values())


def test_the_shared_fold_is_timed_in_one_process_and_in_several_with_the_same_alerts() -> None:
    line = shared_rates(Shape(events=400, dyads=20, years=0.5, seed=3), jobs=2)
    found = re.fullmatch(
        r"offline fold shared: 1 process ([\d,]+) events/s, 2 processes ([\d,]+) events/s "
        r"\((\d+\.\d\d)x; (\d+) alerts\)",
        line,
    )
    assert found, line  # one alert count: both folds raised as many
    assert int(found[4]) > 0
