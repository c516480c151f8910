"""Customer jobs: ``link-customers`` gives a profile to every identity that has none - those stored before
profiles existed (an upgraded database), or by a path that does not link - in bounded batches, committing
between them, so a run can be stopped at any batch and the next one carries on."""

from __future__ import annotations

from typing import Any

from orderhub.domain.jobs import Definition
from orderhub.services import customer_linking
from orderhub.services.jobs.context import JobContext
from orderhub.services.jobs.registry import register

LINK = "link-customers"


def link_customers(ctx: JobContext) -> dict[str, Any]:
    def between(totals: customer_linking.Totals) -> None:
        ctx.log(f"{totals.linked} identities linked so far ({totals.new_profiles} new profiles)")
        ctx.check()  # a run taken away stops between two batches, each committed

    totals = customer_linking.link_unlinked(ctx.hub.db, batch=customer_linking.BATCH, check=between)
    ctx.count(read=totals.identities, processed=totals.linked)
    return totals.public()


register(Definition(LINK, "misc", "Customer profiles: link customer identities that have no profile yet (stored "
                    "before profiles existed) to the profile their e-mail, phone or loyalty id leads to, in "
                    "batches", per_shop=False, default_schedule="every-5-minutes"),
         link_customers)
