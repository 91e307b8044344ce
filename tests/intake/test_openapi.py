"""The served OpenAPI document is valid, documents every route, and its examples are true:
each request-body example is accepted by the running API."""

import json
import subprocess
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
import pytest_asyncio
from fastapi.routing import APIRoute
from openapi_spec_validator import validate
from starlette.routing import Route

from services.intake.store.repository import IntakeStore
from tests.intake.support import client_for, credit_code, intake_app, write_channels

DOCUMENTATION_ROUTES = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc"}


@pytest.fixture(scope="module")
def app(pool: asyncpg.Pool, tmp_path_factory: pytest.TempPathFactory) -> Any:
    return intake_app(IntakeStore(pool), write_channels(tmp_path_factory.mktemp("c")))


@pytest_asyncio.fixture(scope="module")
async def document(app: Any) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://intake") as client:
        response = await client.get("/openapi.json")
    assert response.status_code == 200
    served: dict[str, Any] = response.json()
    return served


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, operation)
        for path, item in document["paths"].items()
        for method, operation in item.items()
    ]


def test_document_is_valid_openapi(document: dict[str, Any]) -> None:
    validate(document)


def test_every_route_is_documented(app: Any, document: dict[str, Any]) -> None:
    served = set()
    for route in app.routes:
        if isinstance(route, APIRoute | Route) and route.path not in DOCUMENTATION_ROUTES:
            for method in route.methods or ():
                if method != "HEAD":
                    served.add((route.path, method.lower()))
    documented = {(path, method) for path, method, _ in operations(document)}
    assert served and served <= documented, served - documented


def test_problems_are_documented_as_problem_json(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert "Problem" in schemas and "HTTPValidationError" not in schemas
    for path, method, operation in operations(document):
        if path in {"/healthz", "/readyz", "/livez"}:  # a 503 there is a health report
            continue
        for status, response in operation["responses"].items():
            if int(status) >= 400:
                content = response["content"]
                assert list(content) == ["application/problem+json"], (path, method, status)
                assert content["application/problem+json"]["schema"] == {
                    "$ref": "#/components/schemas/Problem"
                }


# Notification routes belong to services/intake/api/webhook_routes.py (the notifier's owner).
NOT_OURS = ("/v1/webhooks/",)


def test_every_request_body_has_an_example(document: dict[str, Any]) -> None:
    for path, method, operation in operations(document):
        body = operation.get("requestBody")
        if body is None or path.startswith(NOT_OURS):
            continue
        for media_type, content in body["content"].items():
            has_example = "example" in content or "examples" in content
            schema = content.get("schema", {})
            ref = schema.get("$ref", "").rsplit("/", 1)[-1]
            in_schema = "examples" in document["components"]["schemas"].get(ref, {})
            assert has_example or in_schema, (path, method, media_type)


async def test_request_examples_are_accepted_by_the_api(
    app: Any, pool: asyncpg.Pool, document: dict[str, Any]
) -> None:
    async with await client_for(app, IntakeStore(pool), credit_code(9001)) as employer:
        for path in ("/v1/verifications/check", "/v1/verifications"):
            content = document["paths"][path]["post"]["requestBody"]["content"]
            for name, example in content["application/json"]["examples"].items():
                response = await employer.post(path, json=example["value"])
                assert response.status_code in (200, 202), (path, name, response.text)
        batch = document["paths"]["/v1/verification-batches/check"]["post"]["requestBody"]
        for media_type, content in batch["content"].items():
            example = content["example"]
            raw = (
                example.encode()
                if isinstance(example, str)
                else httpx.Request("POST", "/", json=example).content
            )
            response = await employer.post(
                "/v1/verification-batches/check",
                content=raw,
                headers={"Content-Type": media_type},
            )
            assert response.status_code == 200, response.text
            assert response.json()["refused"] == 0, response.text


REPO = Path(__file__).resolve().parents[2]
REDOCLY = REPO / "node_modules" / ".bin" / "redocly"


def test_redocly_recommended_rules_find_nothing(document: dict[str, Any], tmp_path: Path) -> None:
    assert REDOCLY.exists(), "run `make setup` (npm ci) to install the pinned redocly"
    served = tmp_path / "openapi.json"
    served.write_text(json.dumps(document))
    lint = subprocess.run(
        [REDOCLY, "lint", "--config", REPO / "redocly.yaml", served, "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(lint.stdout)
    assert report["totals"] == {"errors": 0, "warnings": 0, "ignored": 0}, report["problems"]
    assert lint.returncode == 0, lint.stderr


def test_employer_operations_use_the_bearer_scheme_and_document_401(
    document: dict[str, Any],
) -> None:
    schemes = document["components"]["securitySchemes"]
    assert schemes == {
        "apiKey": {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "API key",
            "description": schemes["apiKey"]["description"],
        }
    }
    for path, method, operation in operations(document):
        parameters = operation.get("parameters", [])
        assert not [p for p in parameters if p["name"].lower() == "authorization"], path
        if path.startswith("/v1/") and not path.startswith("/v1/catalogue/"):
            assert operation["security"] == [{"apiKey": []}], (path, method)
            assert "401" in operation["responses"], (path, method)
        else:
            assert operation["security"] == [], (path, method)
        assert "422" in operation["responses"], (path, method)


async def test_unknown_query_parameters_are_refused(app: Any, pool: asyncpg.Pool) -> None:
    async with await client_for(app, IntakeStore(pool), credit_code(9002)) as employer:
        mistyped = await employer.get("/v1/verifications", params={"stauts": "failed"})
        known = await employer.get("/v1/verifications", params={"status": "authentic"})
        public = await employer.get("/v1/catalogue/bodies", params={"lang": "en"})
    assert known.status_code == 200, known.text
    for refused, name in ((mistyped, "stauts"), (public, "lang")):
        assert refused.status_code == 422, refused.text
        assert refused.headers["content-type"] == "application/problem+json"
        assert [e["pointer"] for e in refused.json()["errors"]] == [f"/{name}"]
