"""GDELT rows into acts: both layouts, the mapping, the collapse rule, filters, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.gdelt import row, write_file
from replay.gdelt.columns import LAYOUTS
from replay.gdelt.mapping import GdeltFilter, RowRefused, collapse, country_of, kind_of, parse_row
from replay.ingest import read_gdelt
from schemas.codebook import goldstein

NOW = datetime(2026, 11, 25, tzinfo=UTC)


@pytest.mark.parametrize("columns", [57, 58, 61])
def test_a_row_of_each_layout_maps_to_the_same_act(columns: int) -> None:
    cells = row(columns, event_id="42", actor1="RUS", actor2="KAZ", code="111").split("\t")
    act = parse_row(cells, LAYOUTS[columns])
    assert (act.actor, act.target, act.code, act.row_id) == ("RUS", "KAZ", "111", "42")
    assert act.day == datetime(2022, 10, 5, tzinfo=UTC)
    assert act.added.date() == act.day.date()
    assert act.url == ("" if columns == 57 else "https://news.example/story")
    (event,) = collapse([act], NOW)
    assert event.dyad == "KAZ:RUS" and event.cameo == "111" and event.action is None
    assert event.goldstein == goldstein("111")  # the pinned table, not GDELT's column
    assert event.when == "2022-10-05" and event.coverage is not None


def test_cameo_country_codes_that_are_not_iso_are_translated_and_regions_skipped() -> None:
    assert [country_of(c) for c in ("ROM", "ZAR", "TMP", "UKR")] == ["ROU", "COD", "TLS", "UKR"]
    for region in ("EUR", "AFR", "MEA", ""):
        with pytest.raises(RowRefused) as refused:
            country_of(region)
        assert refused.value.skip


def test_actor_types_become_kinds_of_party() -> None:
    assert [kind_of(t) for t in ("GOV", "MIL", "MED", "BUS", "LEG", "", "REB", "NGO")] == [
        "government",
        "military",
        "media",
        "business",
        "legislator",
        "state",
        "civil_society",
        "civil_society",
    ]


def test_forty_reports_of_one_summons_weigh_once_and_keep_their_counts() -> None:
    rows = [
        parse_row(
            row(event_id=str(i), code="110", sources=2, mentions=3, articles=1).split("\t"),
            LAYOUTS[61],
        )
        for i in range(40)
    ]
    later = row(event_id="99", day="20221006", code="110", added="20221006090000")
    other_day = parse_row(later.split("\t"), LAYOUTS[61])
    events = collapse([*rows, other_day], NOW)
    assert len(events) == 2
    first = events[0]
    assert first.coverage is not None
    assert (first.coverage.rows, first.coverage.sources, first.coverage.mentions) == (40, 80, 120)
    assert first.event_id == "gdelt-KAZ-RUS-110-20221005"
    # importing the same rows again gives the same id: the worker counts it once
    assert collapse(rows, NOW)[0].event_id == first.event_id


def test_filters_by_countries_dyad_roots_and_sources() -> None:
    def act(a: str, b: str, code: str, sources: int = 1) -> object:
        return parse_row(
            row(actor1=a, actor2=b, code=code, sources=sources).split("\t"), LAYOUTS[61]
        )

    keep = GdeltFilter.parse("KAZ,RUS,UKR", roots="10-20", min_sources=2)
    assert keep.keeps(act("KAZ", "RUS", "110", 2))  # type: ignore[arg-type]
    assert not keep.keeps(act("KAZ", "CHN", "110", 2))  # type: ignore[arg-type]
    assert not keep.keeps(act("KAZ", "RUS", "040", 2))  # type: ignore[arg-type]
    assert not keep.keeps(act("KAZ", "RUS", "110", 1))  # type: ignore[arg-type]
    assert GdeltFilter.parse(dyads=["rus:kaz"]).keeps(act("RUS", "KAZ", "040"))  # type: ignore[arg-type]


def test_bad_rows_are_refused_with_their_reason_and_the_rest_goes_in(tmp_path: Path) -> None:
    good = row(event_id="1")
    bad = {
        "wrong columns": "\t".join(row(event_id="2").split("\t")[:60]),
        "bad date": row(event_id="3", day="2022-10-05"),
        "unknown CAMEO code": row(event_id="4", code="999"),
        "dated after added": row(event_id="5", day="20221010", added="20221005120000"),
    }
    path = write_file(tmp_path / "20221005120000.export.CSV", [good, *bad.values(), good])
    report = read_gdelt([path], GdeltFilter(), now=NOW)
    assert report.rows == 6 and report.kept == 2 and len(report.acts) == 1
    assert dict(report.refused) == {kind: 1 for kind in bad}
    assert [(p.line, p.path) for p in report.problems] == [(n, str(path)) for n in (2, 3, 4, 5)]
    assert all(p.raw for p in report.problems)


def test_zipped_files_folders_and_a_truncated_zip(tmp_path: Path) -> None:
    folder = tmp_path / "feed"
    folder.mkdir()
    write_file(folder / "20221005120000.export.CSV.zip", [row(event_id="1")])
    write_file(folder / "20221005121500.export.CSV.zip", [row(event_id="2", code="111")])
    truncated = folder / "20221005123000.export.CSV.zip"
    write_file(truncated, [row(event_id=str(i)) for i in range(200)])
    truncated.write_bytes(truncated.read_bytes()[:300])
    report = read_gdelt([folder], GdeltFilter(), now=NOW)
    assert report.files == 3 and len(report.acts) == 2
    assert len(report.bad_files) == 1 and "not a readable zip" in report.bad_files[0]


def test_a_file_of_another_shape_is_refused_whole(tmp_path: Path) -> None:
    path = write_file(tmp_path / "x.CSV", ["a\tb\tc"])
    report = read_gdelt([path], GdeltFilter(), now=NOW)
    assert report.rows == 0 and "not a GDELT event file" in report.bad_files[0]


def test_the_command_imports_offline_and_summarises(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from dipwatch.cli import cli

    rows = [row(event_id=str(i), code="190", type1="MIL") for i in range(5)]
    rows += [row(event_id="9", actor2="EUR")]
    path = write_file(tmp_path / "20221005120000.export.CSV.zip", rows)
    result = CliRunner().invoke(cli, ["ingest", "gdelt", str(path), "--offline"])
    assert result.exit_code == 0, result.output
    assert '"rule":"tension.level_up"' in result.stdout
    assert "6 read, 5 kept, 1 skipped, 0 refused" in result.output
    assert "region or bloc" in result.output
    dry = CliRunner().invoke(cli, ["ingest", "gdelt", str(path), "--dry-run", "--roots", "04"])
    assert dry.exit_code == 0 and "0 kept" in dry.output and "filtered out" in dry.output
