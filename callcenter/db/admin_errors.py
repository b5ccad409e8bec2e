"""Why the database refused an admin's edit, in terms a form can show.

``NotFound`` becomes a 404; ``Conflict`` a 409 naming the field (``login``,
``skills.billing``) and the reason ("already taken"), so the admin page can put
the message next to the input that caused it.
"""

from __future__ import annotations


class NotFound(LookupError):
    def __init__(self, what: str) -> None:
        super().__init__(what)
        self.what = what

    def __str__(self) -> str:
        return self.what


class Conflict(ValueError):
    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
