"""AMI privilege classes, as ``manager.conf``'s ``read =`` / ``write =`` lines give them.

Why the simulator checks them: a least-privilege AMI user is part of the security
model (an Originate is as dangerous as a shell, AST-2012-012), so a client must be
testable against a PBX that refuses what its user may not do — with Asterisk's
``Permission denied`` — and that withholds events its user may not read.
"""

from __future__ import annotations

from dataclasses import dataclass

CLASSES = frozenset(
    {
        "system", "call", "log", "verbose", "command", "agent", "user", "config", "dtmf",
        "reporting", "cdr", "dialplan", "originate", "agi", "cc", "aoc", "test", "security",
        "message",
    }
)  # fmt: skip

#: how Asterisk spells each action the simulator knows (ListCommands shows these)
ACTION_NAMES = (
    "Login", "Logoff", "Ping", "ListCommands", "Originate", "Hangup", "Redirect", "Setvar",
    "Getvar", "Status", "CoreShowChannels", "UserEvent", "MixMonitorMute", "Bridge",
    "BlindTransfer", "Atxfer",
)  # fmt: skip

#: the write classes an action needs (any one suffices, as in Asterisk's manager.c);
#: an empty set means every logged-in user may send it
ACTION_WRITE: dict[str, frozenset[str]] = {
    "login": frozenset(),
    "logoff": frozenset(),
    "ping": frozenset(),
    "listcommands": frozenset(),
    "originate": frozenset({"originate"}),
    "hangup": frozenset({"system", "call"}),
    "redirect": frozenset({"call"}),
    "setvar": frozenset({"call"}),
    "getvar": frozenset({"call", "reporting"}),
    "status": frozenset({"system", "call", "reporting"}),
    "coreshowchannels": frozenset({"system", "reporting"}),
    "userevent": frozenset({"user"}),
    "mixmonitormute": frozenset({"system", "call"}),
    "bridge": frozenset({"call"}),
    "blindtransfer": frozenset({"call"}),
    "atxfer": frozenset({"call"}),
}


def parse_classes(text: str) -> frozenset[str]:
    """``"call,user"`` -> {call, user}; ``"all"`` -> every class; unknown names are
    ignored, as Asterisk ignores them."""
    names = {part.strip().lower() for part in text.split(",") if part.strip()}
    if "all" in names:
        return CLASSES
    return frozenset(names & CLASSES)


@dataclass(frozen=True, slots=True)
class Privileges:
    read: frozenset[str] = CLASSES
    write: frozenset[str] = CLASSES

    @classmethod
    def of(cls, read: str, write: str) -> Privileges:
        return cls(parse_classes(read), parse_classes(write))

    def may_read(self, event_class: str) -> bool:
        return event_class in self.read

    def may_send(self, action: str) -> bool:
        needed = ACTION_WRITE.get(action.lower(), frozenset())
        return not needed or bool(needed & self.write)
