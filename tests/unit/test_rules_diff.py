"""The rules diff an admin reads before publishing: named lists matched by name,
leaves reported with their dotted path."""

from __future__ import annotations

from routing.diff import Change, diff_documents
from routing.rules import QueueRule, RoutingRules


def _doc(*queues: QueueRule) -> dict[str, object]:
    return RoutingRules(queues=list(queues)).model_dump(mode="json")


def test_identical_documents_have_no_changes() -> None:
    doc = _doc(QueueRule(name="support", skills={"support": 1}))
    assert diff_documents(doc, doc) == []


def test_a_changed_field_is_named_by_queue_name_not_position() -> None:
    before = _doc(
        QueueRule(name="sales", skills={"sales": 1}),
        QueueRule(name="support", skills={"support": 1}),
    )
    after = _doc(
        QueueRule(name="vip", skills={"vip": 2}),
        QueueRule(name="sales", skills={"sales": 1}),
        QueueRule(name="support", skills={"support": 1}, ring_timeout_s=20.0),
    )
    changes = diff_documents(before, after)
    assert Change("queues.support.ring_timeout_s", "changed", 15.0, 20.0) in changes
    added = [c for c in changes if c.kind == "added"]
    assert [c.path for c in added] == ["queues.vip"]
    assert added[0].after["skills"] == {"vip": 2}
    # sales only moved: nothing reported for it
    assert not [c for c in changes if c.path.startswith("queues.sales")]


def test_removed_queue_and_skill_changes() -> None:
    before = _doc(
        QueueRule(name="sales", skills={"sales": 1, "french": 2}),
        QueueRule(name="support", skills={"support": 1}),
    )
    after = _doc(QueueRule(name="sales", skills={"sales": 3}))
    changes = {c.path: c for c in diff_documents(before, after)}
    assert changes["queues.support"].kind == "removed"
    assert changes["queues.sales.skills.sales"] == Change(
        "queues.sales.skills.sales", "changed", 1, 3
    )
    assert changes["queues.sales.skills.french"].kind == "removed"


def test_unnamed_lists_compare_by_position() -> None:
    assert diff_documents({"spans": ["09:00-17:00"]}, {"spans": ["09:00-18:00", "x"]}) == [
        Change("spans.0", "changed", "09:00-17:00", "09:00-18:00"),
        Change("spans.1", "added", None, "x"),
    ]
