"""Per-queue figures for the wallboard over a sliding window (default 30 min).

Definitions (the wallboard shows them as written here):

- **service level**: calls answered within the queue's ``service_level_s``
  threshold / calls answered (Asterisk's definition: abandons do not count);
  None while nothing was answered in the window;
- **ASA** (average speed of answer): mean wait, from joining the queue (the
  caller's original place, kept across failed offers) to the first answer, of
  the calls answered in the window;
- **abandon rate**: abandoned / (answered + abandoned), leaving out callers who
  hung up within ``short_abandon_s`` (a misdial is not a lost customer);
- a call counts at the instant it was answered or abandoned.

Pure and clock-free like the router: instants are passed in, so the same
events always give the same figures.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

DEFAULT_WINDOW_S = 1800.0
DEFAULT_SHORT_ABANDON_S = 5.0


@dataclass(frozen=True, slots=True)
class QueueFigures:
    answered: int
    answered_within: int
    abandoned: int
    service_level: float | None
    asa_s: float | None
    abandon_rate: float | None


@dataclass(frozen=True, slots=True)
class _Outcome:
    at: float
    answered: bool
    wait_s: float
    within: bool


class QueueStats:
    def __init__(
        self,
        *,
        window_s: float = DEFAULT_WINDOW_S,
        short_abandon_s: float = DEFAULT_SHORT_ABANDON_S,
    ) -> None:
        self.window_s = window_s
        self.short_abandon_s = short_abandon_s
        self._outcomes: dict[str, deque[_Outcome]] = {}

    def answered(self, queue: str, wait_s: float, threshold_s: float, at: float) -> None:
        self._add(queue, _Outcome(at, True, max(0.0, wait_s), wait_s <= threshold_s), at)

    def abandoned(self, queue: str, wait_s: float, at: float) -> None:
        if wait_s < self.short_abandon_s:
            return
        self._add(queue, _Outcome(at, False, max(0.0, wait_s), False), at)

    def figures(self, queue: str, now: float) -> QueueFigures:
        outcomes = self._outcomes.get(queue)
        if outcomes is None:
            return QueueFigures(0, 0, 0, None, None, None)
        self._expire(outcomes, now)
        answered = [o for o in outcomes if o.answered]
        within = sum(1 for o in answered if o.within)
        abandoned = len(outcomes) - len(answered)
        return QueueFigures(
            answered=len(answered),
            answered_within=within,
            abandoned=abandoned,
            service_level=within / len(answered) if answered else None,
            asa_s=sum(o.wait_s for o in answered) / len(answered) if answered else None,
            abandon_rate=abandoned / len(outcomes) if outcomes else None,
        )

    def _add(self, queue: str, outcome: _Outcome, now: float) -> None:
        outcomes = self._outcomes.setdefault(queue, deque())
        outcomes.append(outcome)
        self._expire(outcomes, now)

    def _expire(self, outcomes: deque[_Outcome], now: float) -> None:
        horizon = now - self.window_s
        while outcomes and outcomes[0].at <= horizon:
            outcomes.popleft()
