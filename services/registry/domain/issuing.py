"""The catalogue's say on issuing a code: only for a qualification it holds, and only from
bodies that award it."""

from services.reference.catalogue.model import Catalogue, UnknownQualificationError
from services.registry.domain.errors import InvalidField, UnknownQualification
from services.registry.domain.verifications import IssueRequest


def ensure_awarded(catalogue: Catalogue, request: IssueRequest) -> None:
    """Raises UnknownQualification, or InvalidField naming body_ids, before anything is written."""
    try:
        catalogue.qualification(request.qualification_id)
    except UnknownQualificationError:
        raise UnknownQualification(request.qualification_id) from None
    awarding = {body.id for body in catalogue.bodies_of(request.qualification_id)}
    strangers = [body_id for body_id in request.body_ids if body_id not in awarding]
    if strangers:
        listed = ", ".join(strangers)
        raise InvalidField(
            "body_ids",
            f"{listed} does not award {request.qualification_id}",
            f"{listed} 不颁发 {request.qualification_id}",
        )
