"""Per-user address ACLs, as manager.conf's ``deny =`` / ``permit =`` lines give them.

Why: production locks the AMI user to the ACD's host (``deny=0.0.0.0/0.0.0.0``,
``permit=127.0.0.1/255.255.255.255`` in the capture PBX's manager.conf), and a
client must be testable against a PBX that refuses a login from elsewhere with
the same ``Authentication failed`` a wrong secret gets.

Semantics follow Asterisk's ``ast_apply_ha``: every address starts allowed, the rules
are tried in order and each one that matches decides anew, so the last match wins.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from dataclasses import dataclass

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address

PERMIT, DENY = "permit", "deny"


@dataclass(frozen=True, slots=True)
class AddressRule:
    sense: str
    network: Network

    @classmethod
    def parse(cls, sense: str, network: str) -> AddressRule:
        """``("deny", "0.0.0.0/0.0.0.0")``: the network as an address and a netmask or
        prefix length, as manager.conf writes it."""
        sense = sense.strip().lower()
        if sense not in (PERMIT, DENY):
            raise ValueError(f"an ACL rule is permit or deny, not {sense!r}")
        return cls(sense, ipaddress.ip_network(network.strip(), strict=False))


@dataclass(frozen=True, slots=True)
class Acl:
    rules: tuple[AddressRule, ...] = ()

    @classmethod
    def of(cls, rules: Iterable[tuple[str, str]]) -> Acl:
        return cls(tuple(AddressRule.parse(sense, network) for sense, network in rules))

    def allows(self, host: str) -> bool:
        """Whether a client at ``host`` may log in; an unparsable host never may when
        there is any rule at all."""
        if not self.rules:
            return True
        address = _address(host)
        if address is None:
            return False
        allowed = True
        for rule in self.rules:
            if address.version == rule.network.version and address in rule.network:
                allowed = rule.sense == PERMIT
        return allowed


PERMIT_ALL = Acl()


def _address(host: str) -> Address | None:
    try:
        address = ipaddress.ip_address(host.partition("%")[0])
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address
