"""API keys: created, named, listed and revoked (admins only)."""

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from services.intake.api.auth import forget_api_key
from services.intake.usecases.api_keys import (
    NewApiKey,
    api_keys,
    create_api_key,
    revoke_api_key,
)
from services.intake.web.accounts import text
from services.intake.web.deps import WebDeps
from services.intake.web.pages import render, require_admin


def routes(deps: WebDeps) -> list[BaseRoute]:
    async def keys_page(request: Request) -> Response:
        admin = require_admin(request)
        context: dict[str, Any] = {
            "keys": await api_keys(deps.accounts, admin),
            "revoked": request.query_params.get("revoked"),
            "errors": {},
            "form": {},
        }
        return render(request, "api_keys_list.html", context)

    async def create(request: Request) -> Response:
        admin = require_admin(request)
        name = text(await request.form(), "name")
        outcome = await create_api_key(deps.store, deps.accounts, admin, name)
        keys = await api_keys(deps.accounts, admin)
        if isinstance(outcome, NewApiKey):
            return render(request, "api_keys_list.html", {"keys": keys, "created": outcome})
        context = {"keys": keys, "errors": outcome, "form": {"name": name}}
        return render(request, "api_keys_list.html", context, status_code=400)

    async def revoke(request: Request) -> Response:
        admin = require_admin(request)
        key_id = request.path_params["key_id"]
        if not await revoke_api_key(deps.accounts, admin, key_id):
            raise HTTPException(404, "no-such-key")
        forget_api_key(key_id)  # refused at once by the API in this process
        return RedirectResponse(f"/api-keys?revoked={key_id}", status_code=303)

    return [
        Route("/api-keys", keys_page, methods=["GET"]),
        Route("/api-keys/create", create, methods=["POST"]),
        Route("/api-keys/{key_id}/revoke", revoke, methods=["POST"]),
    ]
