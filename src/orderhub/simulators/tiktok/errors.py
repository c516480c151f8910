"""TikTok's response envelope and the error codes the simulator answers with.

Every answer is ``{"code", "message", "request_id", "data"}``; ``code`` 0 is success. Sources for each
code, message and HTTP status are in ``samples/README.md`` (``samples/errors.json`` holds them as data).
Codes TikTok documents for gateway checks are used as documented; for business failures it documents
per endpoint, the simulator keeps one code per kind of failure and says so here.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

import orjson
from starlette.responses import Response

# Gateway errors: code, HTTP status (documented).
INVALID_SIGN = (106001, 401)
PARAM_ERROR = (36009004, 400)  # missing sign, bad timestamp, unknown app_key, bad or unexpected shop_cipher
UNKNOWN_PATH = (36009009, 404)
RATE_LIMITED = (36009002, 429)
INTERNAL = (36009003, 500)
TOKEN_INVALID = (105001, 401)
TOKEN_EXPIRED = (105002, 401)
AUTH_CODE_INVALID = (36004004, 400)
# Business errors come back with HTTP 200 and a non-zero code, as TikTok answers them. TikTok's codes
# differ per endpoint; the simulator uses one per kind (chosen, not documented as such).
NOT_FOUND = (21011001, 200)
WRONG_STATE = (21011002, 200)
BAD_FIELD = (36009004, 400)

MESSAGES = {
    "missing_sign": "Missing credentials. The request does not include a required signature in the query.",
    "bad_sign": "Invalid credentials. The 'sign' query parameter is invalid.",
    "old_timestamp": "Invalid timestamp. The value of the `timestamp` query parameter must not be earlier "
                     "than 5 minutes before the current time.",
    "bad_timestamp": "Invalid timestamp. The value of the `timestamp` query parameter must not be lesser than 0.",
    "bad_app_key": "Invalid credentials. Invalid `app_key` query parameter.",
    "bad_token": "Invalid credentials. The `x-tts-access-token` header is invalid.",
    "expired_token": "Access token is expired, please refresh it.",
    "unexpected_cipher": "Unexpected identifier. The `shop_cipher` query parameter is not required for this request.",
    "bad_cipher": "Invalid identifier. The `shop_cipher` query parameter is invalid.",
    "rate_limited": "Too many requests. You've made too many requests in a short period of time.",
    "internal": "Internal error. Please try again. If the issue persists after multiple attempts, "
                "please contact platform support.",
}


def request_id() -> str:
    """Like TikTok's: a UTC time stamp to the second followed by hex."""
    return datetime.now(UTC).strftime("%Y%m%d%H%M%S") + secrets.token_hex(9).upper()


class TikTokError(Exception):
    def __init__(self, kind: tuple[int, int], message: str) -> None:
        super().__init__(message)
        self.code, self.status = kind
        self.message = message


def fail(kind: tuple[int, int], message: str) -> TikTokError:
    return TikTokError(kind, message)


def envelope(data: Any, *, code: int = 0, message: str = "Success", rid: str | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "request_id": rid or request_id(), "data": data}


def json_response(body: dict[str, Any], status: int = 200, headers: dict[str, str] | None = None) -> Response:
    # TikTok echoes the request ID in the x-tt-logid header.
    merged = {"x-tt-logid": str(body.get("request_id", ""))} | (headers or {})
    return Response(orjson.dumps(body), status_code=status, media_type="application/json", headers=merged)


def error_response(exc: TikTokError, rid: str | None = None) -> Response:
    return json_response(envelope(None, code=exc.code, message=exc.message, rid=rid), exc.status)
