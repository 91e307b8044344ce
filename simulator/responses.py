"""HTTP answers shared by the JSON channels, including the injected-fault answers."""

from fastapi.responses import JSONResponse

from simulator.faults import FaultDecision

_FAULT_STATUS = {"unavailable": 503, "error": 500, "throttled": 429}
_FAULT_ERROR = {
    "unavailable": "unavailable",
    "error": "internal_error",
    "throttled": "rate_limited",
}


def error_json(status_code: int, error: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error}, status_code=status_code, headers=headers)


def fault_status(decision: FaultDecision) -> int:
    return _FAULT_STATUS[decision.outcome]


def retry_after_headers(decision: FaultDecision) -> dict[str, str] | None:
    if decision.outcome == "throttled":
        return {"Retry-After": str(decision.retry_after_seconds)}
    return None


def json_fault_response(decision: FaultDecision) -> JSONResponse:
    """503 {"error":"unavailable"} / 500 {"error":"internal_error"} / 429 + Retry-After."""
    return error_json(
        fault_status(decision), _FAULT_ERROR[decision.outcome], retry_after_headers(decision)
    )
