"""Amazon's XML feeds as the simulator reads them, and the XML processing report it writes back.

The envelope (``AmazonEnvelope``: ``Header`` with ``DocumentVersion`` and ``MerchantIdentifier``,
``MessageType``, then ``Message`` elements each with a ``MessageID``) and the report
(``ProcessingReport``: ``DocumentTransactionID``, ``StatusCode``, ``ProcessingSummary``, ``Result``
entries) follow Amazon's XSDs as summarised in ``samples/order_feeds_xsd.json`` (see
``samples/README.md``). A document Amazon cannot parse is reported with ``MessageID`` 0 and result code
5000, as Amazon's reports do.

Feeds come from outside, so the parser is strict: a DOCTYPE (and with it every entity declaration,
internal or external) is refused before anything is expanded, and the size, the depth and the number
of elements are bounded.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.parsers import expat

from orderhub.simulators.amazon.samples import load

MAX_DEPTH = 32
MAX_ELEMENTS = 200_000
PARSE_ERROR = 5000  # a document Amazon cannot read (MessageID 0)
ENVELOPE_ERROR = 5001  # an envelope of another seller, or of no message (the simulator's own code)
MESSAGE_ERROR = 5002  # a message that does not follow the XSD


class FeedRefused(ValueError):
    """The document cannot be read at all; ``message`` says why as Amazon's report would."""


def xsd() -> dict[str, Any]:
    return load("order_feeds_xsd.json")


def parse(content: bytes, max_bytes: int) -> ET.Element:
    """The document's root element. Raises :class:`FeedRefused` for a document too large, with a DOCTYPE or
    an entity declaration, too deep, or not well-formed XML."""
    if len(content) > max_bytes:
        raise FeedRefused(f"The feed document is {len(content)} bytes; at most {max_bytes} are taken.")
    parser = expat.ParserCreate()
    stack: list[ET.Element] = []
    root: list[ET.Element] = []
    count = 0

    def refuse_doctype(*_args: Any) -> None:
        raise FeedRefused("The feed document declares a DOCTYPE; DTDs and entities are not accepted.")

    def start(name: str, attributes: dict[str, str]) -> None:
        nonlocal count
        count += 1
        if count > MAX_ELEMENTS or len(stack) >= MAX_DEPTH:
            raise FeedRefused("The feed document has too many elements or is nested too deeply.")
        element = ET.Element(name, attributes)
        if stack:
            stack[-1].append(element)
        else:
            root.append(element)
        stack.append(element)

    def end(_name: str) -> None:
        stack.pop()

    def text(data: str) -> None:
        if stack:
            stack[-1].text = (stack[-1].text or "") + data

    parser.StartDoctypeDeclHandler = refuse_doctype
    parser.EntityDeclHandler = refuse_doctype
    parser.ExternalEntityRefHandler = lambda *_a: 0  # never fetched (no DTD gets this far anyway)
    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = text
    try:
        parser.Parse(content, True)
    except expat.ExpatError as exc:
        raise FeedRefused(f"XML Parsing Error at Line {exc.lineno}, Column {exc.offset}: "
                          f"{expat.ErrorString(exc.code)}") from None
    if not root:
        raise FeedRefused("The feed document has no root element.")
    return root[0]


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def child(element: ET.Element, name: str) -> ET.Element | None:
    return next((c for c in element if local(c.tag) == name), None)


def children(element: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in element if local(c.tag) == name]


def text_of(element: ET.Element | None) -> str | None:
    return None if element is None else (element.text or "").strip()


@dataclass
class Envelope:
    merchant: str
    message_type: str
    messages: list[tuple[int, ET.Element]]  # (MessageID, the message's body element)
    problems: list[tuple[int, str]] = field(default_factory=list)  # messages that cannot be read


def envelope(root: ET.Element) -> Envelope:
    """The envelope's header, type and messages; raises :class:`FeedRefused` when it is not an envelope."""
    rules = xsd()["envelope"]
    if local(root.tag) != rules["root"]:
        raise FeedRefused(f"The root element is {local(root.tag)}; an Amazon feed is an AmazonEnvelope.")
    header = child(root, "Header")
    version = text_of(None if header is None else child(header, "DocumentVersion"))
    merchant = text_of(None if header is None else child(header, "MerchantIdentifier"))
    if not version or not re.fullmatch(rules["document_version_pattern"], version):
        raise FeedRefused("Header/DocumentVersion is missing or not of the form 1.01.")
    if not merchant or len(merchant) > rules["merchant_identifier_max_length"]:
        raise FeedRefused("Header/MerchantIdentifier is missing or longer than 50 characters.")
    message_type = text_of(child(root, "MessageType")) or ""
    found = Envelope(merchant, message_type, [])
    for message in children(root, "Message"):
        raw = text_of(child(message, "MessageID")) or ""
        if not re.fullmatch(rules["message_id_pattern"], raw) or int(raw) < 1:
            found.problems.append((0, f"A Message has MessageID {raw[:20]!r}; it must be a positive whole number."))
            continue
        body = child(message, message_type)
        if body is None:
            found.problems.append((int(raw), f"Message {raw} has no {message_type} element."))
            continue
        found.messages.append((int(raw), body))
    if not found.messages and not found.problems:
        raise FeedRefused("The envelope has no Message.")
    return found


@dataclass
class Result:
    message_id: int
    code: int
    description: str
    kind: str = "Error"  # Error or Warning
    order_id: str | None = None
    item_code: str | None = None


def report(merchant: str, transaction_id: str, processed: int, results: list[Result]) -> bytes:
    """The processing report of a feed, as an XML document (ProcessingReport in an AmazonEnvelope)."""
    root = ET.Element("AmazonEnvelope", {"xmlns:xsi": "http://www.w3.org/2001/XMLSchema-instance",
                                         "xsi:noNamespaceSchemaLocation": "amzn-envelope.xsd"})
    header = ET.SubElement(root, "Header")
    ET.SubElement(header, "DocumentVersion").text = "1.02"
    ET.SubElement(header, "MerchantIdentifier").text = merchant
    ET.SubElement(root, "MessageType").text = "ProcessingReport"
    message = ET.SubElement(root, "Message")
    ET.SubElement(message, "MessageID").text = "1"
    body = ET.SubElement(message, "ProcessingReport")
    ET.SubElement(body, "DocumentTransactionID").text = transaction_id
    ET.SubElement(body, "StatusCode").text = "Complete"
    with_error = {r.message_id for r in results if r.kind == "Error" and r.message_id}
    with_warning = {r.message_id for r in results if r.kind == "Warning" and r.message_id} - with_error
    summary = ET.SubElement(body, "ProcessingSummary")
    for name, value in (("MessagesProcessed", processed), ("MessagesSuccessful", processed - len(with_error)),
                        ("MessagesWithError", len(with_error)), ("MessagesWithWarning", len(with_warning))):
        ET.SubElement(summary, name).text = str(max(0, value))
    for r in results:
        entry = ET.SubElement(body, "Result")
        ET.SubElement(entry, "MessageID").text = str(r.message_id)
        ET.SubElement(entry, "ResultCode").text = r.kind
        ET.SubElement(entry, "ResultMessageCode").text = str(r.code)
        ET.SubElement(entry, "ResultDescription").text = r.description
        if r.order_id or r.item_code:
            info = ET.SubElement(entry, "AdditionalInfo")
            if r.order_id:
                ET.SubElement(info, "AmazonOrderID").text = r.order_id
            if r.item_code:
                ET.SubElement(info, "AmazonOrderItemCode").text = r.item_code
    return ('<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode")).encode("utf-8")
