"""Each verifier's share of an awarding body's declared concurrency. Pure.

The live verifiers, sorted by name, split a body's `concurrency`: each gets the quotient, and
the first `concurrency % n` one more, so the shares add up to the concurrency exactly. With more
verifiers than the concurrency each still gets one (a body that allows 5 calls at once is asked
by at most 6 verifiers at once when 6 run): starving a verifier of a body would leave its
requests for that body to time out instead.
"""


def share_of(concurrency: int, live: list[str], me: str) -> int:
    """My share of `concurrency` among `live` (me counted whether listed or not)."""
    replicas = sorted(set(live) | {me})
    quotient, remainder = divmod(concurrency, len(replicas))
    return max(1, quotient + (1 if replicas.index(me) < remainder else 0))
