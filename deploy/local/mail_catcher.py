"""The local mail catcher of `make run`: receives every e-mail the notifier sends over SMTP,
keeps each as an `.eml` file, and shows them over HTTP (development only; it delivers nothing).

    uv run python -m deploy.local.mail_catcher

`MAILCATCHER_SMTP_PORT` (1025), `MAILCATCHER_HTTP_PORT` (8089), `MAILCATCHER_DIRECTORY`
(`.local/mail`). `GET /` lists the messages, newest first; `GET /messages/{name}` is one
message as sent; `/healthz` (and `/readyz`) is the health check.
"""

import asyncio
import email
import email.policy
import itertools
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP
from pydantic_settings import BaseSettings, SettingsConfigDict
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from services.runtime.lifecycle import http_server, run_service, run_until_stopped
from services.runtime.observability import configure_logging

REPO_ROOT = Path(__file__).resolve().parents[2]


class MailCatcherSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="MAILCATCHER_")

    host: str = "127.0.0.1"
    smtp_port: int = 1025
    http_port: int = 8089
    directory: Path = REPO_ROOT / ".local" / "mail"


class MailDrop:
    """aiosmtpd handler: accepts any message and writes it, as received, to the directory."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._serial = itertools.count(1)

    async def handle_DATA(self, _server: Any, _session: Any, envelope: Any) -> str:
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        path = self.directory / f"{stamp}-{next(self._serial):04d}.eml"
        path.write_bytes(envelope.original_content or envelope.content)
        return "250 OK: caught"

    def listing(self) -> list[dict[str, str]]:
        return [self._summary(path) for path in sorted(self.directory.glob("*.eml"), reverse=True)]

    def _summary(self, path: Path) -> dict[str, str]:
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        return {
            "name": path.name,
            "from": str(message.get("From", "")),
            "to": str(message.get("To", "")),
            "subject": str(message.get("Subject", "")),
            "date": str(message.get("Date", "")),
            "url": f"/messages/{path.name}",
        }


def mail_app(drop: MailDrop) -> Starlette:
    async def index(_request: Request) -> JSONResponse:
        return JSONResponse({"directory": str(drop.directory), "messages": drop.listing()})

    async def message(request: Request) -> Response:
        name = request.path_params["name"]
        path = drop.directory / name
        if "/" in name or not name.endswith(".eml") or not path.is_file():
            return JSONResponse({"detail": "no such message"}, status_code=404)
        return Response(path.read_bytes(), media_type="message/rfc822")

    async def health(_request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[
            Route("/", index),
            Route("/messages/{name}", message),
            Route("/healthz", health),
            Route("/readyz", health),
        ]
    )


async def main() -> None:
    settings = MailCatcherSettings()
    configure_logging("mail-catcher", "INFO")
    settings.directory.mkdir(parents=True, exist_ok=True)
    drop = MailDrop(settings.directory)
    smtp = await asyncio.get_running_loop().create_server(
        lambda: SMTP(drop, hostname="mail-catcher.local", enable_SMTPUTF8=True),
        host=settings.host,
        port=settings.smtp_port,
    )
    try:
        await run_until_stopped(
            {}, [http_server(mail_app(drop), settings.host, settings.http_port)]
        )
    finally:
        smtp.close()
        await smtp.wait_closed()


if __name__ == "__main__":
    run_service(main)
