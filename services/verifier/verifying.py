"""Verifying requests: taken on from Kafka in batches (claimed in the consumer's transaction, so
the offsets can be committed at once), worked on concurrently, parked while a body answers
later, finished by whichever verifier holds the request's lease.

At-least-once with idempotent effects: a verifier that dies leaves its leases to expire; another
verifier's sweeper takes the requests over. One verdict per request is guaranteed by the verdict
table's key; the registry, which consumes the verdicts, issues the code of an authentic one.
"""

import asyncio
import logging
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from services.contracts.events import (
    BodyContact,
    LocalizedText,
    Stage,
    Verdict,
    VerdictReached,
    VerificationProgressed,
    VerificationRequested,
)
from services.runtime.batching import GroupCommit
from services.runtime.db import Connection
from services.runtime.observability import request_id_var
from services.runtime.resilience import TRANSIENT_ERRORS, describe
from services.runtime.tracing import child_traceparent
from services.verifier.channels.contact import BodyContacts, Contacted
from services.verifier.domain.verdicts import BodyAnswer, BodyStatus, decide
from services.verifier.store.repository import Enquiry, Recording, VerifierStore, Work

log = logging.getLogger(__name__)

_WAITING_NOTE = LocalizedText(
    zh="颁发机构暂时无法访问，恢复后继续核验",
    en="An awarding body is down; verification resumes when it is back",
)
_PARKED_NOTE = LocalizedText(
    zh="已向颁发机构发出查询，等待其答复",
    en="An enquiry was sent to the awarding body; awaiting its answer",
)


class RequestVerifier:
    def __init__(
        self,
        contacts: BodyContacts,
        store: VerifierStore,
        *,
        owner: str,
        lease_seconds: float = 30.0,
        max_in_flight: int = 5000,
        max_takeovers: int = 5,
    ) -> None:
        self._max_takeovers = max_takeovers
        self._contacts = contacts
        self._store = store
        self._owner = owner
        self._lease_seconds = lease_seconds
        self._max_in_flight = max_in_flight
        self._in_flight: dict[UUID, asyncio.Task[None]] = {}
        self._recorder = GroupCommit(store.record_many)
        self._room = asyncio.Event()
        self._room.set()

    @property
    def in_flight(self) -> int:
        return len(self._in_flight)

    async def take_on(
        self, conn: Connection, requests: list[tuple[VerificationRequested, str | None]]
    ) -> Callable[[], None]:
        """Claim a consumed batch inside `conn`'s transaction (the consumer's); returns what
        starts the work, to be called once that transaction has committed (never before: a
        rolled-back claim must not be worked on). Waits first while too much is in flight."""
        while len(self._in_flight) >= self._max_in_flight:
            self._room.clear()
            await self._room.wait()
        taken = await self._store.take_on(conn, requests, self._owner, self._lease_seconds)

        def start() -> None:
            for request, trace in requests:
                if request.request_id in taken:
                    self._start(request.request_id, self.verify(request, trace))

        return start

    def resume(self, work: Work) -> None:
        """Continue a request taken over from a dead verifier, or a parked one now answered;
        give up on one that failed too often (it would never end otherwise)."""
        if work.takeovers > self._max_takeovers:
            self._start(work.request.request_id, self._give_up(work))
        else:
            self._start(work.request.request_id, self._resume(work))

    async def answer_arrived(self, reference: str, answer: BodyAnswer) -> bool:
        """A late answer (callback or operator): stored first, then the request resumes in the
        background; False if the enquiry is unknown."""
        request_id = await self._store.store_enquiry_answer(
            reference, answer, self._owner, self._lease_seconds
        )
        if request_id is None:
            return False
        work = await self._store.load(request_id)
        if work is not None and work.state == "parked":
            answers = await self._store.enquiry_answers(request_id)
            if all(a is not None for a in answers.values()):
                self.resume(work)
        return True

    async def renew_leases(self) -> None:
        await self._store.renew_leases(self._owner, list(self._in_flight), self._lease_seconds)

    async def sweep(self, limit: int = 200) -> int:
        claimed = await self._store.claim_abandoned(self._owner, self._lease_seconds, limit)
        for work in claimed:
            log.info("request taken over", extra={"request_id": str(work.request.request_id)})
            self.resume(work)
        return len(claimed)

    async def drain(self) -> None:
        """Wait for the work in flight (tests)."""
        while self._in_flight:
            await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    def _start(self, request_id: UUID, work: Coroutine[Any, Any, None]) -> None:
        if request_id in self._in_flight:
            work.close()
            return
        task = asyncio.create_task(self._guarded(request_id, work))
        self._in_flight[request_id] = task

    async def _guarded(self, request_id: UUID, work: Coroutine[Any, Any, None]) -> None:
        request_id_var.set(str(request_id))
        try:
            await work
        except Exception as error:  # the lease expires and the sweeper retries
            log.warning("verification failed; it will be retried", extra={"error": describe(error)})
        finally:
            self._in_flight.pop(request_id, None)
            self._room.set()

    async def verify(self, request: VerificationRequested, traceparent: str | None) -> None:
        waited: set[str] = set()

        async def on_wait(body_id: str, expected: datetime) -> None:
            if body_id not in waited:
                waited.add(body_id)
                event = self._progress(request, Stage.WAITING_FOR_BODY, expected, _WAITING_NOTE)
                await self._store.announce([event], traceparent)

        contacts = await self._contacts.ask_all(request, on_wait)
        pending = [c for c in contacts if c.answer.status == BodyStatus.PENDING]
        if pending:
            await self._park(request, traceparent, contacts, pending)
        else:
            await self._finish(request, traceparent, contacts, contacts)

    async def _park(
        self,
        request: VerificationRequested,
        traceparent: str | None,
        contacts: list[Contacted],
        pending: list[Contacted],
    ) -> None:
        now = datetime.now(UTC)
        configs = {c.answer.body_id: self._contacts.channel_of(c.answer.body_id) for c in pending}
        enquiries = [
            Enquiry(
                c.answer.detail,
                c.answer.body_id,
                now + timedelta(seconds=configs[c.answer.body_id].deadline_seconds),
            )
            for c in pending
        ]
        expected = now + timedelta(seconds=max(cfg.turnaround_seconds for cfg in configs.values()))
        progress = self._progress(request, Stage.PARKED, expected, _PARKED_NOTE)
        await self._store.park(request.request_id, contacts, enquiries, progress, traceparent)
        log.info("request parked", extra={"bodies": sorted(configs)})

    async def _resume(self, work: Work) -> None:
        if work.state == "active":
            await self.verify(work.request, work.traceparent)
            return
        answers = await self._store.enquiry_answers(work.request.request_id)
        kept = [c for c in work.answers if c.answer.status != BodyStatus.PENDING]
        now = datetime.now(UTC)
        late: list[Contacted] = []
        for contact in work.answers:
            if contact.answer.status != BodyStatus.PENDING:
                continue
            arrived = answers.get(contact.answer.body_id)
            seconds = (now - contact.asked_at).total_seconds()
            if arrived is not None:
                self._contacts.record_late_answer(contact.answer.body_id, seconds)
            answer = arrived or _unanswered(contact.answer)
            late.append(Contacted(answer, contact.asked_at, seconds, contact.attempts))
        await self._finish(work.request, work.traceparent, kept + late, late)

    async def _give_up(self, work: Work) -> None:
        log.error("verification kept failing; giving up", extra={"takeovers": work.takeovers})
        now = datetime.now(UTC)
        contacts = [
            Contacted(
                BodyAnswer(
                    body_id,
                    self._contacts.channel_of(body_id).type,
                    BodyStatus.UNREACHABLE,
                    detail=f"verification failed {work.takeovers} times; gave up",
                ),
                now,
                0.0,
                0,
            )
            for body_id in work.request.body_ids
        ]
        await self._finish(work.request, work.traceparent, contacts, contacts)

    async def _finish(
        self,
        request: VerificationRequested,
        traceparent: str | None,
        contacts: list[Contacted],
        new_evidence: list[Contacted],
    ) -> None:
        decision = decide([c.answer for c in contacts], request.holder.name)
        authentic = decision.verdict == Verdict.AUTHENTIC
        verdict = VerdictReached(
            request_id=request.request_id,
            employer_id=request.employer_id,
            region=request.region,
            qualification_id=request.qualification_id,
            holder_ref=request.holder.holder_ref,
            verdict=decision.verdict,
            reason=decision.reason,
            checks=decision.checks,
            # The registry masks it on the code it issues; nobody else needs the name.
            holder_name=request.holder.name if authentic else None,
            decided_at=datetime.now(UTC),
            contacts=[
                BodyContact(body_id=c.answer.body_id, channel=c.answer.channel, seconds=c.seconds)
                for c in contacts
            ],
        )
        await self._recorder.submit(
            Recording(verdict, new_evidence, child_traceparent(traceparent))
        )

    @staticmethod
    def _progress(
        request: VerificationRequested, stage: Stage, expected: datetime, note: LocalizedText
    ) -> VerificationProgressed:
        return VerificationProgressed(
            request_id=request.request_id,
            employer_id=request.employer_id,
            stage=stage,
            expected_completion_at=expected,
            note=note,
        )


def _unanswered(pending: BodyAnswer) -> BodyAnswer:
    return BodyAnswer(
        pending.body_id,
        pending.channel,
        BodyStatus.UNREACHABLE,
        detail="the body did not answer the enquiry before the deadline",
        asked=pending.asked,
    )


async def keep_leases(verifier: RequestVerifier, interval_seconds: float) -> None:
    """Renew the leases of the work in flight, and take over abandoned or answered work."""
    while True:
        try:
            await verifier.renew_leases()
            await verifier.sweep()
        except TRANSIENT_ERRORS as error:  # the database is away; try again next round
            log.warning("lease keeping failed", extra={"error": describe(error)})
        await asyncio.sleep(interval_seconds)
