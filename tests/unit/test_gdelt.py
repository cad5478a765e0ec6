"""GDELT rows into acts: both layouts, the mapping, the collapse rule, filters, bad input."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bench.gdelt import row, write_file
from replay.gdelt.acts import Acts
from replay.gdelt.columns import LAYOUTS
from replay.gdelt.mapping import GdeltFilter, RowRefused, country_cell, kind_of
from replay.ingest import read_gdelt
from schemas.codebook import goldstein

NOW = datetime(2026, 11, 25, tzinfo=UTC)


def collapse(rows: list[str], columns: int = 61, keep: GdeltFilter | None = None) -> Acts:
    acts = Acts(keep)
    for line in rows:
        acts.add(line.split("\t"), LAYOUTS[columns])
    return acts


@pytest.mark.parametrize("columns", [57, 58, 61])
@pytest.mark.parametrize("as_bytes", [False, True])
def test_a_row_of_each_layout_maps_to_the_same_act(columns: int, as_bytes: bool) -> None:
    line = row(columns, event_id="42", actor1="RUS", actor2="KAZ", code="111", type1="MIL")
    acts = Acts()
    cells = line.encode().split(b"\t") if as_bytes else line.split("\t")
    assert acts.add(cells, LAYOUTS[columns])
    (event,) = acts.records(NOW)
    assert (event.actor.country, event.target.country, event.cameo) == ("RUS", "KAZ", "111")
    assert (event.actor.kind, event.target.kind) == ("military", "government")
    assert event.actor.name == "Rus Official"
    assert event.dyad == "KAZ:RUS" and event.action is None
    assert event.goldstein == goldstein("111")  # the pinned table, not GDELT's column
    assert event.occurred_at == datetime(2022, 10, 5, tzinfo=UTC) and event.when == "2022-10-05"
    assert event.recorded_at == NOW  # recorded after GDELT added it
    (source,) = event.sources
    assert source.published == event.occurred_at.date() and source.title == "GDELT event 42"
    assert str(source.url or "") == ("" if columns == 57 else "https://news.example/story")
    assert event.coverage is not None and event.coverage.ids == ("42",)
    # How much coverage, as of when: later rows of the act are not counted (same id).
    added = "2022-10-05 12:00 UTC" if columns == 61 else "2022-10-05"  # 1.0: to the day
    assert event.summary == (
        "GDELT coded an act of RUS towards KAZ: CAMEO 111, criticize or denounce, "
        f"in 1 article GDELT added by {added}."
    )


def test_cameo_country_codes_that_are_not_iso_are_translated_and_regions_skipped() -> None:
    assert [country_cell(c) for c in ("ROM", "ZAR", "TMP", "UKR")] == ["ROU", "COD", "TLS", "UKR"]
    for region in ("EUR", "AFR", "MEA", ""):
        with pytest.raises(RowRefused) as refused:
            country_cell(region)
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
        row(event_id=str(i), code="110", sources=2, mentions=3, articles=1, tone=i / 10)
        for i in range(60)
    ]
    rows[0] = rows[0].replace("https://news.example/story", "")  # no URL on the first row
    later = row(event_id="99", day="20221006", code="110", added="20221006090000")
    acts = collapse([*rows, later])
    assert acts.kept == 61 and len(acts) == 2
    first, other_day = acts.records(NOW)
    assert first.coverage is not None and other_day.coverage is not None
    assert (first.coverage.rows, first.coverage.sources, first.coverage.mentions) == (60, 120, 180)
    assert first.coverage.articles == 60 and first.coverage.avg_tone == round(
        sum(range(60)) / 600, 3
    )
    assert first.coverage.ids == tuple(str(i) for i in range(50))  # the first 50 ids
    assert first.summary.endswith("in 60 articles GDELT added by 2022-10-05 12:00 UTC.")
    assert str(first.sources[0].url) == "https://news.example/story"  # the first one given
    assert first.event_id == "gdelt-KAZ-RUS-110-20221005"
    assert other_day.event_id == "gdelt-KAZ-RUS-110-20221006" and other_day.coverage.rows == 1
    # importing the same rows again gives the same id: the worker counts it once
    assert collapse(rows[:3]).records(NOW)[0].event_id == first.event_id


def test_filters_by_countries_dyad_roots_and_sources() -> None:
    keep = GdeltFilter.parse("KAZ,RUS,UKR", roots="10-20", min_sources=2)
    assert keep.keeps("KAZ", "RUS", "110")
    assert not keep.keeps("KAZ", "CHN", "110")
    assert not keep.keeps("KAZ", "RUS", "040")
    assert keep.enough_sources(2) and not keep.enough_sources(1)
    assert GdeltFilter.parse(dyads=["rus:kaz"]).keeps("RUS", "KAZ", "040")
    # a row the filter leaves out is not an act, and not counted as kept
    acts = Acts(keep)
    assert not acts.add(row(actor1="KAZ", actor2="CHN", code="110").split("\t"), LAYOUTS[61])
    assert acts.add(row(actor1="KAZ", actor2="RUS", code="110", sources=3).split("\t"), LAYOUTS[61])
    assert acts.kept == 1 and len(acts) == 1


def test_the_sources_an_act_needs_are_counted_over_its_rows(tmp_path: Path) -> None:
    # One summons in three rows of one source each: three sources, enough for 2. A
    # threat in one row of one source: not enough (it was kept row by row before).
    summons = [row(event_id=str(i), code="110", sources=1) for i in range(3)]
    threat = row(event_id="9", code="130", sources=1)
    path = write_file(tmp_path / "20221005120000.export.CSV", [*summons, threat])
    report = read_gdelt([path], GdeltFilter(min_sources=2), now=NOW)
    assert [e.cameo for e in report.acts] == ["110"]
    assert report.acts[0].coverage is not None and report.acts[0].coverage.sources == 3
    assert report.kept == 3 and report.skipped == {
        "fewer than 2 sources (the act's rows summed)": 1
    }
    assert len(read_gdelt([path], GdeltFilter(), now=NOW).acts) == 2  # no threshold: both


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


def test_an_act_says_what_its_cameo_code_names_and_how_many_reports() -> None:
    from schemas.codebook import cameo_label

    assert cameo_label("114") == "complain officially"
    assert cameo_label("0871") == "declare truce, ceasefire"
    with pytest.raises(KeyError):
        cameo_label("999")
