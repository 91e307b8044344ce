"""What the employer pages need, made once at start-up (services/intake/__main__.py)."""

from dataclasses import dataclass

from services.intake.adapters.pdf_report import PdfReports
from services.intake.applying import Applying
from services.intake.catalogue import EditionCatalogue
from services.intake.channels import ChannelDirectory
from services.intake.settings import IntakeSettings
from services.intake.store.accounts import AccountStore
from services.intake.store.repository import IntakeStore
from services.runtime.secret_box import SecretBox


@dataclass(frozen=True)
class WebDeps:
    settings: IntakeSettings
    store: IntakeStore
    accounts: AccountStore
    applying: Applying
    catalogue: EditionCatalogue
    channels: ChannelDirectory
    # Seals what crosses Kafka (account e-mail addresses and links), shared with the notifier.
    mail_box: SecretBox
    # Seals users' TOTP secrets at rest; intake's alone.
    data_box: SecretBox
    # Renders verification reports (PDF) off the event loop.
    reports: PdfReports
