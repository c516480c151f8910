"""The admin API against its own OpenAPI document, with generated requests (schemathesis).

Every operation gets valid and edge-case requests with an admin token over real HTTP;
none may answer 5xx, and every answer must match the documented schema and content type.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import checks
from schemathesis.specs.openapi import checks as openapi_checks

from orderhub.adapters.store import facilities, tokens
from orderhub.bootstrap import build
from orderhub.config import Settings
from orderhub.entrypoints.http.app import create_app
from orderhub.testing.server import ServerThread
from tests.support import add_shop

# The document only: building the app touches no database.
schema = schemathesis.openapi.from_dict(create_app(build(Settings(database_url="sqlite://"))).openapi())


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Any) -> Iterator[tuple[str, str]]:
    import shutil

    db = tmp_path_factory.mktemp("openapi") / "api.db"
    shutil.copy(sqlite_template, db)
    hub = build(Settings(database_url=f"sqlite:///{db}", sqlite_synchronous="NORMAL"))
    add_shop(hub)
    with hub.db.write() as conn:
        token = tokens.create(conn, "schemathesis", ("api",), role="admin")
        facilities.add(conn, "WH-1", "Warehouse", "warehouse")
    with ServerThread(create_app(hub)) as server:
        yield server.url, token
    hub.close()


@schema.parametrize()
@settings(max_examples=12, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_operation_answers_as_documented_and_never_with_a_server_error(case: Any, api: tuple[str, str]) -> None:
    url, token = api
    case.call_and_validate(base_url=url, headers={"Authorization": f"Bearer {token}"},
                           checks=[checks.not_a_server_error, openapi_checks.response_schema_conformance,
                                   openapi_checks.content_type_conformance])
