"""The OpenAPI document, made true: problems are `application/problem+json` with the Problem
schema (including FastAPI's own 422), and the ops endpoints are described too."""

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from services.intake.api.problems import PROBLEM_JSON
from services.intake.api.schemas import Problem

_DESCRIPTIONS = {
    400: "Malformed input (JSON that does not parse, bad cursor, malformed batch); problem details",
    401: "Missing or invalid API key; problem details",
    404: "Not found (or another employer's); problem details",
    409: "Idempotency-Key reused with a different body; problem details",
    413: "Too many rows in the batch; problem details",
    415: "Unsupported Content-Type; problem details",
    422: "Refused: invalid field, unknown query parameter or an acceptance rule; problem details",
}

# Not a grant of rights: the document must name its terms, and none are granted.
LICENSE = {"name": "Proprietary; no licence is granted", "identifier": "LicenseRef-Proprietary"}

_PROBLEM_REF = {"$ref": "#/components/schemas/Problem"}


def documented_problems(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "description": _DESCRIPTIONS[status]} for status in statuses}


def install_openapi(app: FastAPI) -> None:
    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            document = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
                tags=app.openapi_tags,
                servers=[{"url": "/", "description": "This intake"}],
                license_info=LICENSE,
            )
            _problems_as_problem_json(document)
            _ops_paths(document)
            _refusals_everywhere(document)
            app.openapi_schema = document
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def _refusals_everywhere(document: dict[str, Any]) -> None:
    """What every operation can answer besides its own refusals: 401 where a key is needed
    (public ones say they need none), 400 for a JSON body that does not parse, and 422 for a
    query parameter the operation does not know (see query_guard)."""
    for operation in _operations(document):
        responses = operation["responses"]
        if operation.get("security"):
            responses.setdefault("401", _problem(401))
        else:
            operation["security"] = []
        if "application/json" in operation.get("requestBody", {}).get("content", {}):
            responses.setdefault("400", _problem(400))
        responses.setdefault("422", _problem(422))


def _operations(document: dict[str, Any]) -> list[dict[str, Any]]:
    return [op for item in document.get("paths", {}).values() for op in item.values()]


def _problem(status: int) -> dict[str, Any]:
    return {
        "description": _DESCRIPTIONS[status],
        "content": {PROBLEM_JSON: {"schema": _PROBLEM_REF}},
    }


def _problems_as_problem_json(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for path in document.get("paths", {}).values():
        for operation in path.values():
            for status, response in operation.get("responses", {}).items():
                if status.isdigit() and int(status) >= 400:
                    response["content"] = {PROBLEM_JSON: {"schema": _PROBLEM_REF}}
                    response["description"] = _DESCRIPTIONS.get(
                        int(status), response["description"]
                    )
    for unused in ("HTTPValidationError", "ValidationError"):
        schemas.pop(unused, None)


def _ops_paths(document: dict[str, Any]) -> None:
    paths = document.setdefault("paths", {})
    for path, operation in (("/readyz", "readyz"), ("/healthz", "healthz")):
        paths[path] = {
            "get": {
                "tags": ["operations"],
                "summary": "Readiness: every dependency answers and no loop waits out an outage",
                "operationId": operation,
                "responses": {
                    "200": _health_response("Ready", "ok", True),
                    "503": _health_response("A dependency does not answer", "degraded", False),
                },
            }
        }
    paths["/livez"] = {
        "get": {
            "tags": ["operations"],
            "summary": "Liveness: the process and its loops run (no dependency is asked)",
            "operationId": "livez",
            "responses": {
                "200": _liveness_response("Alive", "ok"),
                "503": _liveness_response("A loop has stopped: restart the process", "stopped"),
            },
        }
    }
    paths["/metrics"] = {
        "get": {
            "tags": ["operations"],
            "summary": "Prometheus metrics",
            "operationId": "metrics",
            "responses": {
                "200": {
                    "description": "Prometheus text exposition format",
                    "content": {"text/plain": {"schema": {"type": "string"}}},
                }
            },
        }
    }


def _health_response(description: str, status: str, healthy: bool) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "checks"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "degraded"]},
                        "checks": {"type": "object", "additionalProperties": {"type": "boolean"}},
                        "loops": _LOOP_STATES,
                    },
                },
                "example": {
                    "status": status,
                    "checks": {"database": healthy, "kafka": True},
                    "loops": {"outbox relay": "running" if healthy else "retrying"},
                },
            }
        },
    }


_LOOP_STATES = {
    "type": "object",
    "additionalProperties": {"type": "string", "enum": ["running", "retrying", "stopped"]},
}


def _liveness_response(description: str, status: str) -> dict[str, Any]:
    return {
        "description": description,
        "content": {
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["status", "loops"],
                    "properties": {
                        "status": {"type": "string", "enum": ["ok", "stopped"]},
                        "loops": _LOOP_STATES,
                    },
                },
                "example": {"status": status, "loops": {"consumer": "running"}},
            }
        },
    }
