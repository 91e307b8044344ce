"""Consumes verification requests: asks the bodies, decides, issues a code, records it all."""

import asyncio
from datetime import UTC, datetime

from services.contracts.events import Verdict, VerdictReached, VerificationRequested
from services.runtime.kafka import BatchHandler, ConsumedEvent
from services.runtime.observability import request_id_var
from services.runtime.tracing import child_traceparent
from services.verifier.channels.contact import BodyContacts
from services.verifier.domain.verdicts import decide
from services.verifier.registry_client import RegistryClient
from services.verifier.store.repository import VerifierStore


class RequestVerifier:
    def __init__(self, contacts: BodyContacts, registry: RegistryClient, store: VerifierStore):
        self._contacts = contacts
        self._registry = registry
        self._store = store

    async def verify(self, request: VerificationRequested, traceparent: str | None) -> None:
        request_id_var.set(str(request.request_id))
        answers = await self._contacts.ask_all(request)
        decision = decide(answers, request.holder.name)
        decided_at = datetime.now(UTC)
        code = None
        if decision.verdict == Verdict.AUTHENTIC:
            code = await self._registry.issue_code(request, decided_at)
        verdict = VerdictReached(
            request_id=request.request_id,
            employer_id=request.employer_id,
            region=request.region,
            qualification_id=request.qualification_id,
            holder_ref=request.holder.holder_ref,
            verdict=decision.verdict,
            reason=decision.reason,
            checks=decision.checks,
            verification_code=code,
            decided_at=decided_at,
        )
        await self._store.record(verdict, answers, child_traceparent(traceparent))


def request_handler(verifier: RequestVerifier, store: VerifierStore) -> BatchHandler:
    async def handle(batch: list[ConsumedEvent]) -> None:
        requests = {
            c.event.request_id: (c.event, c.traceparent)
            for c in batch
            if isinstance(c.event, VerificationRequested)
        }
        done = await store.decided(list(requests))
        results = await asyncio.gather(
            *(
                verifier.verify(event, trace)
                for key, (event, trace) in requests.items()
                if key not in done
            ),
            return_exceptions=True,
        )
        for result in results:
            if isinstance(result, BaseException):
                raise result

    return handle
