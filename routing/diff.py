"""What changed between two versions of the rules, as an admin reads it.

Lists of named things (queues, locations) are matched by their name rather than
by position, so moving a queue up the list, or adding one in the middle, reads as
what it is instead of every later queue "changing". Paths are dotted like the
validation errors' (``queues.support.ring_timeout_s``), with the name standing in
for the index where a list is matched by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

#: the key that names the items of a list, tried in this order
_NAMING_KEYS = ("name", "location")

ChangeKind = Literal["added", "removed", "changed"]


@dataclass(frozen=True, slots=True)
class Change:
    path: str
    kind: ChangeKind
    before: Any = None
    after: Any = None

    def as_json(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "before": self.before, "after": self.after}


def diff_documents(before: Any, after: Any) -> list[Change]:
    """Every leaf that differs between two JSON documents, in document order."""
    changes: list[Change] = []
    _diff(before, after, "", changes)
    return changes


def _join(path: str, part: object) -> str:
    return f"{path}.{part}" if path else str(part)


def _diff(before: Any, after: Any, path: str, out: list[Change]) -> None:
    if isinstance(before, dict) and isinstance(after, dict):
        for key in [*before, *(k for k in after if k not in before)]:
            here = _join(path, key)
            if key not in after:
                out.append(Change(here, "removed", before=before[key]))
            elif key not in before:
                out.append(Change(here, "added", after=after[key]))
            else:
                _diff(before[key], after[key], here, out)
        return
    if isinstance(before, list) and isinstance(after, list):
        key = _naming_key(before, after)
        if key is None:
            _diff_by_position(before, after, path, out)
        else:
            _diff(_by_name(before, key), _by_name(after, key), path, out)
        return
    if before != after:
        out.append(Change(path, "changed", before=before, after=after))


def _diff_by_position(before: list[Any], after: list[Any], path: str, out: list[Change]) -> None:
    for index in range(max(len(before), len(after))):
        here = _join(path, index)
        if index >= len(after):
            out.append(Change(here, "removed", before=before[index]))
        elif index >= len(before):
            out.append(Change(here, "added", after=after[index]))
        else:
            _diff(before[index], after[index], here, out)


def _naming_key(*lists: list[Any]) -> str | None:
    """The key every item of both lists has, with no name repeated; else None."""
    items = [item for items in lists for item in items]
    if not items or not all(isinstance(item, dict) for item in items):
        return None
    for key in _NAMING_KEYS:
        if all(isinstance(item.get(key), str) for item in items) and all(
            len({item[key] for item in items}) == len(items) for items in lists
        ):
            return key
    return None


def _by_name(items: list[dict[str, Any]], key: str) -> dict[str, Any]:
    return {item[key]: item for item in items}
