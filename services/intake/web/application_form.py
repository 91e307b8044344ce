"""The form of one application: its fields are named as the CSV batch's columns, so a form
becomes the same application object a CSV row does, and a refusal's JSON pointers lead back to
the fields (`column_of`)."""

import secrets
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from starlette.datastructures import FormData, ImmutableMultiDict

from services.intake.api.batch_input import CHANNEL_PREFIX, application_of_columns, column_of
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.domain.errors import Refusal
from services.reference.catalogue.model import Qualification, UnknownQualificationError

TEXT_FIELDS = (
    "qualification_id",
    "region",
    "holder_name",
    "holder_name_zh",
    "nationality",
    "document_type",
    "document_number",
    "certificate_number",
    "issued_on",
    "expires_on",
)
IDEMPOTENCY_FIELD = "idempotency_key"

# What the employer is asked for each field a body's channel may require: label, hint.
_CHANNEL_FIELD_TEXT: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "credential_jwt": (
        ("Digital credential (JWT)", "电子证书（JWT）"),
        (
            "The signed credential the awarding body issued to the holder: the whole text, "
            "starting with eyJ",
            "颁发机构签发给持证人的电子证书全文（以 eyJ 开头）",
        ),
    ),
    "badge_url": (
        ("Badge address", "电子徽章网址"),
        ("The https address of the holder's digital badge", "持证人电子徽章的 https 网址"),
    ),
    "validation_number": (
        ("Validation number", "验证编号"),
        ("As printed on the certificate, beside its number", "证书上印制的验证编号"),
    ),
    "credential_id": (
        ("Credential id", "证书凭据编号"),
        ("The id the awarding body gives the credential", "颁发机构为该证书分配的凭据编号"),
    ),
    "credential_url": (
        ("Credential address", "证书凭据网址"),
        ("The https address where the body shows the credential", "颁发机构展示该证书的网址"),
    ),
}
_OTHER_CHANNEL_FIELD_HINT = (
    "The awarding body's verification channel needs it",
    "颁发机构的核验渠道需要此项",
)


@dataclass(frozen=True)
class ChannelField:
    name: str
    label: tuple[str, str]  # English, Chinese
    hint: tuple[str, str]
    value: str

    @property
    def input_name(self) -> str:
        return CHANNEL_PREFIX + self.name


@dataclass(frozen=True)
class BodyChoice:
    id: str
    name: str
    checked: bool


@dataclass(frozen=True)
class ChosenQualification:
    """The qualification picked, its awarding bodies (checked ones asked) and the channel
    fields the checked bodies need."""

    qualification: Qualification
    bodies: list[BodyChoice]
    channel_fields: list[ChannelField]


@dataclass
class ApplicationForm:
    values: dict[str, str] = field(default_factory=dict)
    body_ids: list[str] | None = None  # None: every body of the qualification (not yet chosen)
    consent: bool = False
    channel_values: dict[str, str] = field(default_factory=dict)
    idempotency_key: str = field(default_factory=lambda: "web-" + secrets.token_urlsafe(18))

    @classmethod
    def read(cls, form: FormData | ImmutableMultiDict[str, Any]) -> "ApplicationForm":
        """The form as posted (or a query string): values exactly as typed."""
        chosen = [str(b) for b in form.getlist("body_ids")]
        key = str(form.get(IDEMPOTENCY_FIELD) or "")
        return cls(
            values={name: str(form.get(name) or "") for name in TEXT_FIELDS},
            body_ids=chosen if chosen or form.get("bodies_shown") else None,
            consent=form.get("consent") == "yes",
            channel_values={
                name.removeprefix(CHANNEL_PREFIX): str(value)
                for name, value in form.multi_items()
                if name.startswith(CHANNEL_PREFIX) and isinstance(value, str)
            },
            **({"idempotency_key": key[:200]} if key else {}),
        )

    def application(self, chosen: "ChosenQualification | None") -> dict[str, Any]:
        """The application object, as the API and a CSV row carry it."""
        columns = {name: self.values.get(name, "") for name in TEXT_FIELDS}
        columns["consent"] = "true" if self.consent else "false"
        columns["body_ids"] = ""
        asked = chosen_fields(chosen)
        for name, value in self.channel_values.items():
            if name in asked:  # fields of bodies no longer chosen are not sent
                columns[CHANNEL_PREFIX + name] = value
        application = application_of_columns(columns)
        every_body = chosen is not None and self.body_ids == [b.id for b in chosen.bodies]
        if self.body_ids is not None and not every_body:
            application["body_ids"] = self.body_ids
        return application


def chosen_fields(chosen: ChosenQualification | None) -> set[str]:
    return {f.name for f in chosen.channel_fields} if chosen else set()


def choose(
    catalogue: EditionCatalogue, channels: ChannelDirectory, form: ApplicationForm
) -> ChosenQualification | None:
    """The chosen qualification with its bodies and channel fields, None if none or unknown."""
    qualification_id = form.values.get("qualification_id", "")
    try:
        qualification = catalogue.current.qualification(qualification_id)
    except UnknownQualificationError:
        return None
    names = {b.id: b.name for b in catalogue.edition.bodies_of(qualification.id)}
    checked = set(qualification.body_ids if form.body_ids is None else form.body_ids)
    bodies = [BodyChoice(b, names.get(b, b), b in checked) for b in qualification.body_ids]
    asked = [b.id for b in bodies if b.checked]
    required = dict.fromkeys(n for ns in channels.required_fields(asked).values() for n in ns)
    return ChosenQualification(
        qualification, bodies, [_channel_field(name, form.channel_values) for name in required]
    )


def _channel_field(name: str, values: dict[str, str]) -> ChannelField:
    label, hint = _CHANNEL_FIELD_TEXT.get(name, ((name, name), _OTHER_CHANNEL_FIELD_HINT))
    return ChannelField(name, label, hint, values.get(name, ""))


Message = tuple[str, str]  # English, Chinese


@dataclass(frozen=True)
class FormErrors:
    """A refusal laid out on the form: its title, each field's messages, and those of no field."""

    title: Message
    by_field: dict[str, list[Message]]
    general: list[Message]


def form_errors(refusal: Refusal, fields: Sequence[str]) -> FormErrors:
    by_field: dict[str, list[Message]] = defaultdict(list)
    general = []
    for problem in refusal.problems:
        message = (problem.detail_en, problem.detail_zh)
        column = column_of(problem.pointer)
        if column is not None and column in fields:
            by_field[column].append(message)
        else:
            general.append(message)
    return FormErrors((refusal.title_en, refusal.title_zh), dict(by_field), general)


def form_field_names(chosen: ChosenQualification | None) -> list[str]:
    """Every field a message can be shown next to."""
    channel = [f.input_name for f in chosen.channel_fields] if chosen else []
    return [*TEXT_FIELDS, "body_ids", "consent", *channel]
