"""`orderhub customer`: find a profile by exact keys, read it (identities of every channel, orders, lifetime value
by channel and currency, consent, merges, who read it), merge and unmerge, split, set consent, set the rules and
link again; mistakes as one line naming the record."""

from __future__ import annotations

import orjson
from click.testing import CliRunner
from sqlalchemy import select

from orderhub.adapters.store import customer_links
from orderhub.adapters.store.schema import channel_operations, customer_access_log, customers
from orderhub.bootstrap import Hub
from orderhub.entrypoints.cli import main
from tests.customers_support import add_order, identity_of_order, scene


def _cli(db_url: str, *args: str, ok: bool = True) -> str:
    result = CliRunner().invoke(main, [*args, "--db", db_url])
    assert (result.exit_code == 0) is ok, result.output
    return result.output


def _json(db_url: str, *args: str) -> object:
    return orjson.loads(_cli(db_url, *args, "--json"))


def test_a_profile_is_found_and_read_across_channels(hub: Hub, db_url: str) -> None:
    s = scene(hub)
    by_mail = _json(db_url, "customer", "search", "--email", " ZOE@example.COM ")
    by_phone = _json(db_url, "customer", "search", "--phone", "0151 234 56789", "--region", "de")
    assert [p["id"] for p in by_mail] == [p["id"] for p in by_phone] == [s["zoe"]]
    assert by_mail[0]["accounts"] == ["amazon-eu", "zoe-shop.myshopify.com"]
    assert _json(db_url, "customer", "search", "--email", "abc@marketplace.amazon.de") == []  # a relay: no key
    assert "no customer profile has that e-mail" in _cli(db_url, "customer", "search", "--email", "x@example.com")
    assert "is not one orderhub can read" in _cli(db_url, "customer", "search", "--phone", "12", ok=False)
    assert "give an e-mail address, a phone number or a loyalty id" in _cli(db_url, "customer", "search", ok=False)

    shown = _json(db_url, "customer", "show", str(s["zoe"]))
    assert shown["profile"]["name"] == "Zoe A."  # the identity the channels told of last
    assert [(i["kind"], i["linked_by"]) for i in shown["profile"]["identities"]] == [("shopify", "new"),
                                                                                   ("amazon", "phone")]
    assert [o["name"] for o in shown["orders"]] == ["#5003", "#5002", "#5001"] and shown["orders_total"] == 3
    assert [o["total"] for o in shown["orders"]] == ["5000", "10.00", "38.20"]
    assert shown["lifetime_value"] == [
        {"channel": "amazon", "currency": "JPY", "orders": 1, "cancelled_orders": 0, "gross": "5000",
         "refunded": "0", "net": "5000"},
        {"channel": "online", "currency": "EUR", "orders": 1, "cancelled_orders": 1, "gross": "38.20",
         "refunded": "8.20", "net": "30.00"}]
    text = _cli(db_url, "customer", "show", str(s["zoe"]), "--access")
    assert "customer profile" in text and "Lifetime value" in text and "30.00" in text
    assert "consent: none recorded" in text and "Who read this profile" in text and "cli:" in text
    assert "no customer profile 999" in _cli(db_url, "customer", "show", "999", ok=False)
    with hub.db.read() as conn:
        reads = conn.execute(select(customer_access_log.c.what, customer_access_log.c.via).where(
            customer_access_log.c.profile_id == s["zoe"])).all()
    assert {("search", "cli"), ("profile", "cli")} <= set(reads)


def test_merge_unmerge_split_and_consent(hub: Hub, db_url: str) -> None:
    s = scene(hub)
    zoe, till = s["zoe"], s["till_profile"]
    said = _cli(db_url, "customer", "merge", str(zoe), str(till), "--reason", "she said so at the till")
    assert said.startswith(f"profile {till} merged into profile {zoe} (merge ")
    merge_id = int(said.split("(merge ")[1].split(";")[0])
    merged = _json(db_url, "customer", "show", str(till))  # the merged profile answers with the kept one
    assert merged["asked_for"] == till and merged["merged_into"] == zoe and merged["profile"]["id"] == zoe
    assert merged["orders_total"] == 4 and merged["merges"][0]["reason"] == "she said so at the till"
    assert f"customer profile {till} was merged into profile {zoe}; showing {zoe}" in _cli(
        db_url, "customer", "show", str(till))
    assert "merge that one" in _cli(db_url, "customer", "merge", str(s["ann"]), str(till), ok=False)
    assert "cannot be merged into itself" in _cli(db_url, "customer", "merge", str(zoe), str(zoe), ok=False)

    assert _cli(db_url, "customer", "unmerge", str(merge_id)) == \
        f"merge {merge_id} undone: profile {till} is apart from profile {zoe} again\n"
    assert "was undone already" in _cli(db_url, "customer", "unmerge", str(merge_id), ok=False)
    assert "no customer merge 999" in _cli(db_url, "customer", "unmerge", "999", ok=False)
    assert _json(db_url, "customer", "show", str(till))["orders_total"] == 1

    amazon_identity = identity_of_order(hub, s["market"])
    said = _cli(db_url, "customer", "split", str(amazon_identity))
    new = int(said.split(" is profile ")[1].split(" ")[0])
    assert said == f"identity {amazon_identity} is profile {new} now, apart from profile {zoe}\n"
    assert [o["name"] for o in _json(db_url, "customer", "show", str(new))["orders"]] == ["#5003"]
    assert "is the only identity of profile" in _cli(db_url, "customer", "split", str(amazon_identity), ok=False)
    assert "no customer identity 999" in _cli(db_url, "customer", "split", "999", ok=False)

    granted = _cli(db_url, "customer", "consent", str(zoe), "email_marketing", "granted", "--note", "by phone")
    assert granted == f"profile {zoe}: email_marketing granted on every channel; to be sent to " \
                      "zoe-shop.myshopify.com\n"
    scoped = _cli(db_url, "customer", "consent", str(zoe), "sms_marketing", "withdrawn", "--scope", "amazon-eu")
    assert "sms_marketing withdrawn on amazon-eu; to be sent to no channel" in scoped  # Amazon keeps none
    assert "no account 'nowhere'" in _cli(db_url, "customer", "consent", str(zoe), "sms_marketing", "granted",
                                          "--scope", "nowhere", ok=False)
    consent = _json(db_url, "customer", "show", str(zoe))["consent"]
    assert [(c["purpose"], c["scope"], c["state"], c["source"], c["note"]) for c in consent["in_force"]] == [
        ("email_marketing", "*", "granted", "cli", "by phone"), ("sms_marketing", "amazon-eu", "withdrawn", "cli",
                                                                 None)]
    assert consent["by_account"]["zoe-shop.myshopify.com"]["email_marketing"] == "granted"
    with hub.db.read() as conn:
        owed = conn.execute(select(channel_operations.c.kind, channel_operations.c.account_id)).all()
    assert owed == [("consent", s["shop"])]


def test_rules_are_shown_set_and_identities_linked_again(hub: Hub, db_url: str) -> None:
    s = scene(hub)
    pos = s["pos"]
    add_order(hub, pos, 6001, customer=80, email="zoe@example.com", total="3.00", channel="pos")  # links by e-mail
    shown = _json(db_url, "customer", "rules")
    assert shown["amazon"] == ["phone"] and shown["pos"] == ["loyalty", "email", "phone"]
    assert "unknown channel kind 'ebay'" in _cli(db_url, "customer", "rules", "ebay", "--keys", "email", ok=False)
    assert "unknown key 'name'" in _cli(db_url, "customer", "rules", "pos", "--keys", "name", ok=False)

    # The POS stops linking by e-mail: its identity stays put until the identities are linked again...
    said = _cli(db_url, "customer", "rules", "pos", "--keys", "loyalty,phone")
    assert "run `orderhub customer relink`" in said
    assert _json(db_url, "customer", "rules", "pos") == {"pos": ["loyalty", "phone"]}
    with hub.db.read() as conn:
        assert conn.execute(select(customers.c.email_key).where(customers.c.shop_id == pos,
                                                                customers.c.shopify_id == "80")).scalar() \
            == "zoe@example.com"
    relinked = _cli(db_url, "customer", "relink", "--batch", "2")
    assert relinked.startswith("5 identities worked out again")
    with hub.db.read() as conn:
        assert conn.execute(select(customers.c.email_key).where(customers.c.shop_id == pos,
                                                                customers.c.shopify_id == "80")).scalar() is None
        assert customer_links.rules(conn)["pos"] == frozenset({"loyalty", "phone"})
    # ...and the e-mail links the shop's identity to Zoë again when the rule comes back: relink merges nothing
    # a person did not join, but the rule's keys do.
    _cli(db_url, "customer", "rules", "pos", "--keys", "loyalty,email,phone")
    _cli(db_url, "customer", "relink")
    assert _json(db_url, "customer", "search", "--email", "zoe@example.com")[0]["id"] == s["zoe"]
