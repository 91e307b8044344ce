"""The HTTP application of intake: routers wired to the use cases; the only place that
knows HTTP exists (with the modules of this package)."""

from dataclasses import dataclass, field

from fastapi import FastAPI

from services.intake.api.apply_lane import ApplyLane, apply_answer
from services.intake.api.auth import api_key_verifier, employer_dependency
from services.intake.api.batches import batch_routes
from services.intake.api.catalogue_routes import catalogue_routes
from services.intake.api.http_errors import install_error_handlers
from services.intake.api.openapi import install_openapi
from services.intake.api.operator_routes import operator_router
from services.intake.api.query_guard import UnknownQueryParameters
from services.intake.api.verifications import verification_routes
from services.intake.api.webhook_routes import webhook_router
from services.intake.applying import Applying
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.turnaround import TurnaroundPolicy
from services.intake.store.repository import IntakeStore
from services.intake.usecases.approving import Approving
from services.runtime.observability import HealthCheck, ops_routes
from services.runtime.resilience import Loops

DESCRIPTION = """\
Employer-facing API of the Beijing–Tianjin–Hebei verification platform for the
International Professional Qualification Recognition Catalogue (2025 Edition).

Authenticate with `Authorization: Bearer <API key>` (issued by an operator). Every
refusal is RFC 9457 problem details (`application/problem+json`) with a stable `type`
(`/problems/<code>`), a JSON pointer per bad field and the message in Chinese and English.
The catalogue routes are public.
"""


@dataclass(frozen=True)
class IntakeContext:
    store: IntakeStore
    catalogue: EditionCatalogue
    channels: ChannelDirectory
    holder_ref_key: bytes
    turnaround_policy: TurnaroundPolicy = field(default_factory=TurnaroundPolicy)
    max_batch_rows: int = 500
    # Operators' approval of employers (the console); without it the operator API is absent.
    approving: Approving | None = None
    operator_token: str = ""
    # The platform's own addresses, refused as webhooks (`IntakeSettings.own_service_urls`).
    own_service_urls: tuple[str, ...] = ()


def create_app(
    context: IntakeContext, health: dict[str, HealthCheck], loops: Loops | None = None
) -> FastAPI:
    app = FastAPI(
        title="Qualification verification — intake", version="1.1.0", description=DESCRIPTION
    )
    install_error_handlers(app)
    applying = Applying(
        context.store,
        context.catalogue,
        context.channels,
        context.holder_ref_key,
        context.turnaround_policy,
    )
    employer_of = api_key_verifier(context.store)
    employer = employer_dependency(context.store, employer_of)
    app.include_router(verification_routes(context.store, applying, employer))
    app.include_router(batch_routes(context.store, applying, employer, context.max_batch_rows))
    app.include_router(webhook_router(context))
    app.include_router(catalogue_routes(context.catalogue))
    if context.approving is not None:
        app.include_router(operator_router(context.approving, context.operator_token))
    app.router.routes.extend(ops_routes(health, loops))
    install_openapi(app)
    app.add_middleware(UnknownQueryParameters, routes=app.routes, openapi=lambda: app.openapi())
    app.add_middleware(
        ApplyLane, employer_of=employer_of, answer=apply_answer(context.store, applying)
    )
    return app
