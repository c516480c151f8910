"""The till's side of orderhub's POS sync API: enrol with a one-time code, then send queued sales in
batches and let a sale leave the queue only when orderhub's answer acknowledges it.

- ``recorded``, ``duplicate`` (orderhub has it already), ``error_logged`` (orderhub keeps it in its error
  log for a person): acknowledged, the sale leaves the queue; ``queued`` (orderhub will apply it later):
  kept, and sent again with the next sync.
- 401: the device was revoked (or enrolled again elsewhere): :class:`DeviceRevoked`, nothing more is sent.
- 400: the batch was not taken; the reason is logged and the batch stays queued.
- 408, 413, 429, 5xx, refused connections and timeouts: tried again with exponential backoff and jitter.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx

from orderhub.simulators.pos.faults import FlakyTransport
from orderhub.simulators.pos.local_queue import LocalState, Queued

VERSION = "orderhub-pos-sim/1.0"
ACKNOWLEDGED = ("recorded", "duplicate", "error_logged")
RETRY_STATUSES = (408, 413, 425, 429, 500, 502, 503, 504)
MAX_BATCH = 500  # orderhub's limit per request


class DeviceRevoked(RuntimeError):
    """orderhub refused the device's credential: revoked, or the device was enrolled again."""


class NotEnrolled(RuntimeError):
    """The till has no credential yet: it needs an enrolment code (``--code``)."""


@dataclass
class Options:
    batch: int = 50  # sales per request
    duplicate: float = 0.0  # share of sales sent twice within one batch
    shuffle: bool = False  # batches (and the sales in them) sent out of order
    attempts: int = 8  # tries of one batch before the till gives up until its next sync
    backoff: float = 0.2  # seconds before the first retry, doubled each time
    backoff_cap: float = 5.0
    timeout: float = 30.0


@dataclass
class Stats:
    requests: int = 0  # sync requests that reached an answer
    sent: int = 0  # sales sent, counting every copy
    resent: int = 0  # of those, sent again on purpose (--resend)
    acknowledged: int = 0  # sales that left the queue on orderhub's answer
    answers: dict[str, int] = field(default_factory=dict)  # orderhub's status -> how many answers
    network_failures: int = 0  # refused connections and timeouts
    retried: int = 0  # requests answered 408/413/429/5xx
    refused_batches: int = 0  # requests answered 400 (batch kept)
    last_refusal: str | None = None

    def answered(self, status: str) -> int:
        return self.answers.get(status, 0)


class Terminal:
    def __init__(self, url: str, state: LocalState, *, name: str, options: Options | None = None,
                 rng: random.Random | None = None, fail_rate: float = 0.0, transport: httpx.BaseTransport | None = None,
                 log: Callable[[str], None] = lambda _m: None, sleep: Callable[[float], None] = time.sleep) -> None:
        self.url = url.rstrip("/")
        self.state = state
        self.name = name
        self.options = options or Options()
        self.rng = rng or random.Random()
        self.log = log
        self.sleep = sleep
        self.stats = Stats()
        self.flaky = FlakyTransport(transport or httpx.HTTPTransport(), fail_rate, random.Random(self.rng.random()))
        self.http = httpx.Client(base_url=self.url, transport=self.flaky, timeout=self.options.timeout)

    def close(self) -> None:
        self.http.close()

    # -- enrolment -------------------------------------------------------------------------------------------

    @property
    def credential(self) -> str | None:
        return self.state.get("credential")

    @property
    def store(self) -> str | None:
        return self.state.get("store")

    def enrol(self, code: str) -> dict[str, Any]:
        """Trade a one-time code for the device's credential, kept in the till's state."""
        for attempt in range(self.options.attempts):
            if attempt:
                self.sleep(self._delay(attempt))
            try:  # a refused connection reached nothing: safe to try again; a lost answer used the code up
                answer = self._call("POST", "/api/pos/enrol", {"code": code, "name": self.name,
                                                               "version": VERSION}, authorised=False)
                break
            except httpx.ConnectError as exc:
                self.stats.network_failures += 1
                self.log(f"enrolment failed ({exc}); trying again")
        else:
            raise NotEnrolled(f"orderhub at {self.url} could not be reached to enrol till {self.name!r}")
        if answer.status_code != 201:
            raise NotEnrolled(f"orderhub did not enrol till {self.name!r} ({answer.status_code}): "
                              f"{_error(answer)}")
        body = answer.json()
        self.state.put("credential", body["credential"])
        self.state.put("store", body["device"]["store"])
        self.state.put("device_id", str(body["device"]["id"]))
        self.state.put("name", self.name)
        self.state.put("url", self.url)
        self.log(f"enrolled as device {body['device']['id']} ({self.name}) of store {body['device']['store']}")
        return dict(body["device"])

    # -- syncing ---------------------------------------------------------------------------------------------

    def sync(self) -> bool:
        """Send the whole queue in batches; True when it is empty afterwards. Sales orderhub answers
        ``queued`` stay and go again next time."""
        queued = self.state.queued()
        if not queued:
            return True
        batches = self._batches(queued)
        for batch in batches:
            if not self._deliver(batch, resend=False):
                return False
        return self.state.length() == 0

    def resend_history(self) -> bool:
        """Send every sale the till ever made again, on purpose; orderhub must count none twice."""
        for batch in self._batches(self.state.history()):
            if not self._deliver(batch, resend=True):
                return False
        return True

    def report(self) -> httpx.Response:
        """What orderhub knows of this device (``GET /api/pos/device``)."""
        answer = self._call("GET", "/api/pos/device", None)
        if answer.status_code == 401:
            raise DeviceRevoked(self._revoked())
        return answer

    def _batches(self, sales: Sequence[Queued]) -> list[list[Queued]]:
        size = max(1, min(self.options.batch, MAX_BATCH))
        batches = [list(sales[i:i + size]) for i in range(0, len(sales), size)]
        if self.options.shuffle:
            self.rng.shuffle(batches)
        return batches

    def _bodies(self, batch: list[Queued]) -> list[dict[str, Any]]:
        bodies = [q.body for q in batch]
        if self.options.duplicate:
            twice = [b for b in bodies if self.rng.random() < self.options.duplicate]
            bodies = (bodies + twice)[:MAX_BATCH]
        if self.options.shuffle:
            self.rng.shuffle(bodies)
        return bodies

    def _deliver(self, batch: list[Queued], *, resend: bool) -> bool:
        """One batch until orderhub answers it (or the attempts run out); True when it was answered."""
        bodies = self._bodies(batch)
        for attempt in range(self.options.attempts):
            if attempt:
                self.sleep(self._delay(attempt))
            envelope = {"device": {"version": VERSION, "queue_length": self.state.length(),
                                   "oldest_queued_at": self.state.oldest()}, "sales": bodies}
            try:
                answer = self._call("POST", "/api/pos/sales", envelope)
            except httpx.TransportError as exc:
                self.stats.network_failures += 1
                self.log(f"sync failed ({exc}); trying again")
                continue
            self.stats.sent += len(bodies)
            self.stats.resent += len(bodies) if resend else 0
            if answer.status_code == 200:
                self.stats.requests += 1
                self._take(answer.json())
                return True
            if answer.status_code == 401:
                raise DeviceRevoked(self._revoked())
            if answer.status_code == 400:
                self.stats.refused_batches += 1
                self.stats.last_refusal = _error(answer)
                self.log(f"orderhub did not take a batch of {len(bodies)} sales (400): {self.stats.last_refusal}; "
                         "they stay queued")
                return False
            if answer.status_code in RETRY_STATUSES:
                self.stats.retried += 1
                self.log(f"orderhub answered {answer.status_code} ({_error(answer)}); trying again")
                continue
            self.stats.refused_batches += 1
            self.stats.last_refusal = f"{answer.status_code}: {_error(answer)}"
            self.log(f"orderhub answered {answer.status_code}: {_error(answer)}; the batch stays queued")
            return False
        self.log(f"gave up on a batch of {len(bodies)} sales after {self.options.attempts} attempts; "
                 "they stay queued for the next sync")
        return False

    def _take(self, body: dict[str, Any]) -> None:
        done = []
        for result in body.get("results", []):
            status = str(result.get("status"))
            self.stats.answers[status] = self.stats.answers.get(status, 0) + 1
            if status in ACKNOWLEDGED and result.get("id"):
                done.append((str(result["id"]), status))
            if status == "error_logged":
                self.log(f"sale {result.get('id')} is in orderhub's error log: {result.get('detail')}")
        self.stats.acknowledged += self.state.acknowledge(done, datetime.now(UTC).isoformat())

    def _delay(self, attempt: int) -> float:
        base = min(self.options.backoff_cap, self.options.backoff * 2 ** (attempt - 1))
        return base * (0.5 + self.rng.random() / 2)  # jitter: tills that fail together do not retry together

    def _call(self, method: str, path: str, body: Any, *, authorised: bool = True) -> httpx.Response:
        headers = {}
        if authorised:
            if not self.credential:
                raise NotEnrolled(f"till {self.name!r} is not enrolled: run it once with --code "
                                  "(an enrolment code from `orderhub device code --store STORE`)")
            headers["authorization"] = f"Bearer {self.credential}"
        return self.http.request(method, path, json=body, headers=headers)

    def _revoked(self) -> str:
        return (f"orderhub refused the credential of till {self.name!r} of store {self.store} (401): the device "
                "was revoked or enrolled again; enrol it with a new code (--code) to sync its queue")


def _error(answer: httpx.Response) -> str:
    try:
        body = answer.json()
    except ValueError:
        return answer.text[:300] or answer.reason_phrase
    return str(body.get("error") or body.get("detail") or body)[:500] if isinstance(body, dict) else str(body)[:500]
