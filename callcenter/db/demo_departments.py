"""Demo data for the CRM's other departments: billing, orders, support cases and sales.

Drawn from its own random stream per customer (``<seed>:departments:<n>``), so
adding it changed none of the demo customers, numbers or contacts that tests and
bug reports already rely on. Rows are plain dicts for a bulk ``insert``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

CARRIERS = ("DHL", "UPS", "La Poste", "PostNord", "FedEx")
CASE_SUBJECTS = (
    "Router drops the connection every evening",
    "Cannot log in to the customer portal",
    "Invoice shows a service we cancelled",
    "Replacement handset not working",
    "Slow broadband since the upgrade",
    "Voicemail PIN reset",
)
DEALS = (("Fibre upgrade", "new"), ("Extra lines for the office", "new"))
PAYMENT_METHODS = ("card", "direct debit", "transfer")


@dataclass
class DemoDepartments:
    """One customer's standing and their rows in each department's table."""

    status: str = "active"
    balance: Decimal = Decimal("0")
    profitability: str = ""
    invoices: list[dict[str, Any]] = field(default_factory=list)
    payments: list[dict[str, Any]] = field(default_factory=list)
    orders: list[dict[str, Any]] = field(default_factory=list)
    tickets: list[dict[str, Any]] = field(default_factory=list)
    opportunities: list[dict[str, Any]] = field(default_factory=list)

    def rows_for(self, customer_id: int) -> dict[str, list[dict[str, Any]]]:
        """Each table's rows, owned by ``customer_id``."""
        return {
            name: [{**row, "customer_id": customer_id} for row in rows]
            for name, rows in (
                ("invoices", self.invoices),
                ("payments", self.payments),
                ("orders", self.orders),
                ("tickets", self.tickets),
                ("opportunities", self.opportunities),
            )
        }


def demo_departments(
    rng_seed: int, n: int, tier: str, lifetime_value: Decimal, now: datetime
) -> DemoDepartments:
    """Customer ``n``'s invoices (some unpaid, a few overdue), payments, orders with
    deliveries, open and closed cases and, for the better tiers, deals and renewals."""
    rng = random.Random(f"{rng_seed}:departments:{n}")
    today = now.date()
    out = DemoDepartments(
        profitability=rng.choice(("high", "medium")) if tier in ("gold", "platinum") else
        rng.choice(("medium", "low", "")),
    )  # fmt: skip
    monthly = (lifetime_value / 36).quantize(Decimal("0.01")) or Decimal("9.99")
    for months_ago in range(rng.randint(1, 4), 0, -1):
        issued = today - timedelta(days=30 * months_ago)
        due = issued + timedelta(days=21)
        paid = due < today and rng.random() < 0.9
        out.invoices.append(
            {"number": f"INV-{n:07d}-{months_ago}", "issued_on": issued, "due_on": due,
             "amount": monthly, "status": "paid" if paid else "open"}
        )  # fmt: skip
        if paid:
            paid_at = datetime.combine(due, now.timetz()) - timedelta(days=rng.randint(0, 15))
            out.payments.append(
                {"paid_at": paid_at, "amount": monthly, "method": rng.choice(PAYMENT_METHODS)}
            )
        else:
            out.balance += monthly
            if due < today:
                out.status = "overdue"
    for k in range(rng.choice((0, 0, 1, 1, 2, 3))):
        placed = now - timedelta(days=rng.randint(1, 120), minutes=rng.randint(0, 1440))
        status = "shipped" if placed > now - timedelta(days=4) else "delivered"
        out.orders.append(
            {"number": f"ORD-{n:07d}-{k}", "placed_at": placed, "status": status,
             "total": Decimal(rng.randint(20, 900)) + Decimal("0.99"),
             "carrier": rng.choice(CARRIERS),
             "delivery_on": placed.date() + timedelta(days=rng.randint(2, 5))}
        )  # fmt: skip
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        opened = now - timedelta(days=rng.randint(0, 60), minutes=rng.randint(0, 1440))
        closed = rng.random() < 0.5
        out.tickets.append(
            {"subject": rng.choice(CASE_SUBJECTS), "status": "closed" if closed else
             rng.choice(("open", "pending")), "priority": rng.choice(("low", "normal", "high")),
             "opened_at": opened, "closed_at": opened + timedelta(days=2) if closed else None}
        )  # fmt: skip
    if tier in ("gold", "platinum") and rng.random() < 0.6:
        out.opportunities.append(
            {"title": "Contract renewal", "kind": "renewal", "stage": "open",
             "value": (lifetime_value / 3).quantize(Decimal("0.01")),
             "due_on": today + timedelta(days=rng.randint(10, 120))}
        )  # fmt: skip
    if rng.random() < 0.15:
        title, kind = rng.choice(DEALS)
        out.opportunities.append(
            {"title": title, "kind": kind, "stage": rng.choice(("open", "proposal")),
             "value": Decimal(rng.randint(500, 5000)),
             "due_on": today + timedelta(days=rng.randint(5, 60))}
        )  # fmt: skip
    return out
