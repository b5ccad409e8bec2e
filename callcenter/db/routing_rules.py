"""Routing rules in the database: numbered versions, the live one, publishing.

The rules (``routing.RoutingRules``) are one JSON document per version in
``routing_rule_versions``, so every node reads the same rules, a report can name
the version that routed a call, and the admin editor can diff and roll back.
Publishing stores a new version and stamps it ``published_at``; the live rules
are the version published last. A document is validated before it is stored and
again when it is loaded, so a rule the code no longer accepts never reaches the
router unnoticed.

Validation errors come out as ``{"field": ..., "reason": ...}`` pairs (the CLI
prints them, the REST API will return them), with the field as a dotted path
into the document: ``queues.0.steps.1.after_s``.
"""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypedDict
from weakref import WeakKeyDictionary

import structlog
from pydantic import ValidationError
from sqlalchemy import Select, String, Text, func, insert, literal, select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import Queue, RoutingRuleVersion, UtcDateTime
from callcenter.db.session import Sessions
from routing.rules import QueueRule, RoutingRules

log = structlog.get_logger(__name__)

#: Concurrent publishers on a backend without our table lock could both pick
#: the same number; the loser's insert fails on the primary key and it tries again.
_PUBLISH_ATTEMPTS = 5
#: "queues.1.overflow: no queue named 'x'": the rules' own cross-field checks
#: start their message with the path of the field they are about
_PATH_PREFIX = re.compile(r"^(?P<path>[A-Za-z_]\w*(?:\.\w+)*): (?P<reason>.+)$", re.DOTALL)
#: What ``live_rules_or_default`` already warned about, per database (session
#: factory): the service polls it, and the same warning on every poll would bury
#: every other log line.
_SAID: WeakKeyDictionary[Sessions, set[tuple[object, ...]]] = WeakKeyDictionary()


def _once(sessions: Sessions, *key: object) -> bool:
    said = _SAID.setdefault(sessions, set())
    if key in said:
        return False
    said.add(key)
    return True


class FieldError(TypedDict):
    """One reason a document was refused: where (dotted path, "" for the whole
    document) and why."""

    field: str
    reason: str


class RulesInvalid(ValueError):
    """A rules document that does not validate; ``errors`` say where and why."""

    def __init__(self, errors: list[FieldError]) -> None:
        self.errors = errors
        super().__init__(
            "; ".join(f"{e['field'] or '(document)'}: {e['reason']}" for e in errors)
            or "invalid routing rules"
        )


@dataclass(frozen=True, slots=True)
class RuleVersionSummary:
    """One stored version, without its document (for lists and audits)."""

    version: int
    created_at: datetime
    created_by: str
    note: str
    #: None: a draft, never published
    published_at: datetime | None


def validation_errors(exc: ValidationError) -> list[FieldError]:
    """Pydantic's errors as field + reason pairs a person (or a form) can act on.

    Pydantic locates an error at the model whose validator raised it; the rules'
    cross-field validators name the exact field at the start of their message
    (``steps.0.min_proficiency: ...``), so that path is appended to the location
    and the message keeps only the reason.
    """
    errors: list[FieldError] = []
    for error in exc.errors(include_url=False):
        path = [str(part) for part in error["loc"]]
        cause = error.get("ctx", {}).get("error")
        reason = str(cause) if isinstance(cause, ValueError) else error["msg"]
        named = _PATH_PREFIX.match(reason)
        if named is not None:
            path.append(named["path"])
            reason = named["reason"]
        errors.append({"field": ".".join(path), "reason": reason})
    return errors


def check_rules(document: object) -> RoutingRules:
    """The validated rules, or ``RulesInvalid`` with every field that is wrong."""
    try:
        return RoutingRules.model_validate(document)
    except ValidationError as exc:
        raise RulesInvalid(validation_errors(exc)) from exc


def read_rules_file(path: Path) -> RoutingRules:
    """Rules from a TOML file (``config/routing.toml``) or a JSON one (what
    ``callcenter rules show`` prints), validated.

    A file that is not even TOML/JSON is refused as ``RulesInvalid`` too, so
    callers report every problem the same way.
    """
    text = path.read_text(encoding="utf-8")
    try:
        document: object = json.loads(text) if path.suffix == ".json" else tomllib.loads(text)
    except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
        kind = "JSON" if path.suffix == ".json" else "TOML"
        raise RulesInvalid([{"field": "", "reason": f"not valid {kind}: {exc}"}]) from exc
    return check_rules(document)


def _live_first() -> Select[int]:
    """Published versions, the one published last first (a later editor may
    publish an older draft; publishing is what makes a version live)."""
    return (
        select(RoutingRuleVersion.version)
        .where(RoutingRuleVersion.published_at.is_not(None))
        .order_by(RoutingRuleVersion.published_at.desc(), RoutingRuleVersion.version.desc())
    )


async def load_live_rules(sessions: Sessions) -> RoutingRules | None:
    """The live rules, validated; None when no version was ever published.

    Raises ``RulesInvalid`` when the live version no longer validates (the code's
    rules grew stricter than a stored document): ``live_rules_or_default`` is the
    forgiving variant a running service uses.
    """
    async with sessions() as session:
        document = await session.scalar(
            select(RoutingRuleVersion.document).where(
                RoutingRuleVersion.version == _live_first().limit(1).scalar_subquery()
            )
        )
    if document is None:
        return None
    return _parse_stored(document)


async def live_rules_or_default(sessions: Sessions) -> tuple[RoutingRules, int | None]:
    """The rules to route by, and their version (None: built from the queues table).

    Calls must keep flowing whatever is stored: a live version that no longer
    validates is logged and the version published before it is used; with
    nothing published, each queue in the ``queues`` table gets a plain rule (its
    skill at proficiency 1, its ring timeout) and a warning says so. Never raises
    for what is (not) stored: a service must start on an empty database too.
    """
    async with sessions() as session:
        for version in list(await session.scalars(_live_first())):
            document = await session.scalar(
                select(RoutingRuleVersion.document).where(RoutingRuleVersion.version == version)
            )
            if document is None:  # deleted since the list was read
                continue
            try:
                return _parse_stored(document), version
            except RulesInvalid as exc:
                if _once(sessions, "invalid", version):
                    log.error(
                        "stored routing rules no longer validate; trying the version before",
                        version=version,
                        errors=exc.errors,
                    )
        queues = list(await session.scalars(select(Queue).order_by(Queue.id)))
        rows = [(q.name, q.skill.name, float(q.ring_timeout_s)) for q in queues]
    rules = rules_from_queues(rows, warn=lambda *key: _once(sessions, *key))
    names = tuple(q.name for q in rules.queues)
    if _once(sessions, "fallback", names):
        log.warning(
            "no routing rules published; routing each queue by its skill alone"
            " (publish rules with `callcenter rules publish`)",
            queues=list(names),
        )
    return rules, None


def rules_from_queues(
    queues: list[tuple[str, str, float]],
    *,
    warn: Callable[..., bool] = lambda *_key: True,
) -> RoutingRules:
    """Plain rules for (queue name, skill, ring timeout) rows: any agent with the
    skill, longest idle first, no steps, no overflow, always open.

    A row the rules cannot describe (a name with spaces, say) is left out with a
    warning rather than stopping every other queue. With no queue at all (a fresh
    database) the rules have no queues either: a document validation would refuse
    (it asks for at least one queue), built only so a service can start and wait
    for queues or published rules; it is never stored. ``warn(*key)`` says whether
    a warning is still worth logging (a poller would repeat it every time).
    """
    rules: list[QueueRule] = []
    for name, skill, ring_timeout_s in queues:
        try:
            rules.append(
                QueueRule(name=name, skills={skill: 1}, ring_timeout_s=ring_timeout_s or 15.0)
            )
        except ValidationError as exc:
            if warn("left out", name):
                log.warning(
                    "queue left out of the default rules",
                    queue=name,
                    errors=validation_errors(exc),
                )
    if not rules:
        if warn("no queues"):
            log.warning("no queues to route: calls are refused until rules are published")
        return RoutingRules.model_construct(queues=[])
    return RoutingRules(queues=rules)


def _parse_stored(document: str) -> RoutingRules:
    try:
        return RoutingRules.model_validate_json(document)
    except ValidationError as exc:
        raise RulesInvalid(validation_errors(exc)) from exc


async def publish_rules(
    sessions: Sessions, rules: RoutingRules, *, author: str, note: str = ""
) -> int:
    """Store ``rules`` as a new version, live from now; returns its number.

    Numbers only grow and are never shared: the number is computed inside the
    insert itself, on PostgreSQL under a table lock that only other publishers
    wait for (readers do not), and a clash on another backend is retried.
    """
    version = await _store(sessions, rules, author=author, note=note, only_if_none=False)
    assert version is not None  # only_if_none=False always stores
    return version


async def publish_rules_if_none(
    sessions: Sessions, rules: RoutingRules, *, author: str, note: str = ""
) -> int | None:
    """Publish ``rules`` only when no version (published or draft) exists yet;
    the new number, or None when there already were versions.

    The check and the insert are one statement, so two seeds racing on a fresh
    database still store one version.
    """
    return await _store(sessions, rules, author=author, note=note, only_if_none=True)


async def save_draft(
    sessions: Sessions, rules: RoutingRules, *, author: str, note: str = ""
) -> int:
    """Store ``rules`` as a new draft version (not live); returns its number.

    Drafts are validated like published versions: the editor refuses an invalid
    one with its field errors before anything is stored."""
    version = await _store(
        sessions, rules, author=author, note=note, only_if_none=False, publish=False
    )
    assert version is not None
    return version


class VersionNotFound(LookupError):
    pass


class AlreadyPublished(ValueError):
    """Only a draft can be published; an earlier published version is brought
    back by ``rollback_to`` (a new version, so history is never rewritten)."""


async def publish_draft(sessions: Sessions, version: int, *, author: str) -> RoutingRules:
    """Make draft ``version`` the live rules (stamps ``published_at``); returns
    the rules. Raises ``VersionNotFound``, ``AlreadyPublished``, or
    ``RulesInvalid`` when the stored draft no longer validates."""
    async with sessions.begin() as session:
        row = await session.get(RoutingRuleVersion, version, with_for_update=True)
        if row is None:
            raise VersionNotFound(version)
        if row.published_at is not None:
            raise AlreadyPublished(f"version {version} was published already")
        rules = _parse_stored(row.document)
        row.published_at = datetime.now(UTC)
    log.info("routing rules draft published", version=version, author=author)
    return rules


async def rollback_to(sessions: Sessions, version: int, *, author: str) -> tuple[int, RoutingRules]:
    """Publish the document of an earlier ``version`` again, as a new version
    (numbers and stamps of the past stay as they were); returns the new number
    and the rules. Raises ``VersionNotFound`` or ``RulesInvalid``."""
    found = await rules_document(sessions, version)
    if found is None:
        raise VersionNotFound(version)
    rules = check_rules(found[1])
    new_version = await publish_rules(
        sessions, rules, author=author, note=f"rollback to version {version}"
    )
    return new_version, rules


async def _store(
    sessions: Sessions,
    rules: RoutingRules,
    *,
    author: str,
    note: str,
    only_if_none: bool,
    publish: bool = True,
) -> int | None:
    # Re-validated from its own dump: a model built in code with
    # ``model_construct`` or mutated copies must not slip past the checks.
    document = rules.model_dump_json()
    _parse_stored(document)
    for attempt in range(1, _PUBLISH_ATTEMPTS + 1):
        try:
            async with sessions.begin() as session:
                return await _insert_version(session, document, author, note, only_if_none, publish)
        except IntegrityError:
            if attempt == _PUBLISH_ATTEMPTS:
                raise
            log.info("another version was stored at the same time; numbering again")
    raise AssertionError("unreachable")


async def _insert_version(
    session: AsyncSession,
    document: str,
    author: str,
    note: str,
    only_if_none: bool,
    publish: bool,
) -> int | None:
    if session.get_bind().dialect.name == "postgresql":
        # SHARE ROW EXCLUSIVE conflicts with itself (other publishers) and with
        # writers, never with plain SELECTs: the router keeps reading meanwhile.
        await session.execute(text("LOCK TABLE routing_rule_versions IN SHARE ROW EXCLUSIVE MODE"))
    now = datetime.now(UTC)
    rows = select(
        func.coalesce(func.max(RoutingRuleVersion.version), 0) + 1,
        literal(document, Text()),
        literal(now, UtcDateTime()),
        literal(author[:64], String()),
        literal(note[:500], String()),
        literal(now if publish else None, UtcDateTime()),
    ).select_from(RoutingRuleVersion)
    if only_if_none:
        rows = rows.having(func.count() == 0)
    # One statement: on SQLite it takes the write lock before it reads the
    # newest number, so two publishers cannot both read the same one.
    statement = (
        insert(RoutingRuleVersion)
        .from_select(
            ["version", "document", "created_at", "created_by", "note", "published_at"], rows
        )
        .returning(RoutingRuleVersion.version)
    )
    version = await session.scalar(statement)
    if version is not None:
        log.info(
            "routing rules published" if publish else "routing rules draft saved",
            version=version,
            author=author,
        )
    return version


async def rule_versions(sessions: Sessions) -> list[RuleVersionSummary]:
    """Every stored version, newest number first, without the documents."""
    async with sessions() as session:
        rows = await session.execute(
            select(
                RoutingRuleVersion.version,
                RoutingRuleVersion.created_at,
                RoutingRuleVersion.created_by,
                RoutingRuleVersion.note,
                RoutingRuleVersion.published_at,
            ).order_by(RoutingRuleVersion.version.desc())
        )
        return [RuleVersionSummary(*row) for row in rows]


async def rules_document(
    sessions: Sessions, version: int | None = None
) -> tuple[int, dict[str, Any]] | None:
    """The stored document of ``version`` (default: the live one) as it was
    stored, with its number; None when there is no such version.

    Not validated: an admin must be able to look at a version the code no
    longer accepts, to fix it.
    """
    async with sessions() as session:
        number = version if version is not None else await session.scalar(_live_first().limit(1))
        if number is None:
            return None
        document = await session.scalar(
            select(RoutingRuleVersion.document).where(RoutingRuleVersion.version == number)
        )
    if document is None:
        return None
    parsed: dict[str, Any] = json.loads(document)
    return number, parsed


async def live_version(sessions: Sessions) -> int | None:
    """The number of the version published last (the live one), or None."""
    async with sessions() as session:
        version: int | None = await session.scalar(_live_first().limit(1))
        return version
