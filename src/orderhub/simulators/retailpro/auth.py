"""Prism's session sign-in: nonce challenge, nonce response, Auth-Session, then a seat at a workstation.

The dance, as Retail Pro documents it and public clients implement it:

1. ``GET /v1/rest/auth`` answers with an ``Auth-Nonce`` header (a number).
2. The client computes ``Auth-Nonce-Response = ((nonce // 13) % 99999) * 17`` and calls
   ``GET /v1/rest/auth?usr=USER&pwd=PASSWORD`` sending both ``Auth-Nonce`` and
   ``Auth-Nonce-Response``; the answer carries the ``Auth-Session`` token.
3. ``GET /v1/rest/sit?ws=WORKSTATION`` with ``Auth-Session`` seats the session; only
   then may it call the API. A session idle longer than ``idle_seconds`` expires.

State lives in memory behind one lock; ``clock`` is injectable for tests.
"""

from __future__ import annotations

import hmac
import secrets
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from orderhub.simulators.retailpro.defaults import DEFAULT_SESSION_IDLE_SECONDS, NONCE_TTL_SECONDS
from orderhub.simulators.retailpro.errors import fail, unauthorized


def nonce_response(nonce: int) -> int:
    """The answer Prism expects to an ``Auth-Nonce``."""
    return ((nonce // 13) % 99999) * 17


@dataclass
class Session:
    token: str
    user: str
    created: float
    last_used: float
    workstation: str | None = None

    def describe(self) -> dict[str, object]:
        return {"user": self.user, "workstation": self.workstation, "seated": self.workstation is not None,
                "created": self.created, "last_used": self.last_used, "token_tail": self.token[-6:]}


class Sessions:
    """Users, workstations, outstanding nonces and live sessions."""

    def __init__(self, users: dict[str, str], workstations: Iterable[str], *,
                 idle_seconds: float = DEFAULT_SESSION_IDLE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._lock = threading.Lock()
        self._users = dict(users)
        self._workstations = {w.upper() for w in workstations}
        self._nonces: dict[int, float] = {}
        self._sessions: dict[str, Session] = {}
        self.idle_seconds = idle_seconds
        self._clock = clock

    # -- seeding ------------------------------------------------------------------------------------

    def add_user(self, user: str, password: str) -> None:
        with self._lock:
            self._users[user] = password

    def add_workstation(self, name: str) -> None:
        with self._lock:
            self._workstations.add(name.upper())

    def users(self) -> list[str]:
        with self._lock:
            return sorted(self._users)

    def workstations(self) -> list[str]:
        with self._lock:
            return sorted(self._workstations)

    # -- the dance ----------------------------------------------------------------------------------

    def issue_nonce(self) -> int:
        """A fresh nonce, good for one sign-in within ``NONCE_TTL_SECONDS``."""
        nonce = secrets.randbelow(9_000_000_000) + 1_000_000_000
        with self._lock:
            now = self._clock()
            self._nonces = {n: t for n, t in self._nonces.items() if now - t < NONCE_TTL_SECONDS}
            self._nonces[nonce] = now
        return nonce

    def sign_in(self, user: str, password: str, nonce_header: str | None, response_header: str | None) -> str:
        """Check the nonce answer and the credentials; returns a new ``Auth-Session`` token."""
        try:
            nonce = int(nonce_header or "")
            answer = int(response_header or "")
        except ValueError:
            raise unauthorized("NONCE_REQUIRED", "Send the Auth-Nonce you were given and its Auth-Nonce-Response "
                                                 "(whole numbers).") from None
        with self._lock:
            issued = self._nonces.pop(nonce, None)  # one use, right or wrong
            if issued is None or self._clock() - issued >= NONCE_TTL_SECONDS:
                raise unauthorized("NONCE_UNKNOWN", f"Auth-Nonce {nonce} was not issued, was used already or "
                                                    "has expired.")
            if answer != nonce_response(nonce):
                raise unauthorized("NONCE_RESPONSE_INVALID", "Auth-Nonce-Response does not answer the Auth-Nonce.")
            known = self._users.get(user)
            if known is None or not hmac.compare_digest(known.encode(), password.encode()):
                raise unauthorized("LOGIN_FAILED", "Unknown user name or wrong password.")
            token = secrets.token_hex(16).upper()
            now = self._clock()
            self._sessions[token] = Session(token, user, now, now)
            return token

    def seat(self, token: str | None, workstation: str) -> Session:
        """Bind a signed-in session to a workstation (``GET /v1/rest/sit``)."""
        if not workstation.strip():
            raise fail(400, "FIELD_REQUIRED", "Name the workstation: /v1/rest/sit?ws=WORKSTATION.", "ws")
        with self._lock:
            session = self._live(token)
            if workstation.upper() not in self._workstations:
                raise fail(400, "WORKSTATION_UNKNOWN", f"Workstation {workstation!r} is not registered; known: "
                                                       f"{', '.join(sorted(self._workstations))}.", "ws")
            session.workstation = workstation.upper()
            return Session(**vars(session))

    def authenticate(self, token: str | None, *, seated: bool = True) -> Session:
        """The live session for ``token`` (touching it), or a 401 in the service's error shape."""
        with self._lock:
            session = self._live(token)
            if seated and session.workstation is None:
                raise unauthorized("SESSION_NOT_SEATED", "The session has no workstation yet.")
            return Session(**vars(session))

    def _live(self, token: str | None) -> Session:
        if not token:
            raise unauthorized("AUTH_REQUIRED", "The Auth-Session header is missing.")
        session = self._sessions.get(token)
        if session is None:
            raise unauthorized("SESSION_INVALID", "The Auth-Session is not known (signed out or never issued).")
        now = self._clock()
        if now - session.last_used > self.idle_seconds:
            del self._sessions[token]
            raise unauthorized("SESSION_EXPIRED", f"The Auth-Session expired after {self.idle_seconds:g} seconds "
                                                  "idle.")
        session.last_used = now
        return session

    def sign_out(self, token: str | None) -> None:
        with self._lock:
            self._sessions.pop(token or "", None)

    def expire_all(self) -> int:
        """Drop every session (like a Prism restart); returns how many there were."""
        with self._lock:
            count = len(self._sessions)
            self._sessions.clear()
            return count

    def sessions(self) -> list[dict[str, object]]:
        with self._lock:
            return [s.describe() for s in self._sessions.values()]

    def reset(self) -> None:
        with self._lock:
            self._sessions.clear()
            self._nonces.clear()
