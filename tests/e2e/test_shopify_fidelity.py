"""Shopify's own bodies (and bodies live shops sent), replayed through the receiver and the poll path:
orderhub stores what Shopify means, field by field, and parks what does not add up."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from click.testing import CliRunner

from orderhub.entrypoints.cli import main
from orderhub.fidelity.fixtures import SHIPPED, load
from orderhub.fidelity.replay import replay


def test_every_shipped_fixture_is_stored_as_shopify_means_it() -> None:
    outcomes = replay()
    assert len(outcomes) == len(load()) >= 25
    wrong = {o.fixture.name: (o.status, o.message, o.differences) for o in outcomes if not o.ok}
    assert wrong == {}
    statuses = {o.fixture.name: o.status for o in outcomes}
    # Shopify's own illustrations do not add up (their notes say where); the error log says which figure.
    assert statuses["orders_create_official_sample"] == "parked as expected"
    for name in ("refunds_create_test_notification_null_created_at", "inventory_levels_update_official_sample",
                 "products_update_official_sample", "orders_edited_official_sample",
                 "graphql_order_constructed_percentage_code_hkd", "orders_create_live_multicurrency_usd_eur"):
        assert statuses[name] == "matches", name
    assert sum(s == "matches" for s in statuses.values()) >= 23


def test_a_difference_is_shown_field_by_field(tmp_path: Path) -> None:
    name = "orders_create_live_percentage_code_across_hkd"
    data = json.loads((SHIPPED / f"{name}.json").read_text())
    data["expected"]["line_items"][0]["discount"] = "0.00"  # what orderhub used to store
    data["expected"]["discount_applications"][0]["code"] = "NOT-THE-CODE"
    (tmp_path / f"{name}.json").write_text(json.dumps(data))
    shutil.copy(SHIPPED / "README.md", tmp_path / "README.md")
    result = CliRunner().invoke(main, ["fidelity", "shopify", "--fixtures", str(tmp_path)])
    assert result.exit_code == 1, result.output
    line_id = data["expected"]["line_items"][0]["id"]
    assert f"line_items[{line_id}].discount" in result.output
    assert "NOT-THE-CODE" in result.output
    assert "1 fixtures: 1 differs" in result.output


def test_the_command_passes_on_the_shipped_set_and_names_one_fixture() -> None:
    result = CliRunner().invoke(main, ["fidelity", "shopify", "--only", "taxes_included", "-v"])
    assert result.exit_code == 0, result.output
    assert "orders_create_live_taxes_included_au: matches" in result.output
