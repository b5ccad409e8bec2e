"""Sans-I/O ActionID correlation: which response (and which list items) answer which action.

Why a separate core: the asyncio client, the simulator's tests and the replay runner
all need the same rules, and they are easy to get subtly wrong on the wire:

- A ``Response`` completes the action with the same ``ActionID``, unless it says
  ``EventList: start``; then the events carrying that ``ActionID`` are the list's
  items, up to the event that says ``EventList: Complete`` (``CoreShowChannelsComplete``,
  ``StatusComplete`` ...). List items are consumed here: they describe a snapshot,
  not a change, and must not reach the call tracker as if they had just happened.
- Every other event passes through, including ``OriginateResponse``: it carries the
  Originate's ``ActionID`` but arrives after the ``Response`` already completed it.
- When the link is lost the pending actions fail; they are never re-sent, because
  an Originate whose response was lost may well have dialled the agent already.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Literal

from callcenter.ami.message import Message

_OK_RESPONSES = frozenset({"Success", "Follows", "Goodbye"})


class _Consumed(enum.Enum):
    CONSUMED = "consumed"


CONSUMED: Literal[_Consumed.CONSUMED] = _Consumed.CONSUMED
"""``PendingActions.feed`` returns this for a list item it kept for its action."""


@dataclass(frozen=True, slots=True)
class ActionResult:
    """What Asterisk answered to one action: its response and, for an EventList
    action, the list items in order (``complete`` is the closing ``...Complete`` event)."""

    action_id: str
    response: Message
    events: tuple[Message, ...] = ()
    complete: Message | None = None

    @property
    def ok(self) -> bool:
        return self.response.get("Response") in _OK_RESPONSES

    @property
    def is_error(self) -> bool:
        return self.response.is_error

    @property
    def message(self) -> str:
        """Asterisk's human-readable explanation (``No such channel`` ...), or ''."""
        return self.response.get("Message", "") or ""


@dataclass(slots=True)
class _Collecting:
    response: Message
    items: list[Message] = field(default_factory=list)


class PendingActions:
    """ActionIDs we are waiting for, and the EventLists being collected for them."""

    __slots__ = ("_collecting", "_waiting")

    def __init__(self) -> None:
        self._waiting: set[str] = set()
        self._collecting: dict[str, _Collecting] = {}

    def expect(self, action_id: str) -> None:
        """Register an action just sent; call before its bytes reach the wire."""
        if action_id in self._waiting or action_id in self._collecting:
            raise ValueError(f"ActionID {action_id!r} is already pending")
        self._waiting.add(action_id)

    def forget(self, action_id: str) -> None:
        """Stop waiting (the caller gave up); a late answer then passes as unknown."""
        self._waiting.discard(action_id)
        self._collecting.pop(action_id, None)

    def fail_all(self) -> list[str]:
        """The link is gone: drop every pending action and return their ActionIDs."""
        dropped = sorted(self._waiting | self._collecting.keys())
        self._waiting.clear()
        self._collecting.clear()
        return dropped

    def __contains__(self, action_id: object) -> bool:
        return action_id in self._waiting or action_id in self._collecting

    def __len__(self) -> int:
        return len(self._waiting) + len(self._collecting)

    def feed(self, msg: Message) -> ActionResult | Literal[_Consumed.CONSUMED] | None:
        """Classify one received message.

        Returns an ``ActionResult`` when ``msg`` completes a pending action,
        ``CONSUMED`` when it was kept (a list's start or one of its items), and
        None when it is not ours to keep: an ordinary event, or a response nobody
        waits for any more.
        """
        action_id = msg.action_id
        if action_id is None:
            return None
        if msg.is_response:
            return self._response(action_id, msg)
        collecting = self._collecting.get(action_id)
        if collecting is None:
            return None
        if msg.get("EventList") == "Complete":
            del self._collecting[action_id]
            return ActionResult(action_id, collecting.response, tuple(collecting.items), msg)
        collecting.items.append(msg)
        return CONSUMED

    def _response(
        self, action_id: str, msg: Message
    ) -> ActionResult | Literal[_Consumed.CONSUMED] | None:
        if action_id not in self._waiting:
            return None
        self._waiting.discard(action_id)
        if msg.get("EventList") == "start":
            self._collecting[action_id] = _Collecting(msg)
            return CONSUMED
        return ActionResult(action_id, msg)
