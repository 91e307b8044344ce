"""What the console's pages are given: the stores, the use cases and the adapters to the
broker, the registry and the verifier (each section's module takes what it needs)."""

from dataclasses import dataclass

import asyncpg

from services.console.adapters.intake import IntakeOperator
from services.console.adapters.registry import RegistryOperator
from services.console.adapters.verifier import VerifierOps
from services.console.settings import ConsoleSettings
from services.console.store.accounts import Accounts
from services.console.store.audit import AuditLog
from services.console.usecases.catalogue_watch import CatalogueWatchUse
from services.console.usecases.dead_letters import DeadLetters
from services.console.usecases.flow import FlowWatch
from services.console.usecases.sign_in import SignIn
from services.console.usecases.topics import TopicsOverviewReader


@dataclass
class Deps:
    settings: ConsoleSettings
    pool: asyncpg.Pool
    accounts: Accounts
    audit: AuditLog
    sign_in: SignIn
    # Adapters and use cases of the sections; None where not configured (tests of one section).
    verifier: VerifierOps | None = None  # awarding bodies and enquiries (the verifier's API)
    registry: RegistryOperator | None = None  # codes, access trails, subscribers, catalogue
    flow: FlowWatch | None = None  # the flow of verifications (the console's projection)
    catalogue_watch: CatalogueWatchUse | None = None  # catalogue use and withdrawals
    topics: TopicsOverviewReader | None = None  # topics, groups, lag, the pipeline graph
    dead_letters: DeadLetters | None = None  # parked records, replay and discard
    intake: IntakeOperator | None = None  # employers waiting for approval (intake's API)
