"""``bench all``'s rounds (bench/rounds.py): the order each round drains in, and the
medians of rates and of each round's ratios."""

from __future__ import annotations

import itertools

import pytest

from bench.rounds import KINDS, order, summarise


@pytest.mark.parametrize("rounds", [1, 2, 3, 4])
def test_every_round_drains_each_kind_once_in_the_reverse_order_of_the_round_before(
    rounds: int,
) -> None:
    orders = [order(n, rounds, KINDS) for n in range(rounds)]
    for ordered in orders:
        assert sorted(ordered) == sorted(KINDS)
    for before, after in itertools.pairwise(orders):
        assert after == before[::-1]
    # The last drain of the run is a worker's: the one kept for the latency probe.
    assert orders[-1][-1] == "worker"


def test_the_rounds_without_two_workers_still_end_with_a_worker() -> None:
    kinds = KINDS[:3]
    assert order(0, 2, kinds) == ["worker", "ceiling", "ceiling_writes"]
    assert order(1, 2, kinds) == ["ceiling_writes", "ceiling", "worker"]


def test_the_order_needs_the_worker_first_among_the_kinds() -> None:
    with pytest.raises(ValueError, match="worker comes first"):
        order(0, 1, ("ceiling", "worker"))


def test_each_ratio_is_taken_within_its_round_and_the_median_of_the_rounds_reported() -> None:
    # The machine runs at half speed in the second round: every rate halves there.
    rounds = [
        {"worker": 6000.0, "ceiling": 6000.0, "ceiling_writes": 5000.0, "two_workers": 6600.0},
        {"worker": 2700.0, "ceiling": 3000.0, "ceiling_writes": 2500.0, "two_workers": 2700.0},
        {"worker": 5700.0, "ceiling": 6200.0, "ceiling_writes": 5000.0, "two_workers": 6270.0},
    ]
    rated = summarise(rounds)
    assert [r["ceiling_ratio"] for r in rated["rounds"]] == pytest.approx([1.0, 0.9, 5700 / 6200])
    assert rated["median"]["ceiling_ratio"] == pytest.approx(5700 / 6200)
    # Not the ratio of the medians (5700 / 6000 = 0.95): that pairs drains of two rounds.
    assert rated["median"]["worker"] == 5700.0
    assert rated["median"]["ceiling"] == 6000.0
    assert rated["median"]["two_workers_ratio"] == pytest.approx(1.1)
    assert rated["median"]["ceiling_writes_ratio"] == pytest.approx(1.14)


def test_a_round_that_did_not_measure_both_sides_gives_no_ratio() -> None:
    rated = summarise([{"worker": 10.0, "ceiling": 20.0}, {"worker": 30.0, "ceiling": 0.0}])
    assert [("ceiling_ratio" in r) for r in rated["rounds"]] == [True, False]
    assert "two_workers_ratio" not in rated["median"]
    assert rated["median"]["ceiling_ratio"] == 0.5


def test_no_round_is_an_error() -> None:
    with pytest.raises(ValueError, match="no round"):
        summarise([])
