"""Assembles the HTTP application from the channel routers."""

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response

from simulator import admin, credential_api, enquiry_desk, register, signed_credentials
from simulator.bodies import UnknownBodyError
from simulator.context import SimulatorContext
from simulator.enquiry_desk import EnquiryDesk


def build_app(ctx: SimulatorContext, desk: EnquiryDesk) -> FastAPI:
    app = FastAPI(title="Awarding-body simulator", docs_url="/docs", redoc_url=None)
    app.include_router(credential_api.build_router(ctx))
    app.include_router(register.build_router(ctx))
    app.include_router(signed_credentials.build_router(ctx))
    app.include_router(enquiry_desk.build_router(desk))
    app.include_router(admin.build_router(ctx.faults))

    @app.exception_handler(UnknownBodyError)
    async def unknown_body(_: Request, __: UnknownBodyError) -> JSONResponse:
        return JSONResponse({"error": "unknown_body"}, status_code=404)

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/metrics")
    async def metrics() -> Response:
        return Response(ctx.metrics.exposition(), media_type="text/plain; version=0.0.4")

    return app
