"""AMI messages as immutable values.

An AMI message is an ordered list of ``Name: value`` headers. Some headers repeat
(``Variable`` in an Originate, ``ChanVariable`` in events), so the ordered pairs
are kept; lookups return the first occurrence, which is what Asterisk itself reads
for a single-valued header.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Message:
    """One AMI frame: an event, a response or (server side) an action."""

    headers: tuple[tuple[str, str], ...]
    _first: dict[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def of(cls, headers: tuple[tuple[str, str], ...]) -> Message:
        first: dict[str, str] = {}
        for name, value in headers:
            if name not in first:
                first[name] = value
        return cls(headers, first)

    @classmethod
    def build(cls, *pairs: tuple[str, str], **named: str) -> Message:
        """Build from pairs then keyword headers (handy in the simulator and tests)."""
        return cls.of((*pairs, *named.items()))

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._first.get(name, default)

    def __getitem__(self, name: str) -> str:
        return self._first[name]

    def __contains__(self, name: object) -> bool:
        return name in self._first

    def get_all(self, name: str) -> list[str]:
        return [value for key, value in self.headers if key == name]

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self.headers)

    @property
    def event(self) -> str | None:
        """The event name, or None for a response or an action."""
        return self._first.get("Event")

    @property
    def action(self) -> str | None:
        """The action name when this frame is an action (simulator side)."""
        return self._first.get("Action")

    @property
    def is_response(self) -> bool:
        return "Response" in self._first and "Event" not in self._first

    @property
    def action_id(self) -> str | None:
        return self._first.get("ActionID")

    @property
    def is_error(self) -> bool:
        return self.is_response and self._first.get("Response") == "Error"


@dataclass(frozen=True, slots=True)
class Banner:
    """The greeting line Asterisk sends first, e.g. ``Asterisk Call Manager/11.0.0``."""

    text: str

    @property
    def version(self) -> str:
        return self.text.rpartition("/")[2]


@dataclass(frozen=True, slots=True)
class MalformedFrame:
    """A frame the peer sent that is not AMI. Logged and skipped, never fatal."""

    raw: bytes
    reason: str
