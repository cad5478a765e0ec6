"""A record the consumer skipped is caught at the batch that jumps over it (the worker
then stops without committing: streams/agents.py); redeliveries and the jumps after a
rebalance are not faults."""

from __future__ import annotations

from streams.continuity import Continuity


def test_batches_in_order_across_partitions_skip_nothing() -> None:
    seen = Continuity()
    assert seen.skipped([(0, 0), (1, 0), (0, 1), (1, 1)]) is None
    assert seen.skipped([(1, 2), (0, 2), (0, 3)]) is None


def test_a_record_skipped_inside_a_batch_is_named() -> None:
    # As traced in a failing run of tests/integration/test_recovery.py: 967, then 969.
    seen = Continuity()
    assert seen.skipped([(1, 966), (2, 40)]) is None
    why = seen.skipped([(2, 41), (1, 967), (1, 969)])
    assert why == "partition 1: offset 969 delivered after 967; offsets 968..968 were skipped"


def test_a_skip_between_batches_is_caught() -> None:
    seen = Continuity()
    assert seen.skipped([(3, 10), (3, 11)]) is None
    assert seen.skipped([(3, 14)]) == (
        "partition 3: offset 14 delivered after 11; offsets 12..13 were skipped"
    )


def test_a_redelivery_is_no_fault_and_does_not_move_the_next_offset_back() -> None:
    # A seek back to the committed offset redelivers records already seen; the records
    # after them must still follow on from the furthest seen.
    seen = Continuity()
    assert seen.skipped([(0, o) for o in range(20)]) is None
    assert seen.skipped([(0, o) for o in range(12, 20)]) is None
    assert seen.skipped([(0, 20), (0, 21)]) is None
    assert seen.skipped([(0, 12), (0, 23)]) is not None  # 22 never came


def test_after_a_rebalance_a_partition_may_start_further_on() -> None:
    # Another member folded and committed it meanwhile: its committed offset is ahead.
    seen = Continuity()
    assert seen.skipped([(2, 5), (2, 6)]) is None
    seen.reset()
    assert seen.skipped([(2, 90), (2, 91)]) is None


def test_the_first_record_after_a_start_must_not_come_after_the_committed_offset() -> None:
    # Seen in session 14: a restart whose commit was 12 delivered the partition from 76.
    seen = Continuity()
    assert not seen.seeded
    seen.expect({0: 12, 1: 40})
    assert seen.seeded
    assert seen.skipped([(1, 38), (1, 39), (1, 40)]) is None  # redeliveries, then on
    assert seen.skipped([(0, 76)]) == (
        "partition 0: offset 76 delivered after 11; offsets 12..75 were skipped"
    )
    seen.reset()
    assert not seen.seeded
