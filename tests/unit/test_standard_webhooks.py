"""Standard Webhooks signing and verification (standardwebhooks.com)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest

from orderhub.adapters import standard_webhooks as sw

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdefghijklmn").decode()  # 24 bytes
BODY = '{"type":"order.created","data":{"name":"Zoë 🦋"}}'.encode()


def independent_signature(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    """The spec's recipe, written out here on its own: HMAC-SHA256 over id.timestamp.body."""
    key = base64.b64decode(secret[len("whsec_"):])
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def test_known_vector_matches_an_independent_computation():
    ts = 1_700_000_000
    expected = independent_signature(SECRET, "msg_42", ts, BODY)
    assert sw.sign(SECRET, "msg_42", ts, BODY) == expected
    assert sw.headers(SECRET, "msg_42", BODY, timestamp=ts) == {
        "webhook-id": "msg_42", "webhook-timestamp": str(ts), "webhook-signature": expected}


def test_the_specs_published_example():
    # The example in the Standard Webhooks specification.
    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert sw.sign(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")


def test_round_trip_and_tampering_is_rejected():
    now = time.time()
    headers = sw.headers(SECRET, "msg_7", BODY)
    assert sw.verify(SECRET, headers, BODY, now=now) == "msg_7"
    with pytest.raises(sw.WebhookVerificationError, match="no matching signature"):
        sw.verify(SECRET, headers, BODY.replace(b"Zo", b"Jo"), now=now)
    with pytest.raises(sw.WebhookVerificationError, match="no matching signature"):
        sw.verify(SECRET, headers | {"webhook-timestamp": str(int(headers["webhook-timestamp"]) - 1)}, BODY,
                  now=now)
    with pytest.raises(sw.WebhookVerificationError, match="no matching signature"):
        sw.verify(SECRET, headers | {"webhook-id": "msg_8"}, BODY, now=now)
    with pytest.raises(sw.WebhookVerificationError, match="no matching signature"):
        sw.verify(sw.generate_secret(), headers, BODY, now=now)
    with pytest.raises(sw.WebhookVerificationError, match="missing webhook-signature"):
        sw.verify(SECRET, {k: v for k, v in headers.items() if k != "webhook-signature"}, BODY, now=now)


def test_any_one_valid_signature_of_several_is_enough_and_headers_are_case_insensitive():
    headers = sw.headers(SECRET, "msg_9", BODY)
    rotated = f"v1,{base64.b64encode(b'x' * 32).decode()} {headers['webhook-signature']}"
    mixed = {"Webhook-Id": "msg_9", "Webhook-Timestamp": headers["webhook-timestamp"],
             "Webhook-Signature": rotated}
    assert sw.verify(SECRET, mixed, BODY) == "msg_9"
    v2_only = headers | {"webhook-signature": headers["webhook-signature"].replace("v1,", "v2,")}
    with pytest.raises(sw.WebhookVerificationError):
        sw.verify(SECRET, v2_only, BODY)


def test_timestamp_tolerance():
    ts = 1_700_000_000
    headers = sw.headers(SECRET, "msg_1", BODY, timestamp=ts)
    assert sw.verify(SECRET, headers, BODY, now=ts + 299) == "msg_1"
    assert sw.verify(SECRET, headers, BODY, now=ts - 299) == "msg_1"
    with pytest.raises(sw.WebhookVerificationError, match="too old"):
        sw.verify(SECRET, headers, BODY, now=ts + 301)
    with pytest.raises(sw.WebhookVerificationError, match="too new"):
        sw.verify(SECRET, headers, BODY, now=ts - 301)
    assert sw.verify(SECRET, headers, BODY, now=ts + 3000, tolerance_seconds=3600) == "msg_1"
    with pytest.raises(sw.WebhookVerificationError, match="not integer seconds"):
        sw.verify(SECRET, headers | {"webhook-timestamp": "2026-01-01T00:00:00Z"}, BODY, now=ts)


def test_generated_secrets():
    secret = sw.generate_secret()
    assert secret.startswith("whsec_") and len(base64.b64decode(secret[6:])) == 24
    assert secret != sw.generate_secret()
    with pytest.raises(ValueError, match="base64"):
        sw.sign("whsec_not base64!", "msg_1", 1, b"")
