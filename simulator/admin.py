"""Runtime fault configuration: `GET /admin/faults`, `PUT|DELETE /admin/faults/{body_id}`.

`_default` in place of a body id addresses the global default (DELETE restores the one the
simulator started with).
"""

from typing import Annotated, Any

from fastapi import APIRouter, Body, Response
from fastapi.responses import JSONResponse
from pydantic import ValidationError

from simulator.bodies import DEFAULT_FAULTS_KEY, require_body_id
from simulator.faults import FaultBook, FaultConfig


def build_router(faults: FaultBook) -> APIRouter:
    router = APIRouter(prefix="/admin/faults", tags=["admin"])

    @router.get("")
    async def show() -> dict[str, Any]:
        return {
            "default": faults.default.model_dump(),
            "bodies": {body: faults.effective(body).model_dump() for body in faults.overrides},
            "overrides": faults.overrides,
        }

    @router.put("/{body_id}")
    async def replace(body_id: str, payload: Annotated[dict[str, Any], Body()]) -> Response:
        try:
            if body_id == DEFAULT_FAULTS_KEY:
                config = FaultConfig.model_validate(payload)
                faults.set_default(config)
            else:
                config = faults.set_override(require_body_id(body_id), payload)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            return JSONResponse({"error": "invalid_fault_config", "details": errors}, 422)
        return JSONResponse(config.model_dump())

    @router.delete("/{body_id}", status_code=204)
    async def clear(body_id: str) -> Response:
        if body_id == DEFAULT_FAULTS_KEY:
            faults.reset_default()
        else:
            faults.clear_override(require_body_id(body_id))
        return Response(status_code=204)

    return router
