"""Feeds API 2021-06-30 (createFeedDocument, createFeed, getFeed, cancelFeed, getFeedDocument), and
the pre-signed document URLs, served as S3 would serve them.

The URLs answer S3's way, not SP-API's: ``PUT`` stores the content (200, an ``ETag``),
``GET`` returns it; a wrong signature or an expired URL is a 403 with S3's XML error.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from orderhub.simulators.amazon.errors import SpApiError, invalid_input, not_found
from orderhub.simulators.amazon.models import check
from orderhub.simulators.amazon.operation import Context

if TYPE_CHECKING:
    from orderhub.simulators.amazon.simulator import Simulator


def _s3_error(status: int, code: str, message: str) -> Response:
    xml = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
           f"</Error>")
    return Response(xml, status_code=status, media_type="application/xml")


class FeedsApi:
    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    def routes(self) -> list[Route]:
        op = self.sim.operation
        return [
            Route("/feeds/2021-06-30/documents", op("createFeedDocument", self.create_document), methods=["POST"]),
            Route("/feeds/2021-06-30/documents/{feedDocumentId}", op("getFeedDocument", self.get_document),
                  methods=["GET"]),
            Route("/feeds/2021-06-30/feeds", op("createFeed", self.create_feed), methods=["POST"]),
            Route("/feeds/2021-06-30/feeds/{feedId}", op("getFeed", self.get_feed), methods=["GET"]),
            Route("/feeds/2021-06-30/feeds/{feedId}", op("cancelFeed", self.cancel_feed), methods=["DELETE"]),
            Route("/feed-documents/{documentId}", self.document_content, methods=["GET", "PUT"]),
        ]

    def create_document(self, ctx: Context) -> tuple[int, Any]:
        body = ctx.json()
        problems = check(body, "feeds_2021_06_30", "CreateFeedDocumentSpecification")
        if problems:
            raise invalid_input("; ".join(problems))
        doc = self.sim.feeds.new_document(ctx.seller_id, body["contentType"])
        return 201, {"feedDocumentId": doc.document_id,
                     "url": self.sim.feeds.presign(ctx.base_url, doc.document_id, "PUT")}

    def get_document(self, ctx: Context) -> tuple[int, Any]:
        doc = self.sim.feeds.document(ctx.params["feedDocumentId"])
        if doc is None or doc.seller_id != ctx.seller_id:
            raise not_found(f"Feed document {ctx.params['feedDocumentId']} was not found.")
        return 200, {"feedDocumentId": doc.document_id,
                     "url": self.sim.feeds.presign(ctx.base_url, doc.document_id, "GET")}

    def create_feed(self, ctx: Context) -> tuple[int, Any]:
        body = ctx.json()
        problems = check(body, "feeds_2021_06_30", "CreateFeedSpecification")
        if problems:
            raise invalid_input("The request body does not match CreateFeedSpecification: " + "; ".join(problems))
        if not body["marketplaceIds"]:
            raise invalid_input("marketplaceIds must name at least one marketplace.")
        doc = self.sim.feeds.document(body["inputFeedDocumentId"])
        if doc is None or doc.seller_id != ctx.seller_id:
            raise invalid_input(f"inputFeedDocumentId {body['inputFeedDocumentId']} is not a feed document of "
                                "this seller; create one with createFeedDocument.")
        feed = self.sim.feeds.create(ctx.seller_id, body["feedType"], list(body["marketplaceIds"]),
                                     body["inputFeedDocumentId"])
        return 202, {"feedId": feed.feed_id}

    def _feed(self, ctx: Context) -> Any:
        feed = self.sim.feeds.feed(ctx.params["feedId"])
        if feed is None or feed.seller_id != ctx.seller_id:
            raise not_found(f"Feed {ctx.params['feedId']} was not found.")
        return feed

    def get_feed(self, ctx: Context) -> tuple[int, Any]:
        return 200, self._feed(ctx).render()

    def cancel_feed(self, ctx: Context) -> tuple[int, Any]:
        feed = self._feed(ctx)
        if not self.sim.feeds.cancel(feed.feed_id):
            raise SpApiError(400, "InvalidInput", f"Feed {feed.feed_id} is {feed.status}; only a feed IN_QUEUE "
                                                  "can be cancelled.")
        return 200, None

    async def document_content(self, request: Request) -> Response:
        self.sim.tick()
        doc_id = request.path_params["documentId"]
        doc = self.sim.feeds.document(doc_id)
        if doc is None:
            return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
        problem = self.sim.feeds.url_problem(doc_id, request.method, dict(request.query_params))
        if problem is not None:
            message = ("The request signature we calculated does not match the signature you provided."
                       if problem == "SignatureDoesNotMatch" else "Request has expired")
            return _s3_error(403, problem, message)
        rule = self.sim.faults.take("uploadFeedDocument" if request.method == "PUT" else "downloadFeedDocument")
        if rule is not None and rule.outcome == "error":
            return _s3_error(rule.status, "InternalError", "We encountered an internal error. Please try again.")
        if request.method == "GET":
            if doc.content is None:
                return _s3_error(404, "NoSuchKey", "The specified key does not exist.")
            return Response(doc.content, media_type=doc.content_type)
        content = bytearray()
        async for chunk in request.stream():
            content += chunk
            if len(content) > self.sim.max_document_bytes:
                return _s3_error(400, "EntityTooLarge", "Your proposed upload exceeds the maximum allowed size")
        self.sim.feeds.upload(doc_id, bytes(content))
        return Response(b"", headers={"ETag": f'"{hashlib.md5(content, usedforsecurity=False).hexdigest()}"'})
