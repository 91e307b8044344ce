"""RFC 9457 problem details of the verifier's HTTP routes, in Chinese and English, and the
operator's bearer token check they share."""

import hmac
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse

PROBLEM_JSON = "application/problem+json"


def problem(
    status: int,
    kind: str,
    en: str,
    zh: str,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    return JSONResponse(
        {
            "type": f"/problems/{kind}",
            "title": en,
            "status": status,
            "code": kind,
            "message": {"zh": zh, "en": en},
            **extra,
        },
        status_code=status,
        media_type=PROBLEM_JSON,
        headers=headers,
    )


def operator_refused(request: Request, operator_token: str) -> JSONResponse | None:
    """None when the request carries the operator's bearer token; else the 401 to answer."""
    offered = request.headers.get("authorization", "").removeprefix("Bearer ").strip()
    if operator_token and hmac.compare_digest(offered.encode(), operator_token.encode()):
        return None
    return problem(
        401,
        "unauthenticated",
        "Operator token required",
        "需要操作员令牌",
        headers={"WWW-Authenticate": "Bearer"},
    )
