"""The arithmetic of the topics view (pure): lag and max lag time, rates from samples,
catch-up time, the stalled rule and the pipeline graph."""

from datetime import UTC, datetime, timedelta

from services.console.domain.offsets import (
    GroupPosition,
    KafkaSnapshot,
    Partition,
    PartitionOffsets,
    TopicInfo,
    group_positions,
)
from services.console.domain.pipeline import Hop, NodeKind, build_pipeline, is_stalled, layout
from services.console.domain.rates import (
    CatchUpState,
    Point,
    catch_up,
    rate,
    rate_series,
    within,
)

T0 = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_a_partition_without_commit_counts_from_the_log_start_and_other_topics_are_left_out() -> (
    None
):
    logs = {
        Partition("a", 0): PartitionOffsets("a", 0, 10, 50),
        Partition("a", 1): PartitionOffsets("a", 1, 0, 7),
        Partition("b", 0): PartitionOffsets("b", 0, 0, 99),
    }
    positions = group_positions("g", {Partition("a", 0): 40}, [], logs)
    assert [(p.partition, p.committed, p.position, p.lag) for p in positions] == [
        (0, 40, 40, 10),
        (1, None, 0, 7),
    ]


def test_an_assigned_topic_without_commits_is_included() -> None:
    logs = {Partition("b", 0): PartitionOffsets("b", 0, 3, 5)}
    (position,) = group_positions("g", {}, [Partition("b", 0)], logs)
    assert (position.position, position.lag) == (3, 2)


def test_max_lag_time_is_the_age_of_the_oldest_unconsumed_record() -> None:
    waiting = GroupPosition("g", "a", 0, 4, 4, 9, oldest_unconsumed_at=T0)
    assert waiting.lag_seconds(T0 + timedelta(seconds=42)) == 42
    caught_up = GroupPosition("g", "a", 1, 9, 9, 9)
    assert caught_up.lag_seconds(T0) == 0
    unknown = GroupPosition("g", "a", 2, 4, 4, 9)
    assert unknown.lag_seconds(T0) is None


def test_snapshot_totals_per_group_and_dead_letter_counts() -> None:
    snapshot = KafkaSnapshot(
        taken_at=T0 + timedelta(seconds=100),
        topics=(
            TopicInfo("a", 2, None, "delete"),
            TopicInfo("a.dlq", 1, 1000, "delete"),
        ),
        offsets=(
            PartitionOffsets("a", 0, 0, 10),
            PartitionOffsets("a", 1, 0, 10),
            PartitionOffsets("a.dlq", 0, 2, 5),
        ),
        groups=(),
        positions=(
            GroupPosition("g", "a", 0, 5, 5, 10, oldest_unconsumed_at=T0),
            GroupPosition("g", "a", 1, 8, 8, 10),  # waiting, its oldest record not read
        ),
    )
    assert snapshot.group_lag() == {("g", "a"): 7}
    assert snapshot.group_lag_seconds() == {("g", "a"): 100}
    assert snapshot.dead_letter_counts() == {"a.dlq": 3}


def test_rates_come_from_the_first_and_last_sample_of_the_window() -> None:
    points = [Point(T0 + timedelta(seconds=5 * i), 100 + 20 * i) for i in range(4)]
    assert rate(points) == 4.0
    assert rate(points[:1]) is None
    assert rate([points[2], Point(points[3].at, 0)]) is None  # the counter went back
    assert rate_series(points) == [(p.at, 4.0) for p in points[1:]]
    assert within(points, T0 + timedelta(seconds=7)) == points[1:]


def test_catch_up_time_is_lag_over_the_net_rate() -> None:
    assert catch_up(0, None, None).state is CatchUpState.CAUGHT_UP
    assert catch_up(1000, 50.0, 150.0).seconds == 10.0
    assert catch_up(1000, 150.0, 150.0).state is CatchUpState.NOT_CATCHING_UP
    assert catch_up(100, 20.0, 2.0).state is CatchUpState.NOT_CATCHING_UP
    assert catch_up(100, 0.0, 0.0).state is CatchUpState.NOT_CATCHING_UP
    assert catch_up(100, None, 2.0).state is CatchUpState.UNKNOWN
    # A record or two waiting while a busy group reads on is not falling behind.
    assert catch_up(3, 20.0, 19.5).state is CatchUpState.KEEPING_UP


def test_a_hop_is_stalled_when_nothing_was_consumed_while_records_waited_the_whole_window() -> None:
    rule = {"window_seconds": 30.0, "stall_seconds": 60.0}
    assert is_stalled(5, 0.0, 45.0, **rule)
    assert not is_stalled(5, 0.0, 3.0, **rule)  # it just arrived
    assert not is_stalled(5, 2.0, 45.0, **rule)  # being consumed
    assert not is_stalled(0, 0.0, 0.0, **rule)  # nothing waits
    assert is_stalled(5, 2.0, 61.0, **rule)  # consumed, but too slowly for the oldest
    assert is_stalled(5, 0.0, None, **rule)  # the oldest unknown, nothing consumed
    assert not is_stalled(5, None, None, **rule)  # not measured yet


def test_the_pipeline_joins_producers_topics_and_groups() -> None:
    pipeline = build_pipeline(
        ["verification.requested.v1", "verification.requested.v1.dlq", "scratch"],
        {"verification.requested.v1": 12.5, "verification.requested.v1.dlq": 0.0},
        [
            Hop("verifier", "verification.requested.v1", 12.0, 40, 75.0, True),
            Hop("verifier", "gone.topic", 1.0, 0, 0.0, False),
        ],
    )
    kinds = {n.id: n.kind for n in pipeline.nodes}
    assert kinds == {
        "topic:verification.requested.v1": NodeKind.TOPIC,
        "topic:verification.requested.v1.dlq": NodeKind.TOPIC,
        "topic:scratch": NodeKind.TOPIC,
        "group:verifier": NodeKind.GROUP,
        "service:intake": NodeKind.SERVICE,
    }
    edges = {(e.source, e.target): e for e in pipeline.edges}
    assert edges[("service:intake", "topic:verification.requested.v1")].rate == 12.5
    hop = edges[("topic:verification.requested.v1", "group:verifier")]
    assert (hop.rate, hop.lag, hop.stalled) == (12.0, 40, True)
    assert ("group:verifier", "topic:verification.requested.v1.dlq") in edges
    assert pipeline.stalled == (hop,)
    placed = layout(pipeline).placed
    assert placed["service:intake"].x < placed["topic:scratch"].x < placed["group:verifier"].x
