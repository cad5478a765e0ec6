"""docs/TIMELINE.md is what the rules make of the corpus today."""

from __future__ import annotations

from pathlib import Path

from folds.offline import fold_offline
from folds.registry import build_folds, tension_fold
from infra.settings import Settings
from replay.loader import bundled_corpus, load_paths
from replay.timeline import BEGIN, END, render_timeline, splice, tension_points

DOC = Path(__file__).resolve().parents[2] / "docs" / "TIMELINE.md"
EVENTS = [item.event for item in load_paths([bundled_corpus()]).events]


def test_the_docs_timeline_is_regenerated_whenever_the_rules_or_corpus_change() -> None:
    _, alerts = fold_offline(build_folds(Settings()), EVENTS)
    fresh = render_timeline(tension_fold(Settings()), EVENTS, alerts, source="replay/corpus")
    current = DOC.read_text(encoding="utf-8")
    generated = current[current.index(BEGIN) : current.index(END) + len(END)] + "\n"
    assert generated == fresh, "docs/TIMELINE.md is stale: run `make timeline`, reread it"


def test_kazakhstan_russia_tension_peaks_in_the_second_half_of_2022() -> None:
    points = tension_points(tension_fold(Settings()), EVENTS)["KAZ:RUS"]
    top = max(points, key=lambda p: p.conflict)
    assert top.at.year == 2022 and top.at.month >= 7
    first_half = max(p.conflict for p in points if p.at.year == 2022 and p.at.month <= 6)
    assert top.conflict >= 1.1 * first_half  # clearly, not by a rounding error


def test_splice_keeps_the_hand_written_parts() -> None:
    doc = f"# Title\n\n{BEGIN}\nold\n{END}\n\n## Review\n"
    assert splice(doc, f"{BEGIN}\nnew\n{END}\n") == f"# Title\n\n{BEGIN}\nnew\n{END}\n\n## Review\n"
