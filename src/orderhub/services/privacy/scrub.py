"""Finding one person's values in text and JSON, and taking them out (pure: no I/O).

A :class:`Person` holds what identifies someone in the records orderhub keeps: their e-mail addresses, phone
numbers (matched by their digits, whatever the spacing or punctuation a channel wrote them with), loyalty ids,
street lines and names. :meth:`Person.mentions` tells whether a text holds one of the distinctive values (e-mail,
phone, loyalty id, street line, full name); :meth:`Person.scrub_text` and :meth:`Person.scrub_json` replace every
one of their values: names by the replacement name (the pseudonym of an erased person), the rest by
:data:`REDACTED`. In a JSON document that is about the person, :func:`scrub_document` also blanks the fields that
hold personal data by their names (``email``, ``phone``, ``address1``, a postal address's ``name`` ...), so a
value orderhub did not know of (a second street line) goes too, while everything else (ids, amounts, SKUs,
dates) stays and the document stays valid JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import phonenumbers

REDACTED = "[redacted]"
MIN_NAME = 2  # a name part shorter than this is not replaced on its own (an initial)
MIN_PHONE_DIGITS = 7

# Field names (lower case, without separators) that hold a person's data in the channels' records, orderhub's
# own events and files: Shopify's, Amazon's (BuyerEmail, AddressLine1, PostalCode), Walmart's
# (customerEmailId, postalAddress), TikTok's (recipient_address, phone_number), the POS sync's and Retail Pro's
# Order to Invoice (FirstName, Address1, NoDocument).
NAME_FIELDS = frozenset({"firstname", "lastname", "buyername", "fullname", "customername", "recipientname",
                         "billingname", "shippingname", "middlename", "displayname"})
PERSONAL_FIELDS = frozenset({
    "email", "contactemail", "buyeremail", "customeremail", "customeremailid", "emailaddress", "phone",
    "phonenumber", "mobile", "mobilephone", "telephone", "zip", "postalcode", "postcode", "zipcode", "address1",
    "address2", "address3", "addressline1", "addressline2", "addressline3", "fulladdress", "street",
    "streetaddress", "company", "latitude", "longitude", "browserip", "clientip", "loyaltyid", "loyalty",
    "loyaltynumber", "note", "notes", "nodocument", "taxid", "birthday", "dateofbirth", "giftmessage"})
# A ``name`` field is a person's only in an object that is a person or an address (elsewhere it is a product's,
# an order's "#1001", a store's).
_PERSONISH = frozenset({"address1", "addressline1", "zip", "postalcode", "firstname", "lastname", "loyaltyid",
                        "fulladdress", "countrycode"})
_PHONE_CANDIDATE = re.compile(r"(?<![\w+])\+?\d[\d\s().\-/]{5,24}\d(?!\w)")
_EMAIL = re.compile(r"[^\s@<>\"'(),;:\[\]\\]+@[^\s@<>\"'(),;:\[\]\\]+\.[^\s@<>\"'(),;:\[\]\\]+")


def field_key(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def phone_digits(phone: str, region: str | None = None) -> str | None:
    """The digits that identify a phone number however it is written: its national number (without country
    code or trunk prefix) when it parses, else its digits; None when too short to identify anyone."""
    digits = "".join(c for c in phone if c.isdigit())
    try:
        parsed = phonenumbers.parse(phone, (region or "").upper() or None)
        national = str(parsed.national_number)
        if len(national) >= MIN_PHONE_DIGITS:
            return national
    except phonenumbers.NumberParseException:
        pass
    return digits if len(digits) >= MIN_PHONE_DIGITS else None


@dataclass(frozen=True)
class Person:
    """What identifies one person in text: the values to find and to replace."""

    emails: frozenset[str] = frozenset()  # lower case
    phones: frozenset[str] = frozenset()  # identifying digits (phone_digits)
    loyalty: frozenset[str] = frozenset()
    streets: frozenset[str] = frozenset()  # street lines, as written
    names: frozenset[str] = frozenset()  # full names and name parts
    name_replacement: str = REDACTED
    _patterns: dict[str, re.Pattern[str]] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def of(cls, *, emails: Iterable[str | None] = (), phones: Iterable[str | None] = (),
           loyalty: Iterable[str | None] = (), streets: Iterable[str | None] = (),
           names: Iterable[str | None] = (), name_replacement: str = REDACTED,
           region: str | None = None) -> Person:
        def clean(values: Iterable[str | None], lower: bool = False) -> frozenset[str]:
            out = {v.strip() for v in values if v and v.strip() and v.strip() != REDACTED}
            return frozenset(v.lower() for v in out) if lower else frozenset(out)

        digits = {d for p in phones if p for d in (phone_digits(p, region),) if d}
        parts = {part for n in clean(names) for part in n.split() if len(part) >= MIN_NAME}
        return cls(clean(emails, lower=True), frozenset(digits), clean(loyalty), clean(streets),
                   frozenset(clean(names) | parts) - {name_replacement}, name_replacement)

    @property
    def empty(self) -> bool:
        return not (self.emails or self.phones or self.loyalty or self.streets or self.names)

    def search_terms(self) -> list[str]:
        """Lower-case substrings a text mentioning the person holds one of (for a database's LIKE, before
        :meth:`mentions` decides): the e-mail addresses, loyalty ids, street lines, full names and their longest
        part, and the last four digits of each phone number (a number written with spaces still has those
        together)."""
        full_names = {n for n in self.names if " " in n}
        surnames = {max(n.split(), key=len) for n in full_names}  # first and last name in fields of their own
        terms = {*self.emails, *(v.lower() for v in (*self.loyalty, *self.streets, *full_names, *surnames))}
        terms |= {p[-4:] for p in self.phones}
        return sorted(terms)

    def _pattern(self, kind: str) -> re.Pattern[str] | None:
        if kind not in self._patterns:
            values = {"names": self.names, "parts": {n for n in self.names if " " not in n},
                      "exact": {*self.emails, *self.loyalty, *self.streets}}[kind]
            if not values:
                return None
            alternatives = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
            self._patterns[kind] = re.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", re.IGNORECASE)
        return self._patterns[kind]

    def _phone_spans(self, text: str) -> list[tuple[int, int]]:
        if not self.phones:
            return []
        spans = []
        for m in _PHONE_CANDIDATE.finditer(text):
            digits = "".join(c for c in m.group() if c.isdigit())
            if any(digits.endswith(p) and len(digits) - len(p) <= 4 for p in self.phones):
                spans.append(m.span())
        return spans

    def mentions(self, text: str | None) -> bool:
        """Whether ``text`` holds one of the person's distinctive values (a name part alone is not enough)."""
        if not text or self.empty:
            return False
        exact = self._pattern("exact")
        if exact is not None and exact.search(text):
            return True
        lowered = text.lower()
        if any(n.lower() in lowered for n in self.names if " " in n):
            return True
        if self._phone_spans(text):
            return True
        # Two of their names as words (a first and a last name in fields of their own): one alone names nobody.
        parts = self._pattern("parts")
        return parts is not None and len({m.group().lower() for m in parts.finditer(text)}) >= 2

    def scrub_text(self, text: str) -> str:
        """``text`` without the person's values."""
        if not text or self.empty:
            return text
        for start, end in reversed(self._phone_spans(text)):
            text = text[:start] + REDACTED + text[end:]
        exact = self._pattern("exact")
        if exact is not None:
            text = exact.sub(REDACTED, text)
        names = self._pattern("names")
        if names is not None:
            text = names.sub(self.name_replacement, text)
        return text

    def scrub_json(self, value: Any, *, by_field: bool = False) -> Any:
        """``value`` (parsed JSON) without the person's values; with ``by_field``, also without whatever the
        fields that hold personal data say."""
        if isinstance(value, str):
            return self.scrub_text(value)
        if isinstance(value, list):
            return [self.scrub_json(v, by_field=by_field) for v in value]
        if not isinstance(value, dict):
            return value
        personish = by_field and any(field_key(k) in _PERSONISH for k in value)
        out = {}
        for key, item in value.items():
            fk = field_key(key)
            if by_field and item is not None and not isinstance(item, (dict, list, bool)):
                if fk in NAME_FIELDS or (fk == "name" and personish):
                    out[key] = self.name_replacement if isinstance(item, str) else None
                    continue
                if fk in PERSONAL_FIELDS:
                    out[key] = REDACTED if isinstance(item, str) else None
                    continue
            out[key] = self.scrub_json(item, by_field=by_field)
        return out


def scrub_document(person: Person, text: str | None, *, by_field: bool = True) -> str | None:
    """A stored text without the person: JSON stays JSON (its fields scrubbed, see :meth:`Person.scrub_json`),
    anything else is scrubbed as text."""
    if text is None:
        return None
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            parsed = orjson.loads(text)
        except orjson.JSONDecodeError:
            return person.scrub_text(text)
        return orjson.dumps(person.scrub_json(parsed, by_field=by_field)).decode()
    return person.scrub_text(text)


def emails_in(text: str) -> set[str]:
    """The e-mail addresses written in ``text`` (lower case)."""
    return {m.group().lower() for m in _EMAIL.finditer(text)}
