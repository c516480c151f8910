"""One feed through Amazon's Feeds API 2021-06-30, whatever it carries: createFeedDocument, the content PUT
to the document's pre-signed URL, createFeed with the feed type and the account's marketplace, getFeed
every ``poll_seconds`` until Amazon has processed it (DONE, FATAL or CANCELLED), and the processing
report read back (getFeedDocument, then the document itself, gunzipped when Amazon says GZIP).

A feed still unprocessed after ``wait_seconds`` is :class:`AmazonUnavailable`: what it carries goes again
later, so only content that is harmless twice is sent this way.
"""

from __future__ import annotations

import gzip
import io
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote

from orderhub.adapters.amazon.client import AmazonUnavailable, SpApiClient

FEEDS_PATH = "/feeds/2021-06-30"
MAX_REPORT_BYTES = 20_000_000  # a processing report larger than this is not read


@dataclass(frozen=True)
class Processed:
    feed_id: str
    status: str  # DONE, FATAL or CANCELLED
    report: bytes | None  # the processing report, when Amazon wrote one


def submit(client: SpApiClient, feed_type: str, content: bytes, content_type: str, *,
           sleep: Callable[[float], None], poll_seconds: float, wait_seconds: float, again: str,
           on_created: Callable[[str], None] | None = None) -> Processed:
    """Send ``content`` as a feed of ``feed_type`` and wait for Amazon to process it. ``again`` ends the
    message of a feed not processed in time (what happens to what it carries); ``on_created`` hears the
    feed's id as soon as Amazon gives it."""
    document = client.call("createFeedDocument", "POST", f"{FEEDS_PATH}/documents",
                           json={"contentType": content_type}) or {}
    client.put_document(str(document["url"]), content, content_type)
    created = client.call("createFeed", "POST", f"{FEEDS_PATH}/feeds",
                          json={"feedType": feed_type, "marketplaceIds": [client.marketplace_id],
                                "inputFeedDocumentId": document["feedDocumentId"]}) or {}
    feed_id = str(created["feedId"])
    if on_created is not None:
        on_created(feed_id)
    waited = 0.0
    while True:
        feed = client.call("getFeed", "GET", f"{FEEDS_PATH}/feeds/{quote(feed_id, safe='')}") or {}
        status = str(feed.get("processingStatus"))
        if status in ("DONE", "FATAL", "CANCELLED"):
            break
        if waited >= wait_seconds:
            raise AmazonUnavailable(f"amazon account {client.account.name}, createFeed: feed {feed_id} is still "
                                    f"{status} after {waited:.0f} s; {again}", retry_after=poll_seconds)
        sleep(poll_seconds)
        waited += poll_seconds
    return Processed(feed_id, status, _report(client, feed))


def _report(client: SpApiClient, feed: dict[str, object]) -> bytes | None:
    result = feed.get("resultFeedDocumentId")
    if not result:
        return None
    document = client.call("getFeedDocument", "GET", f"{FEEDS_PATH}/documents/{quote(str(result), safe='')}") or {}
    content = client.get_document(str(document["url"]))
    if document.get("compressionAlgorithm") == "GZIP":
        with gzip.GzipFile(fileobj=io.BytesIO(content)) as unzipped:
            content = unzipped.read(MAX_REPORT_BYTES + 1)
    return content[:MAX_REPORT_BYTES + 1]

