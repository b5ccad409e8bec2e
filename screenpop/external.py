"""An external CRM over HTTP: the customer record behind a call, from the system
the rest of the company keeps it in.

Why a URL template and a field map rather than a plug-in per vendor: every CRM
(Salesforce, HubSpot, Dynamics, a home-grown one) can answer "who calls from
this number" with one GET returning JSON; what differs is the URL and where
each field sits in the answer. The template names the request, the map names
where our pop's fields are in the answer, and the same pop document comes out
whichever CRM is behind it.

What this module promises the caller (``screenpop.pop.build_pop``):

- ``lookup`` returns the mapped records (possibly none: the CRM does not know
  the caller) or raises ``CrmUnavailable`` (down, too slow, an error status,
  an answer that is not JSON or too big). It never raises anything else, so a
  CRM problem can never stop a call.
- Only validated values go into the URL: the caller's number after E.164
  normalisation and account digits that are digits; both percent-encoded.
- The token and the caller's number are never logged; a failure is logged
  with the call, the CRM's host and what went wrong.
"""

from __future__ import annotations

import asyncio
import json
import string
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import quote, urlsplit

import httpx
import structlog
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

log = structlog.get_logger(__name__)

#: What the URL template may name: the caller's number in E.164 (``+4420...``),
#: the same without the plus, and the account digits keyed in the IVR.
PLACEHOLDERS = frozenset({"number", "digits", "account"})
#: An answer bigger than this is not one customer's record.
MAX_RESPONSE_BYTES = 256 * 1024

#: pop field -> where it is in one record of the answer (a dotted path)
DEFAULT_FIELDS: dict[str, str] = {
    "external_id": "id",
    "name": "name",
    "tier": "tier",
    "lifetime_value": "lifetime_value",
    "account_number": "account_number",
    "notes": "notes",
    "status": "status",
    "balance": "balance",
    "profitability": "profitability",
    "open_cases": "open_cases",
    "last_interactions": "interactions",
}
DEFAULT_CASE_FIELDS: dict[str, str] = {
    "id": "id",
    "subject": "subject",
    "status": "status",
    "priority": "priority",
    "opened_at": "opened_at",
}
DEFAULT_INTERACTION_FIELDS: dict[str, str] = {
    "channel": "channel",
    "occurred_at": "occurred_at",
    "disposition": "disposition",
    "notes": "notes",
    "agent_name": "agent_name",
}
_MONEY_FIELDS = frozenset({"lifetime_value", "balance"})
#: what the pop document requires of each line, filled with "" when the CRM is silent
_REQUIRED = {
    "open_cases": ("id", "subject", "status"),
    "last_interactions": ("channel", "occurred_at", "disposition"),
}


class CrmUnavailable(Exception):
    """The external CRM could not answer; the reason is the message."""


class ExternalCrmSettings(BaseModel):
    """The ``[crm]`` table. An empty ``url_template`` (the default) means no
    external CRM: the pop comes from the local CRM tables alone.

    Example, for a CRM answering ``{"data": {"matches": [{"fullName": ...}]}}``::

        [crm]
        url_template = "https://crm.example.com/api/lookup?phone={number}"
        records_path = "data.matches"
        timeout_s = 1.0
        [crm.fields]
        name = "fullName"
        tier = "segment.name"
    """

    #: the GET request; ``{number}``, ``{digits}`` and ``{account}`` are filled in
    url_template: str = ""
    #: sent as ``Authorization: Bearer <token>``; never logged
    token: SecretStr | None = None
    #: the whole lookup, connect to last byte: the agent's phone is about to ring
    timeout_s: float = Field(default=1.5, gt=0, le=10)
    #: where the customer records are in the answer: a list (several customers
    #: share the number) or one object; "" for the answer itself
    records_path: str = "customers"
    #: pop field -> dotted path in one record; merged over DEFAULT_FIELDS, and
    #: an empty path leaves that field out
    fields: dict[str, str] = Field(default_factory=dict)
    #: the same for each open case and each past interaction in a record
    case_fields: dict[str, str] = Field(default_factory=dict)
    interaction_fields: dict[str, str] = Field(default_factory=dict)

    @property
    def enabled(self) -> bool:
        return bool(self.url_template)

    @field_validator("url_template")
    @classmethod
    def _template_is_a_web_address(cls, template: str) -> str:
        if not template:
            return template
        try:
            parsed = list(string.Formatter().parse(template))
        except ValueError as error:
            raise ValueError(f"not a valid template: {error}") from None
        for _, name, spec, conversion in parsed:
            if name is None:
                continue
            if name not in PLACEHOLDERS:
                raise ValueError(
                    f"unknown placeholder {{{name}}}; use {', '.join(sorted(PLACEHOLDERS))}"
                )
            if spec or conversion:
                raise ValueError(f"placeholder {{{name}}} takes no format or conversion")
        address = urlsplit(template)
        if address.scheme not in ("http", "https"):
            raise ValueError("must start with http:// or https://")
        if not address.hostname or "{" in address.netloc:
            raise ValueError("must name the CRM's host, not fill it in from the call")
        return template

    @model_validator(mode="after")
    def _fields_known(self) -> ExternalCrmSettings:
        for table, known in (
            ("fields", DEFAULT_FIELDS),
            ("case_fields", DEFAULT_CASE_FIELDS),
            ("interaction_fields", DEFAULT_INTERACTION_FIELDS),
        ):
            unknown = sorted(set(getattr(self, table)) - set(known))
            if unknown:
                raise ValueError(
                    f"{table}: unknown field {unknown[0]!r}; known: {', '.join(sorted(known))}"
                )
        return self


class ExternalCrm:
    """One HTTP client for the service's lifetime (connections are reused
    across calls); ``aclose`` at shutdown."""

    def __init__(
        self, settings: ExternalCrmSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.enabled:
            raise ValueError("no url_template: the external CRM is not configured")
        self._settings = settings
        self._fields = _merged(DEFAULT_FIELDS, settings.fields)
        self._case_fields = _merged(DEFAULT_CASE_FIELDS, settings.case_fields)
        self._interaction_fields = _merged(DEFAULT_INTERACTION_FIELDS, settings.interaction_fields)
        self._needs = {name for _, name, _, _ in string.Formatter().parse(settings.url_template)}
        self._needs.discard(None)
        self._host = urlsplit(settings.url_template).hostname or ""
        headers = {"Accept": "application/json"}
        if settings.token is not None:
            headers["Authorization"] = f"Bearer {settings.token.get_secret_value()}"
        self._client = httpx.AsyncClient(
            headers=headers,
            timeout=settings.timeout_s,
            follow_redirects=False,
            transport=transport,
        )

    async def aclose(self) -> None:
        await self._client.aclose()

    async def lookup(
        self, *, call_id: str, e164: str | None, account: str, limit: int
    ) -> list[dict[str, Any]]:
        """At most ``limit`` records in the pop's shape (``CustomerCard`` fields
        plus ``open_cases`` and ``last_interactions``); [] when the CRM does not
        know the caller, or the call gives nothing the template needs."""
        values = {
            "number": e164 or "",
            "digits": (e164 or "").lstrip("+"),
            "account": account if account.isascii() and account.isdigit() else "",
        }
        if any(not values[name] for name in self._needs if name is not None):
            return []  # e.g. an anonymous caller and a template that needs the number
        url = self._settings.url_template.format(
            **{name: quote(value, safe="") for name, value in values.items()}
        )
        try:
            async with asyncio.timeout(self._settings.timeout_s):
                answer = await self._get(url)
        except TimeoutError:
            raise self._unavailable(call_id, "timed out") from None
        except httpx.HTTPError as error:
            raise self._unavailable(call_id, type(error).__name__) from None
        if answer is None:
            return []
        records = _at(answer, self._settings.records_path)
        if isinstance(records, dict):
            records = [records]
        if not isinstance(records, list):
            return []
        return [self._record(r) for r in records[:limit] if isinstance(r, dict)]

    async def _get(self, url: str) -> Any:
        """The decoded answer; None for "not known" (404)."""
        async with self._client.stream("GET", url) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise httpx.HTTPStatusError(
                    f"status {response.status_code}", request=response.request, response=response
                )
            body = bytearray()
            async for chunk in response.aiter_bytes():
                body += chunk
                if len(body) > MAX_RESPONSE_BYTES:
                    raise httpx.DecodingError("answer too big")
        try:
            return json.loads(body)
        except ValueError:
            raise httpx.DecodingError("answer is not JSON") from None

    def _unavailable(self, call_id: str, reason: str) -> CrmUnavailable:
        log.warning("external CRM unavailable", call_id=call_id, host=self._host, reason=reason)
        return CrmUnavailable(reason)

    def _record(self, record: dict[str, Any]) -> dict[str, Any]:
        card: dict[str, Any] = {}
        for target, path in self._fields.items():
            if target in ("open_cases", "last_interactions"):
                continue
            value = _text(_at(record, path), money=target in _MONEY_FIELDS)
            if value is not None:
                card[target] = value
        card.setdefault("name", "")
        card.setdefault("tier", "")
        card.setdefault("lifetime_value", "0.00")
        card.setdefault("account_number", "")
        return {
            "customer": card,
            "open_cases": self._items(record, "open_cases", self._case_fields),
            "last_interactions": self._items(record, "last_interactions", self._interaction_fields),
        }

    def _items(
        self, record: dict[str, Any], target: str, fields: dict[str, str]
    ) -> list[dict[str, str]]:
        items = _at(record, self._fields.get(target, ""))
        if not isinstance(items, list):
            return []
        mapped = []
        for item in items:
            if isinstance(item, dict):
                line = dict.fromkeys(_REQUIRED[target], "")
                for name, path in fields.items():
                    value = _text(_at(item, path), money=False)
                    if value is not None:
                        line[name] = value
                mapped.append(line)
        return mapped


def _merged(defaults: dict[str, str], overrides: dict[str, str]) -> dict[str, str]:
    return {name: path for name, path in {**defaults, **overrides}.items() if path}


def _at(document: Any, path: str) -> Any:
    """The value at a dotted path (``data.matches``, ``phones.0.number``); None
    where the path leads nowhere. "" is the document itself."""
    if not path:
        return document
    for step in path.split("."):
        if isinstance(document, dict):
            document = document.get(step)
        elif isinstance(document, list) and step.isdigit() and int(step) < len(document):
            document = document[int(step)]
        else:
            return None
    return document


def _text(value: Any, *, money: bool) -> str | None:
    """What the pop shows for a scalar; None for nothing or a structure."""
    if value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, bool):
        return "yes" if value else "no"
    if money:
        try:
            return f"{Decimal(str(value)):.2f}"
        except InvalidOperation:
            return str(value)
    return str(value)
