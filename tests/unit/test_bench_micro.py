"""``python -m bench offline``'s breakdown of the offline fold (figures, not pass/fail:
only that every part is measured and printed)."""

from __future__ import annotations

import re

from bench.generate import Shape
from bench.micro import fold_parts


def test_the_offline_breakdown_times_each_fold_the_engine_and_the_whole() -> None:
    line = fold_parts(Shape(events=300, dyads=20, years=0.5, seed=3))
    parts = dict(re.findall(r"([a-z][a-z ]*?) (\d+\.\d)", line.split(": ", 1)[1]))
    assert set(parts) == {"tension", "summons", "envoys", "engine", "whole fold"}
    assert all(float(v) > 0 for v in parts.values())
