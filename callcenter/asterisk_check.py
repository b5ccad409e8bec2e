"""``callcenter check-asterisk``: lint the Asterisk configuration callcenter runs against.

Why: the contract between the service and Asterisk lives in files the operator
edits (manager.conf, extensions.conf, pjsip.conf), and a wrong line there fails
silently in production: an AMI user whose secret also runs shell commands, a
context the router Redirects callers into that is not there, phones whose loss
Asterisk never notices. These checks read the files the way Asterisk does
(sections, ``(!)`` templates and inheritance, ``;`` and ``;-- --;`` comments,
``#include``) keeping every line's file and number, so each finding points at
the line to fix. Pure: the files in, a list of findings out; the CLI prints them.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from callcenter.ami.tracker import TRACKED_EVENTS

MANAGER, EXTENSIONS, PJSIP = "manager.conf", "extensions.conf", "pjsip.conf"
#: named ACLs, which an AMI user takes with ``acl = name``
ACL = "acl.conf"

#: the contexts callcenter sends calls into (or that raise its events), and why
REQUIRED_CONTEXTS: dict[str, str] = {
    "callcenter-inbound": "its DIDs raise CallCenterEnqueue, how a caller reaches a queue",
    "callcenter-wait": "callers wait there (and go there on hold)",
    "callcenter-connect": "agent legs are originated there and bridged to their caller",
    "callcenter-spy": "supervisors' monitor / whisper / barge legs run there",
    "callcenter-conf": "the call's conference for hold, consultation and transfers",
    "callcenter-survey": "callers are sent there for the post-call survey",
    "callcenter-callback": "callers asking for a callback are sent there",
    "callcenter-callback-out": "callback attempts are originated there",
    "callcenter-outbound": "transfers out and outside conference parties dial from there",
    "callcenter-voicemail": "overflow and closed actions send callers there",
    "callcenter-closed": "closed actions send callers there",
}


#: write classes that give whoever holds the AMI secret the whole machine
DANGEROUS_WRITE: dict[str, str] = {
    "system": "shut down, restart and reload Asterisk and rewrite its dialplan",
    "command": "run any CLI command (System() and shell escapes included)",
    "config": "read and rewrite every config file, secrets included",
}

#: a permit shorter than this lets in a large part of the internet
MIN_PERMIT_PREFIX = 8

#: agents' phones are the PJSIP endpoints that land here (pjsip.conf's agent-endpoint)
AGENT_CONTEXT = "callcenter-agents"

_ENQUEUE = re.compile(r"(?i:userevent)\(\s*CallCenterEnqueue\s*[,)]")
_BRIDGE = re.compile(r"(?<![\w])(?i:bridge)\(")
_SECTION = re.compile(r"^\[([^\]]+)\]\s*(?:\(([^)]*)\))?\s*$")
_INCLUDE = re.compile(r"^#\s*(include|tryinclude)\s+[\"<]?([^\">]+)[\">]?\s*$", re.IGNORECASE)
_MAX_INCLUDE_DEPTH = 8
_ASTERISK_ETC = "/etc/asterisk/"
_TRUE = frozenset({"yes", "true", "y", "t", "1", "on"})
_POSIX_CLASSES = {
    "[:space:]": r"\s",
    "[:digit:]": r"\d",
    "[:alpha:]": "A-Za-z",
    "[:alnum:]": "A-Za-z0-9",
    "[:upper:]": "A-Z",
    "[:lower:]": "a-z",
}


@dataclass(frozen=True, slots=True)
class Finding:
    """One refused line: the file (relative to the checked directory), its line
    number (1 for what concerns the file as a whole) and why."""

    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


@dataclass(frozen=True, slots=True)
class Entry:
    """``key = value`` or ``key => value``; the key lower-cased, as Asterisk
    compares option names."""

    key: str
    value: str
    file: str
    line: int


@dataclass(slots=True, eq=False)
class Section:
    """``[name]``, ``[name](!)`` (a template), ``[name](base,...)`` or
    ``[name](+)`` (more lines for an earlier ``[name]``), with its own lines."""

    name: str
    file: str
    line: int
    template: bool = False
    bases: tuple[Section, ...] = ()
    entries: list[Entry] = field(default_factory=list)

    def resolved(self) -> list[Entry]:
        """The templates' lines first (in the order named), then its own: a later
        line overrides an earlier one, as Asterisk's inheritance does."""
        out: list[Entry] = []
        for base in self.bases:
            out.extend(base.resolved())
        out.extend(self.entries)
        return out


@dataclass(slots=True)
class ConfFile:
    """A parsed file: its sections in order, and what Asterisk itself would refuse
    while reading it (an unknown template, a missing ``#include``)."""

    sections: list[Section]
    problems: list[Finding]


def check_directory(directory: Path) -> list[Finding]:
    """Every finding for an Asterisk config directory (``/etc/asterisk``, or the
    repository's ``config/asterisk``), sorted by file and line. pjsip.conf is
    checked only when present; the other two must be there."""
    findings: list[Finding] = []
    manager = parse_conf(directory, MANAGER)
    acls = parse_conf(directory, ACL)
    if acls is not None:
        findings += acls.problems
    if manager is None:
        findings.append(Finding(MANAGER, 1, "missing: callcenter needs an AMI user to log in"))
    else:
        findings += manager.problems + check_manager(manager, acls)
    extensions = parse_conf(directory, EXTENSIONS)
    if extensions is None:
        findings.append(Finding(EXTENSIONS, 1, "missing: callcenter needs its dialplan contexts"))
    else:
        findings += extensions.problems + check_extensions(extensions)
    pjsip = parse_conf(directory, PJSIP)
    if pjsip is not None:
        findings += pjsip.problems + check_pjsip(pjsip)
    unique = list(dict.fromkeys(findings))  # a file #included twice reports once
    return sorted(unique, key=lambda f: (f.file, f.line))


# -- parsing -------------------------------------------------------------------------


def parse_conf(directory: Path, name: str) -> ConfFile | None:
    """``directory/name`` as Asterisk's config parser reads it; None when the file
    is not there."""
    if not (directory / name).is_file():
        return None
    sections: list[Section] = []
    problems: list[Finding] = []
    current: Section | None = None
    for file, number, text in _lines(directory, directory / name, problems, 0):
        header = _SECTION.match(text)
        if header is not None:
            current = _section(header, file, number, sections, problems)
            continue
        key, sep, value = text.partition("=")
        if current is None or not sep:
            continue  # before any [section], or not an option: Asterisk skips it too
        current.entries.append(
            Entry(key.strip().lower(), value.removeprefix(">").strip(), file, number)
        )
    return ConfFile(sections, problems)


def _section(
    header: re.Match[str], file: str, number: int, sections: list[Section], problems: list[Finding]
) -> Section:
    name = header.group(1).strip()
    options = [o.strip() for o in (header.group(2) or "").split(",") if o.strip()]
    if "+" in options:
        earlier = next((s for s in reversed(sections) if s.name == name), None)
        if earlier is not None:
            return earlier
        problems.append(Finding(file, number, f"[{name}](+) adds to no earlier [{name}]"))
    bases: list[Section] = []
    for option in options:
        if option in ("!", "+"):
            continue
        base = next((s for s in sections if s.name == option), None)
        if base is None:
            problems.append(
                Finding(
                    file,
                    number,
                    f"[{name}] inherits from [{option}], which is not defined above it: "
                    "Asterisk refuses the whole file",
                )
            )
        else:
            bases.append(base)
    section = Section(name, file, number, template="!" in options, bases=tuple(bases))
    sections.append(section)
    return section


def _lines(
    directory: Path, path: Path, problems: list[Finding], depth: int
) -> Iterator[tuple[str, int, str]]:
    """``(file, line number, text)`` for each line with something left once its
    comments are stripped, ``#include`` files read in place."""
    file = _display_name(directory, path)
    in_block = False
    for number, raw in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        text, in_block = _strip_comments(raw, in_block)
        text = text.strip()
        if not text:
            continue
        if not text.startswith("#"):
            yield file, number, text
            continue
        include = _INCLUDE.match(text)
        if include is None:
            continue  # #exec and the like: nothing to read here
        targets = _include_targets(directory, path, include.group(2).strip())
        if not targets and include.group(1).lower() == "include":
            problems.append(Finding(file, number, f"#include {include.group(2)}: no such file"))
        for target in targets:
            if depth >= _MAX_INCLUDE_DEPTH:
                problems.append(Finding(file, number, "#include nested too deep (a loop?)"))
                break
            yield from _lines(directory, target, problems, depth + 1)


def _include_targets(directory: Path, including: Path, name: str) -> list[Path]:
    """The files an ``#include`` names: relative to the config directory, as
    Asterisk resolves them (``/etc/asterisk/...`` is taken to mean the checked
    directory), globs expanded."""
    if name.startswith(_ASTERISK_ETC):
        name = name[len(_ASTERISK_ETC) :]
    base = Path(name) if Path(name).is_absolute() else directory / name
    if any(c in name for c in "*?["):
        return sorted(p for p in base.parent.glob(base.name) if p.is_file() and p != including)
    return [base] if base.is_file() else []


def _display_name(directory: Path, path: Path) -> str:
    try:
        return path.relative_to(directory).as_posix()
    except ValueError:
        return str(path)


def _strip_comments(line: str, in_block: bool) -> tuple[str, bool]:
    """The line without its ``;`` comment (``\\;`` is a literal semicolon) and
    ``;-- ... --;`` block comments; whether a block comment is still open."""
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_block:
            end = line.find("--;", i)
            if end < 0:
                return "".join(out), True
            i, in_block = end + 3, False
        elif line.startswith("\\;", i):
            out.append(";")
            i += 2
        elif line.startswith(";--", i):
            i, in_block = i + 3, True
        elif line[i] == ";":
            break
        else:
            out.append(line[i])
            i += 1
    return "".join(out), in_block


def _last(entries: Sequence[Entry], key: str) -> Entry | None:
    """The line that decides a single-valued option: the last one."""
    return next((e for e in reversed(entries) if e.key == key), None)


def _value(entries: Sequence[Entry], key: str) -> str:
    entry = _last(entries, key)
    return "" if entry is None else entry.value.strip().lower()


def _list(value: str) -> list[str]:
    return [item.strip().lower() for item in value.split(",") if item.strip()]


# -- manager.conf --------------------------------------------------------------------


def check_manager(conf: ConfFile, acls: ConfFile | None = None) -> list[Finding]:
    """Every AMI user (a section other than [general], not a template) is least
    privilege: no ``all``, no system/command/config write, a deny and a narrow
    permit (its own lines, or those of the acl.conf sections it names with
    ``acl =``); its eventfilter lines, if any, let through what the tracker handles."""
    named = {s.name.lower(): s for s in acls.sections if not s.template} if acls else {}
    findings: list[Finding] = []
    users = [s for s in conf.sections if not s.template and s.name.lower() != "general"]
    general = next((s for s in conf.sections if s.name.lower() == "general"), None)
    if general is not None and _value(general.resolved(), "enabled") not in _TRUE:
        findings.append(
            Finding(general.file, general.line, "[general] enabled is not yes: AMI is off")
        )
    if not users:
        findings.append(Finding(MANAGER, 1, "no AMI user: callcenter has nothing to log in as"))
    for user in users:
        entries = user.resolved()
        findings += _privileges(user, entries)
        rules, unknown = _with_named_acls(user, entries, named)
        findings += unknown + _acl(user, rules)
        findings += _eventfilters(user, entries)
    return findings


def _privileges(user: Section, entries: Sequence[Entry]) -> list[Finding]:
    findings: list[Finding] = []
    read = _last(entries, "read")
    if read is not None and "all" in _list(read.value):
        findings.append(
            Finding(
                read.file,
                read.line,
                f"AMI user [{user.name}]: read = all sends every event class; "
                "callcenter reads system,call,user,dialplan",
            )
        )
    write = _last(entries, "write")
    if write is None:
        return findings
    classes = _list(write.value)
    if "all" in classes:
        findings.append(
            Finding(
                write.file,
                write.line,
                f"AMI user [{user.name}]: write = all allows every action, shell commands "
                "and config rewrites included; callcenter needs originate,call,reporting",
            )
        )
        return findings
    dangerous = [
        f"{name} would let it {why}" for name, why in DANGEROUS_WRITE.items() if name in classes
    ]
    if dangerous:
        findings.append(
            Finding(
                write.file,
                write.line,
                f"AMI user [{user.name}]: write class {'; '.join(dangerous)}; "
                "callcenter needs originate,call,reporting",
            )
        )
    return findings


def _with_named_acls(
    user: Section, entries: Sequence[Entry], named: dict[str, Section]
) -> tuple[list[Entry], list[Finding]]:
    """The user's deny and permit lines with those of each named ACL it takes
    (``acl = a, b``) in its place; and a finding for each name acl.conf lacks.
    Asterisk lets an address in only if every ACL of the user does, so judging
    all their rules together never passes a user that one of them leaves open
    to the world, at worst it refuses a wide permit another ACL narrows."""
    rules: list[Entry] = []
    unknown: list[Finding] = []
    for entry in entries:
        if entry.key != "acl":
            rules.append(entry)
            continue
        for name in _list(entry.value):
            section = named.get(name)
            if section is None:
                unknown.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"AMI user [{user.name}]: acl = {name} names no [{name}] in {ACL} "
                        "(Asterisk marks it undefined and refuses every address: callcenter "
                        "cannot log in)",
                    )
                )
            else:
                rules.extend(section.resolved())
    return rules, unknown


def _acl(user: Section, entries: Sequence[Entry]) -> list[Finding]:
    """Asterisk lets every address in unless a rule says otherwise (last match
    wins), so a user needs a ``deny`` (of everything, first) and ``permit`` rules
    naming the callcenter hosts, none of them a large part of the internet. As in
    Asterisk's ACLs, a line may list several networks, and a ``!`` before one
    turns that rule around (``deny = !10.0.0.0/8`` permits 10.0.0.0/8)."""
    findings: list[Finding] = []
    denies = permits = 0
    for entry in entries:
        if entry.key not in ("deny", "permit"):
            continue
        for item in (i.strip() for i in entry.value.split(",")):
            if not item:
                continue
            network = _network(item.removeprefix("!").strip())
            is_deny = (entry.key == "permit") == item.startswith("!")
            denies, permits = (denies + 1, permits) if is_deny else (denies, permits + 1)
            if network is None:
                findings.append(
                    Finding(
                        entry.file,
                        entry.line,
                        f"AMI user [{user.name}]: {entry.key} = {item} is not an address "
                        "with a netmask or prefix length (Asterisk deletes the user)",
                    )
                )
                continue
            if is_deny:
                continue  # a deny, however wide, only shuts out
            rule = f"{entry.key} = {item}"
            if network.prefixlen == 0:
                problem = f"{rule} lets in every address"
            elif network.prefixlen < MIN_PERMIT_PREFIX:
                problem = (
                    f"{rule} (/{network.prefixlen}) is too wide: permit the callcenter "
                    f"hosts, /{MIN_PERMIT_PREFIX} at the widest"
                )
            else:
                continue
            findings.append(Finding(entry.file, entry.line, f"AMI user [{user.name}]: {problem}"))
    if not denies:
        findings.append(
            Finding(
                user.file,
                user.line,
                f"AMI user [{user.name}] has no deny line: anyone reaching the AMI port "
                "may try its secret (start with deny = 0.0.0.0/0.0.0.0)",
            )
        )
    if not permits:
        findings.append(
            Finding(
                user.file,
                user.line,
                f"AMI user [{user.name}] has no permit line: name the callcenter hosts "
                "it logs in from (permit = 10.1.2.3/255.255.255.255)",
            )
        )
    return findings


def _network(text: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network | None:
    """``a.b.c.d``, ``a.b.c.d/nn`` or ``a.b.c.d/m.m.m.m`` (IPv6 alike), as
    manager.conf writes a network; None for anything else."""
    try:
        return ipaddress.ip_network(text, strict=False)
    except ValueError:
        return None


def _eventfilters(user: Section, entries: Sequence[Entry]) -> list[Finding]:
    """Classic ``eventfilter = <regex>`` lines (``!`` for an exclude) decide which
    events reach the user; one that drops an event the call tracker handles breaks
    callcenter without a word. Each tracked event, as a plausible frame, must pass.
    Filters this cannot evaluate (the ``eventfilter(...)`` form, POSIX classes not
    translated) are left alone rather than guessed at."""
    filters = [e for e in entries if e.key.startswith("eventfilter")]
    if not filters or any(e.key != "eventfilter" for e in filters):
        return []
    include: list[re.Pattern[str]] = []
    exclude: list[re.Pattern[str]] = []
    for entry in filters:
        pattern = _python_regex(entry.value.removeprefix("!"))
        if pattern is None:
            return []
        (exclude if entry.value.startswith("!") else include).append(pattern)
    dropped = [
        name for name in TRACKED_EVENTS if not _passes(_sample_event(name), include, exclude)
    ]
    if not dropped:
        return []
    first = filters[0]
    return [
        Finding(
            first.file,
            first.line,
            f"AMI user [{user.name}]: its eventfilter lines drop {', '.join(dropped)}, "
            "which callcenter's call tracker needs",
        )
    ]


def _python_regex(posix: str) -> re.Pattern[str] | None:
    """A POSIX extended regex (what Asterisk compiles) in Python's dialect; ``.``
    matches a line end too, as it does without REG_NEWLINE."""
    for name, python in _POSIX_CLASSES.items():
        posix = posix.replace(name, python)
    if "[:" in posix:
        return None
    try:
        return re.compile(posix, re.DOTALL)
    except re.error:
        return None


def _sample_event(name: str) -> str:
    frame = (
        f"Event: {name}\r\nPrivilege: call,all\r\nChannel: PJSIP/agent01-00000001\r\n"
        "Uniqueid: 1700000000.1\r\nLinkedid: 1700000000.1\r\n"
    )
    if name == "VarSet":
        frame += "Variable: CC_CALL_ID\r\nValue: c-1\r\n"
    elif name == "UserEvent":
        frame += "UserEvent: CallCenterEnqueue\r\nQueue: sales\r\n"
    return frame + "\r\n"


def _passes(
    frame: str, include: Sequence[re.Pattern[str]], exclude: Sequence[re.Pattern[str]]
) -> bool:
    """Asterisk's order: with include filters an event must match one of them;
    then it must match no exclude filter."""
    if include and not any(p.search(frame) for p in include):
        return False
    return not any(p.search(frame) for p in exclude)


# -- extensions.conf -----------------------------------------------------------------


def check_extensions(conf: ConfFile) -> list[Finding]:
    """The contexts callcenter uses are there, [callcenter-inbound] raises
    CallCenterEnqueue and [callcenter-connect] bridges the agent to its caller
    (looking through ``include =>`` too)."""
    contexts: dict[str, list[Section]] = {}
    for section in conf.sections:
        if not section.template:
            contexts.setdefault(section.name, []).append(section)
    findings = [
        Finding(EXTENSIONS, 1, f"context [{name}] is missing: {why}")
        for name, why in REQUIRED_CONTEXTS.items()
        if name not in contexts
    ]
    for name, pattern, problem in (
        (
            "callcenter-inbound",
            _ENQUEUE,
            "never raises UserEvent(CallCenterEnqueue,...): callcenter would never "
            "see a caller arrive",
        ),
        (
            "callcenter-connect",
            _BRIDGE,
            "has no Bridge(): an answered agent leg would never reach its caller",
        ),
    ):
        if name in contexts and not _context_runs(name, pattern, contexts):
            first = contexts[name][0]
            findings.append(Finding(first.file, first.line, f"[{name}] {problem}"))
    return findings


def _context_runs(name: str, pattern: re.Pattern[str], contexts: dict[str, list[Section]]) -> bool:
    """Whether an ``exten``/``same`` line of the context, or of one it includes,
    matches ``pattern``."""
    seen: set[str] = set()
    todo = [name]
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for section in contexts.get(current, []):
            for entry in section.resolved():
                if entry.key in ("exten", "same") and pattern.search(entry.value):
                    return True
                if entry.key == "include":
                    todo.append(entry.value.split(",")[0].strip())
    return False


# -- pjsip.conf ----------------------------------------------------------------------


def check_pjsip(conf: ConfFile) -> list[Finding]:
    """Every agent endpoint (landing in [callcenter-agents]) has aors that qualify:
    without ``qualify_frequency`` Asterisk never notices a phone that went away
    (no ContactStatus Unreachable), and callcenter goes on offering it calls."""
    objects = [(s, s.resolved()) for s in conf.sections if not s.template]
    aors: dict[str, tuple[Section, list[Entry]]] = {}
    for section, entries in objects:
        if _value(entries, "type") == "aor":
            aors.setdefault(section.name, (section, entries))
    findings: list[Finding] = []
    for section, entries in objects:
        if _value(entries, "type") != "endpoint" or _value(entries, "context") != AGENT_CONTEXT:
            continue
        aors_line = _last(entries, "aors")
        names = (
            []
            if aors_line is None
            else [n.strip() for n in aors_line.value.split(",") if n.strip()]
        )
        if aors_line is None or not names:
            findings.append(
                Finding(
                    section.file,
                    section.line,
                    f"agent endpoint [{section.name}] has no aors: its phone cannot "
                    "register, and callcenter would never see it come or go",
                )
            )
            continue
        for name in names:
            found = aors.get(name)
            if found is None:
                findings.append(
                    Finding(
                        aors_line.file,
                        aors_line.line,
                        f"agent endpoint [{section.name}]: aor [{name}] is not defined",
                    )
                )
            else:
                findings += _qualify(section.name, name, *found)
    return findings


def _qualify(endpoint: str, name: str, aor: Section, entries: Sequence[Entry]) -> list[Finding]:
    why = (
        "Asterisk would never notice the phone going away (no ContactStatus), and "
        "callcenter would go on offering it calls; set qualify_frequency = 5"
    )
    qualify = _last(entries, "qualify_frequency")
    if qualify is None:
        return [
            Finding(
                aor.file,
                aor.line,
                f"aor [{name}] of agent endpoint [{endpoint}] has no qualify_frequency: {why}",
            )
        ]
    try:
        seconds = int(qualify.value.strip())
    except ValueError:
        seconds = 0
    if seconds <= 0:
        return [
            Finding(
                qualify.file,
                qualify.line,
                f"aor [{name}] of agent endpoint [{endpoint}]: qualify_frequency = "
                f"{qualify.value.strip()} turns qualify off: {why}",
            )
        ]
    return []
