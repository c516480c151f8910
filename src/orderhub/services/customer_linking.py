"""Linking many identities at once, a bounded batch per transaction (so a million identities never hold a lock
or the memory of all of them): those without a profile yet (stored before profiles existed, or while linking
failed), and all of them again after the rules changed."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from orderhub.adapters.store import customer_links
from orderhub.adapters.store.db import Database

BATCH = 500
MAX_BATCH = 5000


@dataclass
class Totals:
    identities: int = 0  # identities looked at
    linked: int = 0  # given a profile, or moved to another
    new_profiles: int = 0
    merges: int = 0  # profiles merged by the rules
    batches: int = 0

    def add(self, seen: int, report: customer_links.LinkReport) -> None:
        self.identities += seen
        self.linked += report.linked
        self.new_profiles += report.new_profiles
        self.merges += len(report.merges)
        self.batches += 1

    def public(self) -> dict[str, int]:
        return {"identities": self.identities, "linked": self.linked, "new_profiles": self.new_profiles,
                "merges": self.merges, "batches": self.batches}


Progress = Callable[[Totals], None]


def link_unlinked(db: Database, *, batch: int = BATCH, check: Progress | None = None) -> Totals:
    """Link every identity without a profile, ``batch`` at a time, committing after each. ``check`` is called
    between batches (to report, or to stop by raising)."""
    totals = Totals()
    while True:
        with db.write() as conn:
            report = customer_links.link_unlinked(conn, limit=batch)
        if report.linked == 0:
            return totals  # none left (or none that linking can place: the next run tries them again)
        totals.add(report.linked, report)
        if check is not None:
            check(totals)


def relink(db: Database, *, batch: int = BATCH, region: str | None = None, check: Progress | None = None) -> Totals:
    """Work out the keys of every identity again under today's rules and link it, ``batch`` at a time in id
    order, committing after each (a run stopped half way is safe to start again)."""
    totals, after = Totals(), 0
    while True:
        with db.write() as conn:
            last, report = customer_links.rekey(conn, after, batch, region)
        if last == 0:
            return totals
        totals.add(report.keyed, report)
        after = last
        if check is not None:
            check(totals)

