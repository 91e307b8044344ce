"""Shares of a body's concurrency among live verifiers add up to it, and no verifier starves."""

import pytest

from services.verifier.domain.shares import share_of


@pytest.mark.parametrize("concurrency", [1, 2, 5, 10, 50])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
def test_the_shares_add_up_to_the_concurrency(concurrency: int, replicas: int) -> None:
    live = [f"verifier-{i}" for i in range(replicas)]
    shares = [share_of(concurrency, live, me) for me in live]
    assert sum(shares) == max(concurrency, replicas)
    assert max(shares) - min(shares) <= 1


def test_a_verifier_counts_itself_before_the_roster_lists_it() -> None:
    assert share_of(10, ["a"], "b") == 5
    assert share_of(10, [], "a") == 10


def test_when_a_verifier_leaves_no_survivor_gets_less() -> None:
    live = ["a", "b", "c", "d"]
    for gone in live:
        rest = [name for name in live if name != gone]
        for me in rest:
            assert share_of(7, rest, me) >= share_of(7, live, me)
