"""What the console's clients of the services' operator APIs share: one HTTP client carrying
the operator token, a bounded wait, answers read into models, and problem details read for
their message in both languages. Each client maps refusals to its own domain errors."""

import logging
from typing import Any, Self, TypeVar

import httpx
from pydantic import BaseModel, ConfigDict, ValidationError

from services.console.domain.bodies import Bilingual

log = logging.getLogger(__name__)

TIMEOUT_SECONDS = 5.0
_M = TypeVar("_M", bound=BaseModel)


class Answer(BaseModel):
    """A service's answer as the console reads it: fields it does not know are ignored."""

    model_config = ConfigDict(frozen=True, extra="ignore")


class OperatorApi:
    """Over one `httpx.AsyncClient` whose base URL is the service's port. Subclasses name the
    service and say which error means it cannot be used just now."""

    service = "service"

    def __init__(self, client: httpx.AsyncClient, operator_token: str) -> None:
        self._client = client
        self._auth = {"Authorization": f"Bearer {operator_token}"}

    @classmethod
    def connect(cls, url: str, operator_token: str) -> Self:
        """With a client of its own (close it with `aclose`); a slow service fails a page
        within `TIMEOUT_SECONDS`, it never hangs it."""
        return cls(httpx.AsyncClient(base_url=url, timeout=TIMEOUT_SECONDS), operator_token)

    async def aclose(self) -> None:
        await self._client.aclose()

    def unavailable(self, unexpected: bool = False) -> Exception:
        raise NotImplementedError

    async def _send(self, method: str, path: str, **options: Any) -> httpx.Response:
        """The service's answer, whatever its status; unreachable: `unavailable()`."""
        try:
            return await self._client.request(method, path, headers=self._auth, **options)
        except httpx.HTTPError as error:
            log.warning(f"{self.service} unreachable", extra={"error": type(error).__name__})
            raise self.unavailable() from error

    def _parse(self, model: type[_M], response: httpx.Response) -> _M:
        try:
            return model.model_validate_json(response.content)
        except ValidationError as error:
            log.warning(
                f"{self.service} answer not understood", extra={"errors": error.error_count()}
            )
            raise self.unavailable(unexpected=True) from error


def problem_message(response: httpx.Response) -> Bilingual | None:
    """The bilingual message of a problem-details answer, if it has one."""
    try:
        message = response.json()["message"]
        return Bilingual(en=str(message["en"]), zh=str(message["zh"]))
    except (ValueError, KeyError, TypeError):
        return None
