"""Finding a person's values in text and JSON and taking them out (services/privacy/scrub.py, lines.py)."""

from __future__ import annotations

import gzip

import orjson

from orderhub.services.privacy import lines
from orderhub.services.privacy.scrub import REDACTED, Person, scrub_document

PERSON = Person.of(emails=["Quill.Zebediah@Example.org"], phones=["+1 415-555-0142"], loyalty=["LOY-88231"],
                   streets=["17 Marigold Crescent"], names=["Zebediah", "Quillfeather", "Zebediah Quillfeather"],
                   name_replacement="P-0123abcd")


def test_a_phone_number_is_found_however_it_is_written() -> None:
    for written in ("+14155550142", "(415) 555-0142", "415.555.0142", "+1 415 555 0142", "call 4155550142 now"):
        assert PERSON.mentions(written), written
        assert "0142" not in PERSON.scrub_text(written)
    assert not PERSON.mentions("order 4155550143")
    assert not PERSON.mentions("1-415-555-0199")


def test_values_are_found_case_aside_and_a_first_name_alone_is_not_enough() -> None:
    assert PERSON.mentions("mail QUILL.ZEBEDIAH@EXAMPLE.ORG about it")
    assert PERSON.mentions("ship to zebediah quillfeather")
    assert PERSON.mentions("member LOY-88231")
    assert not PERSON.mentions("Zebediah bought a hat")  # a first name alone names nobody
    assert PERSON.mentions('{"first_name": "Zebediah", "last_name": "Quillfeather"}')
    assert PERSON.scrub_text("Zebediah bought a hat") == "P-0123abcd bought a hat"


def test_json_stays_json_and_keeps_what_is_not_personal() -> None:
    payload = {"id": 450789469, "name": "#1001", "email": "quill.zebediah@example.org", "total_price": "10.00",
               "note": "leave at the back door", "tags": "loyalty:LOY-88231",
               "shipping_address": {"name": "Zebediah Quillfeather", "address1": "17 Marigold Crescent",
                                    "address2": "Flat 2", "city": "Springfield", "zip": "62704",
                                    "country_code": "US", "phone": "(415) 555-0142"},
               "line_items": [{"name": "Tee", "sku": "SKU-1", "price": "10.00"}]}
    out = orjson.loads(scrub_document(PERSON, orjson.dumps(payload).decode()) or "")
    assert out["id"] == 450789469 and out["name"] == "#1001" and out["total_price"] == "10.00"
    assert out["line_items"] == payload["line_items"]
    address = out["shipping_address"]
    assert address["name"] == "P-0123abcd" and address["city"] == "Springfield" and address["country_code"] == "US"
    assert address["address1"] == address["address2"] == address["zip"] == address["phone"] == REDACTED
    assert out["email"] == REDACTED and out["note"] == REDACTED and out["tags"] == f"loyalty:{REDACTED}"
    text = orjson.dumps(out).decode().lower()
    for value in ("zebediah", "quillfeather", "marigold", "0142", "example.org", "loy-88231"):
        assert value not in text


def test_text_that_is_not_json_is_scrubbed_as_text() -> None:
    said = scrub_document(PERSON, "order for Zebediah Quillfeather <quill.zebediah@example.org> failed: {broken")
    assert said == f"order for P-0123abcd <{REDACTED}> failed: {{broken"


def test_a_file_keeps_other_lines_byte_for_byte_and_stays_compressed() -> None:
    other = b'{"order_id": 7, "email": "someone@else.example", "customer": {"first_name": "Ann"}}\n'
    mine = b'{"order_id": 8, "customer": {"first_name": "Zebediah", "last_name": "Quillfeather"}}\n'
    by_id = b'{"order_id": 9, "billing": {"name": "Zeb Q", "address1": "1 Other Road"}}\n'
    data = gzip.compress(other + mine + by_id)
    out = lines.scrub_file(PERSON, data, order_ids={9})
    assert out is not None and out[:2] == lines.GZIP_MAGIC
    first, second, third = gzip.decompress(out).splitlines(keepends=True)
    assert first == other
    assert orjson.loads(second)["customer"] == {"first_name": "P-0123abcd", "last_name": "P-0123abcd"}
    assert orjson.loads(third)["billing"] == {"name": "P-0123abcd", "address1": REDACTED}
    assert lines.scrub_file(PERSON, other) is None


def test_search_terms_find_every_value_in_a_database_filter() -> None:
    terms = PERSON.search_terms()
    assert "quill.zebediah@example.org" in terms and "0142" in terms and "17 marigold crescent" in terms
    assert "zebediah quillfeather" in terms and "quillfeather" in terms
