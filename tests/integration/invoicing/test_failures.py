"""Invoicing when things go wrong: values that do not fit, documents Retail Pro refuses, Retail Pro going
down mid-run, a crash between the call and the mark, reruns of every step, and the failure report."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import orjson
import pytest
from sqlalchemy import select

from orderhub.adapters.store import error_log, invoice_store, order_store
from orderhub.adapters.store.schema import error_log as error_log_table
from orderhub.adapters.store.schema import invoice_calls, order_invoices
from orderhub.bootstrap import Hub
from orderhub.domain.model import Product, Variant
from orderhub.services import errors as errors_service
from orderhub.services.invoicing import send as send_module
from orderhub.services.jobs.runner import JobFailed, run_job
from orderhub.simulators.retailpro.faults import FailureRule
from orderhub.testing.smtp_server import SmtpTestServer
from tests.integration.invoicing.scene import UPC_1, Scene, complete, files_in, lines_of
from tests.support import BIG_ID

pytestmark = pytest.mark.timeout(120)
LONG_NAME = "Zoë 🦋 " * 6  # 36 characters: FirstName takes 30


def statuses(hub: Hub) -> dict[int, str]:
    with hub.db.read() as conn:
        return {r.order_id: r.status for r in conn.execute(select(order_invoices))}


def entries(hub: Hub, record_type: str = "invoice") -> list[Any]:
    with hub.db.read() as conn:
        ids = [r.id for r in conn.execute(select(error_log_table.c.id).where(
            error_log_table.c.record_type == record_type).order_by(error_log_table.c.id))]
        return [error_log.get(conn, i) for i in ids]


def feed_and_transform(hub: Hub, **transform: Any) -> None:
    run_job(hub, "feed-completed-orders", None, {})
    run_job(hub, "transform-invoices", None, transform)


def test_a_value_that_does_not_fit_is_refused_with_its_field_and_invoiced_after_a_corrected_retry(
        hub: Hub, scene: Scene) -> None:
    oid = complete(hub, scene, customer={"id": 77, "email": "zoë@example.com", "first_name": LONG_NAME,
                                         "last_name": "Ångström"})
    run_job(hub, "feed-completed-orders", None, {})
    run_id, stats = run_job(hub, "transform-invoices", None, {})
    [out] = [n for n in files_in(scene.sftp, "/retailpro/invoices") if n.startswith("invoices-")]
    assert lines_of(scene.sftp.root / "retailpro/invoices" / out) == []  # nothing cut, nothing written
    [entry] = entries(hub)
    assert (entry.record_id, entry.kind, entry.field, entry.status) == (oid, "validation", "CustomerBilling.FirstName",
                                                                        "open")
    assert "CustomerBilling.FirstName: is 36 characters; at most 30 allowed" in entry.error
    assert "CustomerShipping.FirstName" in entry.error  # every field at fault is named
    assert statuses(hub) == {oid: "rejected"}
    _, stats = run_job(hub, "feed-completed-orders", None, {})
    assert stats["orders"] == 0  # not fed again until a person acts

    record = orjson.loads(entry.payload)
    assert record["customer"]["first_name"] == LONG_NAME  # the payload is the feed record, Unicode intact
    record["customer"]["first_name"] = "Zoë 🦋"
    errors_service.retry(hub.db, entry.id, orjson.dumps(record).decode(), settings=hub.settings)
    [invoice] = scene.sim.store.invoices()
    assert invoice["CustomerBilling"]["FirstName"] == "Zoë 🦋"
    assert statuses(hub) == {oid: "invoiced"}
    with hub.db.read() as conn:
        assert error_log.get(conn, entry.id).status == "resolved"


def test_a_missing_barcode_names_the_item_and_a_plain_retry_feeds_the_order_again(hub: Hub, scene: Scene) -> None:
    with hub.db.write() as conn:  # SKU-2 loses its barcode
        order_store.apply_product(conn, scene.shop.id, Product(
            shopify_id="900", updated_at=datetime(2026, 11, 2, tzinfo=timezone.utc), title="Tee",
            variants=(Variant(shopify_id=str(BIG_ID + 100), sku="SKU-1", barcode=UPC_1),
                      Variant(shopify_id=str(BIG_ID + 101), sku="SKU-2", barcode=None))))
    oid = complete(hub, scene)
    feed_and_transform(hub)
    [entry] = entries(hub)
    assert entry.field == "Items[1].UPC"
    assert "Items[1].UPC: is required; SKU SKU-2 has no barcode in the catalogue." in entry.error
    # With the barcode back, a plain retry puts the order in the next feed.
    with hub.db.write() as conn:
        order_store.apply_product(conn, scene.shop.id, Product(
            shopify_id="900", updated_at=datetime(2026, 11, 3, tzinfo=timezone.utc), title="Tee",
            variants=(Variant(shopify_id=str(BIG_ID + 100), sku="SKU-1", barcode=UPC_1),
                      Variant(shopify_id=str(BIG_ID + 101), sku="SKU-2", barcode="8720116122565"))))
    errors_service.retry(hub.db, entry.id)
    feed_and_transform(hub)
    _, stats = run_job(hub, "send-invoices", None, {})
    assert stats["invoiced"] == 1 and statuses(hub) == {oid: "invoiced"}
    with hub.db.read() as conn:
        assert error_log.get(conn, entry.id).status == "resolved"


def test_a_document_retail_pro_refuses_is_in_the_error_log_and_the_report(hub: Hub, mail_hub: Hub, scene: Scene,
                                                                         smtp_server: SmtpTestServer) -> None:
    scene.sim.store.reset()
    scene.sim.store.seed(["SVA32", "SVA26"], [UPC_1], [("SVA32", UPC_1, 5)])  # Retail Pro does not know UPC_2
    oid = complete(hub, scene)
    feed_and_transform(hub)
    _, stats = run_job(hub, "send-invoices", None, {})
    assert stats["rejected"] == 1 and statuses(hub) == {oid: "rejected"}
    [entry] = entries(hub)
    assert (entry.kind, entry.field) == ("rejected", "Items[1].UPC")
    assert "is not in the Retail Pro catalogue" in entry.error

    _, report = run_job(mail_hub, "report-invoice-failures", None, {"recipients": "Ops 🛠 <ops@shop.example>"})
    assert report["failures"] == 1 and report["sent"]
    [mail] = smtp_server.wait_for(1)
    assert mail.message["Subject"] == "orderhub: 1 invoice call(s) to Retail Pro failed"
    text = mail.message.get_body(("plain",)).get_content()
    assert "order #1993 (invoice" in text and "rejected, HTTP 400" in text and "UPC_UNKNOWN" in text
    [attachment] = list(mail.message.iter_attachments())
    [failure] = [orjson.loads(line) for line in attachment.get_content().splitlines()]
    assert failure["order_id"] == oid and failure["response"]["errors"][0]["field"] == "Items[1].UPC"
    assert failure["request"]["OrderNo"] == "1993"
    # Nothing new: no mail, unless asked.
    assert run_job(mail_hub, "report-invoice-failures", None, {"recipients": "ops@shop.example"})[1]["sent"] is False
    run_job(mail_hub, "report-invoice-failures", None, {"recipients": "ops@shop.example", "send_empty": "true"})
    assert smtp_server.wait_for(2)[1].message["Subject"] == "orderhub: no invoice calls to Retail Pro failed"


def test_retail_pro_down_mid_run_stops_keeps_the_file_and_the_rerun_invoices_the_rest_once(
        hub: Hub, scene: Scene) -> None:
    ids = [complete(hub, scene, order_id=BIG_ID + n * 10) for n in range(4)]
    feed_and_transform(hub)
    # Two invoices go through, then Retail Pro answers 503 to everything.
    scene.sim.faults.add(FailureRule(path="/api/v1/Document", after=2, times=1000, status=503))
    with pytest.raises(JobFailed, match="Retail Pro is not answering"):
        run_job(hub, "send-invoices", None, {"stop_after_unavailable": "1"})
    assert sorted(statuses(hub).values()) == ["failed", "fed", "invoiced", "invoiced"]
    names = files_in(scene.sftp, "/retailpro/invoices")
    assert any(n.startswith("invoices-") for n in names)  # the file stays for the next run
    [responses] = [n for n in names if n.startswith("responses-")]
    answered = lines_of(scene.sftp.root / "retailpro/invoices" / responses)
    assert [a["result"] for a in answered] == ["invoiced", "invoiced", "unavailable"]
    assert answered[2]["status"] == 503

    scene.sim.faults.reset_rules()
    _, stats = run_job(hub, "send-invoices", None, {})
    assert (stats["skipped"], stats["invoiced"]) == (2, 2)  # the first two are not called again
    assert set(statuses(hub).values()) == {"invoiced"}
    assert sorted(i["OrderNo"] for i in scene.sim.store.invoices()) == sorted(str((i) % 10000) for i in (
        BIG_ID, BIG_ID + 10, BIG_ID + 20, BIG_ID + 30))
    assert files_in(scene.sftp, "/retailpro/invoices/archive")
    assert len(ids) == 4


def test_a_crash_between_the_call_and_the_mark_is_settled_by_the_rerun_without_a_second_invoice(
        hub: Hub, scene: Scene, monkeypatch: pytest.MonkeyPatch) -> None:
    oid = complete(hub, scene)
    feed_and_transform(hub)
    real = send_module._invoiced

    def crash(*args: Any, **kwargs: Any) -> None:
        raise SystemError("the process died after Retail Pro made the invoice")

    monkeypatch.setattr(send_module, "_invoiced", crash)
    with pytest.raises(JobFailed, match="the process died"):
        run_job(hub, "send-invoices", None, {})
    assert statuses(hub) == {oid: "sending"} and len(scene.sim.store.invoices()) == 1
    monkeypatch.setattr(send_module, "_invoiced", real)
    _, stats = run_job(hub, "send-invoices", None, {})
    assert stats["found"] == 1
    [invoice] = scene.sim.store.invoices()
    row = invoice_store_row(hub, oid)
    assert (row.status, row.sid, row.attempts) == ("invoiced", invoice["sid"], 2)
    with hub.db.read() as conn:
        outcomes = [r.outcome for r in conn.execute(select(invoice_calls).order_by(invoice_calls.c.id))]
    assert outcomes == ["duplicate"]  # the first call's log was lost with the crash; the second found it


def test_an_answer_lost_in_a_timeout_finds_the_invoice_on_the_retry(hub: Hub, scene: Scene) -> None:
    oid = complete(hub, scene)
    feed_and_transform(hub)
    # Retail Pro makes the invoice but answers after the client gave up (2 s): the client asks again.
    scene.sim.faults.add(FailureRule(path="/api/v1/Document", outcome="timeout", seconds=3, process=True))
    _, stats = run_job(hub, "send-invoices", None, {})
    assert stats["found"] == 1 and len(scene.sim.store.invoices()) == 1
    with hub.db.read() as conn:
        calls = [(r.outcome, r.status) for r in conn.execute(select(invoice_calls).order_by(invoice_calls.c.id))]
    assert calls == [("retried", None), ("duplicate", 409)]
    assert statuses(hub) == {oid: "invoiced"}


def test_every_step_can_run_again_without_a_second_invoice(hub: Hub, scene: Scene) -> None:
    complete(hub, scene)
    feed_and_transform(hub)
    run_job(hub, "send-invoices", None, {})
    # Put both files back, as if every step had stopped before archiving, and run everything again.
    for folder in ("retailpro/feed", "retailpro/invoices"):
        for archived in (scene.sftp.root / folder / "archive").iterdir():
            archived.rename(scene.sftp.root / folder / archived.name)
    _, fed = run_job(hub, "feed-completed-orders", None, {})
    _, transformed = run_job(hub, "transform-invoices", None, {})
    _, sent = run_job(hub, "send-invoices", None, {})
    assert fed["orders"] == 0 and transformed["files"] == 1
    # The transform wrote the same invoice file again, over the one put back: one file, its order skipped.
    assert sent["files"] == 1 and sent["skipped"] == 1 and sent["invoiced"] == 0
    assert len(scene.sim.store.invoices()) == 1


def invoice_store_row(hub: Hub, order_id: int) -> Any:
    with hub.db.read() as conn:
        return invoice_store.get(conn, order_id)
