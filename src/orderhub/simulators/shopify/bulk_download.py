"""Result files of bulk operations, served at their signed URLs as a storage bucket serves them.

``GET /bulk-operation-outputs/{name}?Expires=...&Signature=...`` streams the
JSONL file from disk in chunks, so a file of any size costs the server little
memory. A wrong signature gets 403 ``SignatureDoesNotMatch``, an expired URL 400
``ExpiredToken``, an unknown file 404 ``NoSuchKey``, each with the XML error body
Google Cloud Storage (where Shopify keeps these files) answers with.
"""

from __future__ import annotations

from xml.sax.saxutils import escape

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from orderhub.simulators.shopify.bulk_operations import OUTPUT_PATH, BulkOperations, Refused


def _error(refused: Refused) -> Response:
    details = f"<Details>{escape(refused.details)}</Details>" if refused.details else ""
    body = (f"<?xml version='1.0' encoding='UTF-8'?><Error><Code>{refused.code}</Code>"
            f"<Message>{escape(refused.message)}</Message>{details}</Error>")
    return Response(body, status_code=refused.status, media_type="application/xml")


def routes(bulk: BulkOperations) -> list[Route]:
    async def result_file(request: Request) -> Response:
        params = request.query_params
        try:
            path = bulk.result_file(request.path_params["name"], params.get("Expires"), params.get("Signature"))
        except Refused as refused:
            return _error(refused)
        disposition = params.get("response-content-disposition") or f'attachment; filename="{path.name}.jsonl"'
        return FileResponse(path, media_type=params.get("response-content-type") or "application/jsonl",
                            headers={"Content-Disposition": disposition})

    return [Route(OUTPUT_PATH + "/{name}", result_file, methods=["GET", "HEAD"])]
