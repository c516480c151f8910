"""The error log's pages: filter, search, group, read a record and its payload, retry (as it is or
edited) and dismiss, one or many."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import APIRouter, Form, Request
from starlette.responses import Response

from orderhub.entrypoints.http.console import web
from orderhub.services import errors as error_service
from orderhub.services.console import errors_view as view
from orderhub.services.console.accounts import Session

router = APIRouter(include_in_schema=False)

MAX_REASON = 2000
MAX_EDIT = 16 * 1024 * 1024  # characters a form may carry; the hub's payload limit is checked after


def _db(request: Request) -> Any:
    return web.hub_of(request).db


def _found(request: Request, entry_id: str) -> view.Entry:
    number = view.parse_id(entry_id)
    with _db(request).read() as conn:
        found = view.entry(conn, number) if number is not None else None
    if found is None:
        raise web.Refused(404, f"There is no error-log entry {entry_id[:40]}.")
    return found


def _may_act(session: Session) -> None:
    if not session.may("operator"):
        raise web.Refused(403, f"Your role ({session.role}) may read the error log; retrying and dismissing "
                               "need an operator.")


# -- the list, and the entries grouped by error ----------------------------------------------------------------

@router.get("/errors")
def error_log_page(request: Request, session: web.Viewer) -> Response:
    params = request.query_params
    flt, problems = view.parse_filters(params)
    grouped = params.get("view") == "groups"
    page_number = view.parse_id(params.get("page", "1")[:12]) or 1
    with _db(request).read() as conn:
        menus = view.choices(conn)
        if grouped:
            found, how_many = view.groups(conn, flt)
            total = view.count(conn, flt)
            page = None
        else:
            page, found, how_many, total = view.list_page(conn, flt, page_number), [], 0, 0
    return web.render(request, "errors.html", flt=flt, problems=problems, menus=menus, grouped=grouped,
                      page=page, groups=found, group_count=how_many, total=page.total if page else total,
                      statuses=view.STATUSES, bulk_limit=view.BULK_LIMIT, groups_shown=view.GROUPS_SHOWN)


# -- bulk actions: a confirmation page with the exact count, then the action on exactly that set ---------------

def _bulk_page(request: Request, flt: view.Filters, chosen: view.BulkSet, status: int = 200,
               problem: str | None = None, reason: str = "") -> Response:
    return web.render(request, "errors_bulk.html", status=status, flt=flt, bulk=chosen, problem=problem,
                      reason=reason, bulk_limit=view.BULK_LIMIT, max_reason=MAX_REASON, verb=chosen.action,
                      which=" or ".join(view.BULK_STATUSES[chosen.action]))


@router.get("/errors/bulk")
def bulk_confirmation(request: Request, session: web.Viewer) -> Response:
    _may_act(session)
    action = request.query_params.get("action", "")
    if action not in view.BULK_STATUSES:
        raise web.Refused(400, "A bulk action is retry or dismiss.")
    flt, _problems = view.parse_filters(request.query_params)
    with _db(request).read() as conn:
        chosen = view.bulk_set(conn, flt, action)
    return _bulk_page(request, flt, chosen)


@router.post("/errors/bulk")
def bulk_action(request: Request, session: web.Operator,
                action: str = Form("", max_length=10), count: str = Form("", max_length=12),
                upto: str = Form("", max_length=20), digest: str = Form("", max_length=64),
                reason: str = Form("", max_length=MAX_REASON),
                shop: str = Form("", max_length=255), topic: str = Form("", max_length=100),
                kind: str = Form("", max_length=32), status: str = Form("", max_length=16),
                field: str = Form("", max_length=300), nofield: str = Form("", max_length=1),
                since: str = Form("", max_length=40), until: str = Form("", max_length=40),
                q: str = Form("", max_length=view.MAX_SEARCH), payloads: str = Form("", max_length=1)) -> Response:
    if action not in view.BULK_STATUSES:
        raise web.Refused(400, "A bulk action is retry or dismiss.")
    flt, _problems = view.parse_filters({"shop": shop, "topic": topic, "kind": kind, "status": status,
                                         "field": field, "nofield": nofield, "since": since, "until": until,
                                         "q": q, "payloads": payloads})
    db = _db(request)
    with db.read() as conn:
        chosen = view.bulk_set(conn, flt, action, upto=view.parse_id(upto) or 0)
    if chosen.over or chosen.digest != digest or str(len(chosen.ids)) != count:
        with db.read() as conn:
            fresh = view.bulk_set(conn, flt, action)
        return _bulk_page(request, flt, fresh, 409, reason=reason, problem=(
            f"The matching entries changed since you confirmed ({count or 0} then, {len(fresh.ids):,} now): "
            "nothing was done. Check the count below and confirm again."))
    if not chosen.ids:
        return web.go(request, "/errors" + flt.query(), "Nothing matched: nothing was done.")
    if action == "dismiss":
        if not reason.strip():
            return _bulk_page(request, flt, chosen, reason=reason,
                              problem="A dismissal needs a reason: say why these need no further action.")
        done = sum(error_service.dismiss(db, part, by=session.username, reason=reason)
                   for part in view.chunks(chosen.ids))
        return web.go(request, "/errors" + flt.query(), f"Dismissed {done:,} entries." if done == len(chosen.ids)
                      else f"Dismissed {done:,} of {len(chosen.ids):,} entries; the others were no longer open.")
    retried, refused = 0, []
    for entry_id in chosen.ids:
        try:
            error_service.retry(db, entry_id, settings=web.hub_of(request).settings)
            retried += 1
        except (LookupError, error_service.NotRetryable) as exc:
            refused.append(str(exc).strip("'\""))
    message = f"Queued {retried:,} of {len(chosen.ids):,} entries again; the worker processes them shortly."
    if refused:
        message += f" {len(refused):,} refused, e.g. {refused[0]}"
    return web.go(request, "/errors" + flt.query(), message)


# A form sent with something to fix (no reason, invalid JSON) is answered 200 with the form again, the
# problem named and the input kept: it is the page the operator needs, not a failure of the request.

# -- one entry --------------------------------------------------------------------------------------------------

def _entry_page(request: Request, found: view.Entry, status: int = 200, problem: str | None = None,
                reason: str = "") -> Response:
    return web.render(request, "errors_entry.html", status=status, e=found, row=found.row, problem=problem,
                      reason=reason, max_reason=MAX_REASON)


@router.get("/errors/{entry_id}")
def entry_page(request: Request, entry_id: str, session: web.Viewer) -> Response:
    return _entry_page(request, _found(request, entry_id))


@router.post("/errors/{entry_id}/retry")
def retry_entry(request: Request, entry_id: str, session: web.Operator) -> Response:
    found = _found(request, entry_id)
    try:
        error_service.retry(_db(request), found.row.id, settings=web.hub_of(request).settings)
    except (LookupError, error_service.NotRetryable) as exc:
        return _entry_page(request, _found(request, entry_id), 409, problem=str(exc).strip("'\""))
    return web.go(request, f"/errors/{found.row.id}",
                  f"Error {found.row.id} is queued again; the worker processes it shortly.")


@router.post("/errors/{entry_id}/dismiss")
def dismiss_entry(request: Request, entry_id: str, session: web.Operator,
                  reason: str = Form("", max_length=MAX_REASON)) -> Response:
    found = _found(request, entry_id)
    if not reason.strip():
        return _entry_page(request, found, reason=reason,
                           problem="A dismissal needs a reason: say why this entry needs no further action.")
    if error_service.dismiss(_db(request), [found.row.id], by=session.username, reason=reason) == 0:
        return _entry_page(request, found, 409, problem=(
            f"Error {found.row.id} is {found.row.status}; only open or retrying entries can be dismissed."))
    return web.go(request, f"/errors/{found.row.id}", f"Error {found.row.id} dismissed.")


def _edit_page(request: Request, found: view.Entry, text: str, status: int = 200, problem: str | None = None,
               where: tuple[int, int, int] | None = None) -> Response:
    line = text.splitlines()[where[0] - 1] if where and 0 < where[0] <= len(text.splitlines()) else None
    return web.render(request, "errors_edit.html", status=status, e=found, row=found.row, text=text,
                      problem=problem, where=where, bad_line=line[:300] if line is not None else None)


@router.get("/errors/{entry_id}/edit")
def edit_page(request: Request, entry_id: str, session: web.Viewer) -> Response:
    _may_act(session)
    found = _found(request, entry_id)
    return _edit_page(request, found, found.payload.text)


@router.post("/errors/{entry_id}/edit")
def retry_edited(request: Request, entry_id: str, session: web.Operator,
                 payload: str = Form("", max_length=MAX_EDIT)) -> Response:
    found = _found(request, entry_id)
    limit = web.hub_of(request).settings.max_webhook_bytes * 4  # room for the indentation the form adds
    if len(payload.encode()) > limit:
        return _edit_page(request, found, payload, problem=(
            f"The edited payload of error {found.row.id} is {len(payload.encode()):,} bytes; at most {limit:,} "
            "are taken. Nothing was changed."))
    try:
        orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        return _edit_page(request, found, payload, where=(exc.lineno, exc.colno, exc.pos), problem=(
            f"The edited payload is not valid JSON: {exc.msg} at line {exc.lineno}, column {exc.colno}. "
            "Nothing was changed; your edit is kept below."))
    try:
        error_service.retry(_db(request), found.row.id, payload, settings=web.hub_of(request).settings)
    except (LookupError, error_service.NotRetryable) as exc:
        return _edit_page(request, found, payload, 409, problem=str(exc).strip("'\"") +
                          " Nothing was changed; your edit is kept below.")
    return web.go(request, f"/errors/{found.row.id}",
                  f"Error {found.row.id} is queued again with your edited payload; the worker processes it shortly.")
