"""orderhub's client for Retail Pro Prism: sign-in, invoices, transfer slips, store inventory and receipts.

A document call ends in an :class:`Outcome` the caller can act on without catching anything:
``created`` (the new ``sid``), ``duplicate`` (Retail Pro already had it: the first ``sid``),
``rejected`` (a definite no, with every field error) or ``unavailable`` (no definite answer:
try again later). The client signs in lazily, keeps the session, and signs in again once when
a call answers 401 (idle expiry, a Prism restart). Timeouts, connection errors, 429 and 5xx are
retried with exponential backoff. Every HTTP request is kept as an :class:`Exchange` for logs
and files; neither the password nor the ``Auth-Session`` token is ever recorded or logged.

One client per job run: it holds one ``httpx.Client`` and a session and is not thread-safe.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal
from urllib.parse import quote, quote_plus, urlencode

import httpx
import orjson
import structlog

from orderhub.clock import utcnow

log = structlog.get_logger(__name__)

INVOICE_PATH = "/api/v1/Document/Ordertoinvoice"
SLIP_PATH = "/api/v1/Transfer/Slip"
INVENTORY_PATH = "/api/v1/Inventory"
DOCUMENT_PATH = "/v1/rest/document"
MAX_PAGE_SIZE = 200  # receipts per page: a page with every item and tender stays a few hundred kilobytes
RECEIPT_COLUMNS = ("sid,created_datetime,modified_datetime,origin_application,store_code,workstation_name,"
                   "document_number,receipt_type,ref_sale_sid,bt_cuid,bt_email,item.item_pos,item.scan_upc,"
                   "item.alu,item.item_description1,item.quantity,item.original_price,item.price,item.tax_amount,"
                   "item.item_type,tender.tender_type,tender.tender_name,tender.amount,tender.alphabetic_code")
RETRY_STATUSES = frozenset({408, 429, 500, 502, 503, 504})
MAX_WAIT_SECONDS = 30.0  # the longest pause between attempts, whatever Retry-After asks
QUOTE_CHARS = 200  # how much of an unreadable answer a message quotes
_SETTINGS = (("base_url", "retailpro_url", "ORDERHUB_RETAILPRO_URL"),
             ("user", "retailpro_user", "ORDERHUB_RETAILPRO_USER"),
             ("password", "retailpro_password", "ORDERHUB_RETAILPRO_PASSWORD"),
             ("workstation", "retailpro_workstation", "ORDERHUB_RETAILPRO_WORKSTATION"))
_CHECK_SETTINGS = "check ORDERHUB_RETAILPRO_USER, ORDERHUB_RETAILPRO_PASSWORD and ORDERHUB_RETAILPRO_WORKSTATION"


class RetailProError(Exception):
    """A Retail Pro call that could not give the caller what it asked for; the message says why and what to do."""


class RetailProConfigError(RetailProError):
    """orderhub's Retail Pro settings are missing or unusable."""


@dataclass(frozen=True)
class RetailProConfig:
    base_url: str
    user: str
    password: str = field(repr=False)
    workstation: str
    timeout: float = 30.0
    attempts: int = 3
    backoff_seconds: float = 0.5

    @classmethod
    def from_settings(cls, settings: Any) -> RetailProConfig:
        """The config from :class:`orderhub.config.Settings`; names every missing ``ORDERHUB_RETAILPRO_*``."""
        missing = [env for _, attr, env in _SETTINGS if not getattr(settings, attr, None)]
        if missing:
            raise RetailProConfigError(f"Retail Pro is not configured: set {', '.join(missing)} (the Prism base URL, "
                                       "the user orderhub signs in as, its password and the workstation).")
        values = {name: getattr(settings, attr) for name, attr, _ in _SETTINGS}
        return cls(**values, timeout=settings.retailpro_timeout)


@dataclass(frozen=True)
class ApiError:
    """One error entry of a Retail Pro answer."""

    code: str
    message: str
    field: str | None


@dataclass(frozen=True)
class Exchange:
    """One HTTP request and its answer (or the error instead of one); never holds the password or session."""

    method: str
    url: str
    request_body: Any
    status: int | None
    response_body: Any
    error: str | None
    elapsed_ms: int
    at: datetime


@dataclass(frozen=True)
class Outcome:
    """How a document call ended. ``exchanges`` are its requests in order, retries included (sign-in requests
    only when the sign-in failed); ``document`` names it and ``detail`` says why it is unavailable."""

    kind: Literal["created", "duplicate", "rejected", "unavailable"]
    sid: str | None
    document_number: int | None
    errors: tuple[ApiError, ...]
    exchanges: tuple[Exchange, ...]
    document: str = "it"
    detail: str = ""

    @property
    def message(self) -> str:
        """One line a person can read."""
        if self.kind == "created":
            return f"Retail Pro created {self.document} as document {self.document_number} (sid {self.sid})."
        if self.kind == "duplicate":
            return (f"Retail Pro already had {self.document} as document {self.document_number} (sid {self.sid}); "
                    "nothing new was created.")
        if self.kind == "rejected":
            status = self.exchanges[-1].status if self.exchanges else None
            problems = " ".join(_sentence(e) for e in self.errors) or "no reason given."
            return (f"Retail Pro refused {self.document} ({status}): {problems} Nothing was recorded; correct the "
                    "data (or Retail Pro's stores and catalogue) and send it again.")
        return f"Retail Pro unavailable for {self.document}: {self.detail}"


def _sentence(error: ApiError) -> str:
    text = error.message if error.message.endswith(".") else error.message + "."
    return text if not error.field or text.startswith(error.field) else f"{error.field}: {text}"


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return format(value, "f")  # plain digits; Prism accepts numeric strings
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


def _quote(text: str) -> str:
    return repr(text if len(text) <= QUOTE_CHARS else text[:QUOTE_CHARS] + "...")


def _envelope(answer: Any) -> dict[str, Any] | None:
    """``answer`` when it is Retail Pro's ``{"data", "errors"}`` envelope, else None."""
    if not (isinstance(answer, dict) and "data" in answer and "errors" in answer):
        return None
    errors = answer["errors"]
    ok = errors is None or (isinstance(errors, list) and all(isinstance(e, dict) for e in errors))
    return answer if ok else None


def _errors(envelope: dict[str, Any]) -> tuple[ApiError, ...]:
    return tuple(ApiError(str(e.get("errorcode", "")), str(e.get("errormsg", "")), e.get("field"))
                 for e in envelope.get("errors") or ())


def _problem(status: int, errors: tuple[ApiError, ...]) -> str:
    return f"HTTP {status}" + "".join(f" {e.code}: {e.message}" for e in errors[:1])


class _Retry(Exception):
    """No definite answer; ``wait`` is what Retry-After asked for (seconds)."""

    def __init__(self, problem: str, errors: tuple[ApiError, ...] = (), wait: float = 0.0) -> None:
        super().__init__(problem)
        self.problem, self.errors, self.wait = problem, errors, wait


class _Unavailable(Exception):
    """A definite failure that retrying now will not fix (bad settings, an answer that is not Prism's)."""

    def __init__(self, detail: str, errors: tuple[ApiError, ...] = ()) -> None:
        super().__init__(detail)
        self.detail, self.errors = detail, errors


class RetailProClient:
    """A synchronous Prism client; use as a context manager (closes its HTTP connections)."""

    def __init__(self, config: RetailProConfig, *, transport: httpx.BaseTransport | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        if config.attempts < 1:
            raise RetailProConfigError(f"attempts must be at least 1, not {config.attempts}.")
        self.config = config
        self._sleep = sleep
        self._token: str | None = None
        self._http = httpx.Client(base_url=config.base_url.rstrip("/"), timeout=config.timeout, transport=transport,
                                  headers={"Accept": "application/json"})

    def __repr__(self) -> str:
        return f"RetailProClient(base_url={self.config.base_url!r}, user={self.config.user!r})"

    def __enter__(self) -> RetailProClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._http.close()

    # -- operations ---------------------------------------------------------------------------------

    def create_invoice(self, body: dict[str, Any]) -> Outcome:
        """Invoice a completed order (``POST /api/v1/Document/Ordertoinvoice``)."""
        about = f"invoice for order {body.get('OrderNo')!r} at store {body.get('InvoicingStore')!r}"
        return self._document(INVOICE_PATH, body, about)

    def create_slip(self, body: dict[str, Any]) -> Outcome:
        """Record a transfer slip between stores (``POST /api/v1/Transfer/Slip``)."""
        about = f"transfer slip {body.get('SlipNo')!r} from store {body.get('FromStore')!r}"
        return self._document(SLIP_PATH, body, about)

    def inventory(self, store: str) -> dict[str, int]:
        """UPC → on-hand quantity at ``store``; raises :class:`RetailProError` naming the store."""
        try:
            status, envelope = self._request("GET", INVENTORY_PATH, [], params={"store": store})
        except _Unavailable as exc:
            raise RetailProError(f"Could not read the inventory of store {store!r}: {exc.detail}") from None
        if status != 200:
            raise RetailProError(f"Retail Pro refused to read the inventory of store {store!r} "
                                 f"({_problem(status, _errors(envelope))}); check the store code.")
        try:
            return {str(row["UPC"]): int(row["Qty"]) for row in envelope["data"]}
        except (KeyError, TypeError, ValueError):
            raise RetailProError(f"The inventory of store {store!r} is not a list of UPC and Qty: "
                                 f"{_quote(str(envelope['data']))}.") from None

    def receipts(self, store: str, since: datetime, page_no: int = 1,
                 page_size: int = MAX_PAGE_SIZE) -> list[dict[str, Any]]:
        """One page of the store's finished sales documents changed at or after ``since``, oldest change first
        (``GET /v1/rest/document``, items and tenders included); raises :class:`RetailProError` naming the store."""
        size = max(1, min(page_size, MAX_PAGE_SIZE))
        at = since.isoformat(timespec="milliseconds")
        params = {"filter": f"(store_code,eq,{store})AND(modified_datetime,ge,{at})AND(document_number,nn)",
                  "cols": RECEIPT_COLUMNS, "sort": "modified_datetime,asc", "page_no": str(page_no),
                  "page_size": str(size)}
        try:
            status, envelope = self._request("GET", DOCUMENT_PATH, [], params=params, bare_list=True)
        except _Unavailable as exc:
            raise RetailProError(f"Could not read the receipts of store {store!r}: {exc.detail}") from None
        if status != 200:
            raise RetailProError(f"Retail Pro refused to read the receipts of store {store!r} "
                                 f"({_problem(status, _errors(envelope))}); check the store code.")
        data = envelope["data"]
        if not isinstance(data, list) or not all(isinstance(d, dict) for d in data) or len(data) > size:
            raise RetailProError(f"The receipts of store {store!r} (page {page_no}) are not a list of at most "
                                 f"{size} documents: {_quote(str(data))}.")
        return data

    # -- documents ----------------------------------------------------------------------------------

    def _document(self, path: str, body: dict[str, Any], about: str) -> Outcome:
        exchanges: list[Exchange] = []

        def outcome(kind: Any, errors: tuple[ApiError, ...] = (), sid: Any = None, number: Any = None,
                    detail: str = "") -> Outcome:
            return Outcome(kind, None if sid is None else str(sid), None if number is None else int(number),
                           errors, tuple(exchanges), about, detail)

        try:
            status, envelope = self._request("POST", path, exchanges, body=body)
        except _Unavailable as exc:
            return outcome("unavailable", exc.errors, detail=exc.detail)
        errors = _errors(envelope)
        data = envelope.get("data")
        if 200 <= status < 300:
            first = data[0] if isinstance(data, list) and data and isinstance(data[0], dict) else {}
            if first.get("sid") is not None:
                return outcome("created", errors, first["sid"], first.get("document_number"))
            return outcome("unavailable", errors, detail=f"HTTP {status} without the new document's sid: "
                           f"{_quote(orjson.dumps(envelope).decode())}. Look for it in Retail Pro before "
                           "sending it again.")
        duplicate = next((e for e in envelope.get("errors") or () if e.get("errorcode") == "DUPLICATE_DOCUMENT"),
                         None)
        if status == 409 and duplicate is not None:
            return outcome("duplicate", errors, duplicate.get("sid"), duplicate.get("document_number"))
        if 400 <= status < 500:
            return outcome("rejected", errors)
        return outcome("unavailable", errors, detail=f"unexpected {_problem(status, errors)}.")

    # -- requests -----------------------------------------------------------------------------------

    def _request(self, method: str, path: str, exchanges: list[Exchange], *, params: dict[str, str] | None = None,
                 body: Any = None, bare_list: bool = False) -> tuple[int, dict[str, Any]]:
        """The definite answer (status, envelope), after up to ``attempts`` tries; raises :class:`_Unavailable`.

        POSTs are retried after timeouts too, although the first one may have done its work: Retail Pro refuses a
        second invoice for the same store and OrderNo (a slip for the same FromStore and SlipNo) with 409
        DUPLICATE_DOCUMENT naming the first one, so a repeat never creates a second document.
        """
        content = None if body is None else orjson.dumps(body, default=_json_default)
        attempts, last = self.config.attempts, _Retry("no attempt made")
        for attempt in range(1, attempts + 1):
            try:
                return self._authorized(method, path, exchanges, params, content, bare_list)
            except _Retry as retry:
                last = retry
            if attempt < attempts:
                backoff = self.config.backoff_seconds * 2 ** (attempt - 1)
                self._sleep(min(MAX_WAIT_SECONDS, max(backoff, last.wait)))
        raise _Unavailable(f"{last.problem.rstrip('.')} (after {attempts} attempts). Nothing was refused: try again "
                           "later (repeating is safe, Retail Pro refuses duplicates).", last.errors)

    def _authorized(self, method: str, path: str, exchanges: list[Exchange], params: dict[str, str] | None,
                    content: bytes | None, bare_list: bool = False) -> tuple[int, dict[str, Any]]:
        """One try with a session, signing in first when there is none and once more after a 401."""
        for fresh in (False, True):
            if self._token is None or fresh:
                self._sign_in(exchanges)
            status, envelope, _ = self._send(method, path, exchanges, params=params, content=content,
                                             session=self._token, bare_list=bare_list)
            if status != 401:
                return status, envelope
            self._token = None
        raise _Unavailable(f"Retail Pro refused a fresh session ({_problem(status, _errors(envelope))}); "
                           f"{_CHECK_SETTINGS}.", _errors(envelope))

    def _sign_in(self, exchanges: list[Exchange]) -> None:
        """Prism's nonce dance and a seat at the workstation; its requests join ``exchanges`` only on failure."""
        steps: list[Exchange] = []
        cfg = self.config
        try:
            status, envelope, answer = self._send("GET", "/v1/rest/auth", steps)
            nonce = answer.headers.get("Auth-Nonce", "")
            if status != 200 or not nonce.isdigit():
                raise _Unavailable(f"GET /v1/rest/auth answered HTTP {status} without an Auth-Nonce; is "
                                   f"ORDERHUB_RETAILPRO_URL ({cfg.base_url}) a Prism server?", _errors(envelope))
            headers = {"Auth-Nonce": nonce, "Auth-Nonce-Response": str(((int(nonce) // 13) % 99999) * 17)}
            status, envelope, answer = self._send("GET", "/v1/rest/auth", steps, headers=headers,
                                                  params={"usr": cfg.user, "pwd": cfg.password})
            token = answer.headers.get("Auth-Session")
            if status == 200 and token:
                status, envelope, _ = self._send("GET", "/v1/rest/sit", steps, params={"ws": cfg.workstation},
                                                 session=token)
            if status != 200 or not token:
                raise _Unavailable(f"signing in as {cfg.user!r} at workstation {cfg.workstation!r} was refused "
                                   f"({_problem(status, _errors(envelope))}); {_CHECK_SETTINGS}.", _errors(envelope))
        except (_Retry, _Unavailable):
            exchanges.extend(steps)
            raise
        self._token = token

    def _send(self, method: str, path: str, exchanges: list[Exchange], *, params: dict[str, str] | None = None,
              content: bytes | None = None, headers: dict[str, str] | None = None,
              session: str | None = None, bare_list: bool = False) -> tuple[int, dict[str, Any], httpx.Response]:
        """One HTTP request, recorded and logged; raises :class:`_Retry` when there is no definite answer and
        :class:`_Unavailable` when the answer is not Retail Pro's ``{"data", "errors"}`` envelope (nor, with
        ``bare_list``, the bare JSON array a v1 REST read answers, which is handed back in an envelope)."""
        headers = dict(headers or {})
        if session:
            headers["Auth-Session"] = session
        if content is not None:
            headers["Content-Type"] = "application/json"
        shown = {k: ("***" if k == "pwd" else v) for k, v in (params or {}).items()}
        url = self._http.base_url.join(path).copy_with(query=urlencode(shown).encode() or None)
        at, started = utcnow(), time.monotonic()
        status: int | None = None
        answer: Any = None
        error: str | None = None
        response: httpx.Response | None = None
        text = ""
        try:
            response = self._http.request(method, path, params=params, content=content, headers=headers)
            status = response.status_code
            text = self._scrub(response.text, session, response.headers.get("Auth-Session"))
            try:
                answer = orjson.loads(text)
            except orjson.JSONDecodeError:
                answer = text[:2000]
        except httpx.TimeoutException:
            error = f"no answer within {self.config.timeout:g} s to {method} {path}"
        except httpx.TransportError as exc:
            error = f"could not reach {self.config.base_url} ({type(exc).__name__})"
        elapsed_ms = round((time.monotonic() - started) * 1000)
        request_body = None if content is None else orjson.loads(content)
        exchanges.append(Exchange(method, str(url), request_body, status, answer, error, elapsed_ms, at))
        failed = error is not None or status in RETRY_STATUSES
        (log.warning if failed else log.info)("retail pro exchange", method=method, path=path, status=status,
                                              elapsed_ms=elapsed_ms, error=error)
        if response is None:
            raise _Retry(error or "no answer")
        envelope = _envelope(answer)
        if envelope is None and bare_list and isinstance(answer, list) and response.status_code == 200:
            envelope = {"data": answer, "errors": None}
        errors = _errors(envelope) if envelope is not None else ()
        code = response.status_code
        if code in RETRY_STATUSES or code >= 500:
            problem = _problem(code, errors) if errors else f"HTTP {code} {_quote(text)}"
            raise _Retry(problem, errors, self._retry_after(response))
        if envelope is None:
            raise _Unavailable(f"HTTP {code} from {method} {path} is not Retail Pro's JSON answer: {_quote(text)}; "
                               f"check ORDERHUB_RETAILPRO_URL ({self.config.base_url}).")
        return code, envelope, response

    def _scrub(self, text: str, *tokens: str | None) -> str:
        """``text`` with the password (plain or URL-encoded, as an echoed URL has it) and session tokens masked."""
        secret = self.config.password
        for value in (secret, quote(secret, safe=""), quote_plus(secret), *tokens):
            if value:
                text = text.replace(value, "***")
        return text

    @staticmethod
    def _retry_after(response: httpx.Response) -> float:
        if response.status_code not in (429, 503):
            return 0.0
        try:
            return max(0.0, float(response.headers.get("Retry-After", "")))
        except ValueError:
            return 0.0  # absent, or an HTTP date: back off as usual
