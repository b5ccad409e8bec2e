"""Signed session cookies, role checks and the failed-login throttle.

Why a signed cookie and not a server-side session table: any API node can check
it without shared state (several nodes run behind Redis in production), and the
websocket handshake carries it automatically. The cookie is HttpOnly (page
scripts cannot read it) and SameSite=Lax (other sites cannot make the browser
send it on a cross-site POST). Logout revokes the session id so a copied cookie
stops working before it expires, and a change of a user's roles, queues or
password ends their sessions; each revocation is handed to ``on_revoke``, which
shares it with the other nodes (the Redis fan-out), and theirs are applied with
``apply_revocation``. Revocations live in memory: a node restarted, or one that
missed the message while Redis was away, accepts the token again until it
expires, which is why the lifetime is a working shift, not weeks.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from typing import Any

from itsdangerous import BadSignature, URLSafeTimedSerializer

from callcenter.ports import Principal, Role

SESSION_COOKIE = "cc_session"
#: one long shift
SESSION_MAX_AGE_S = 12 * 3600
_MIN_SECRET_CHARS = 16


class Sessions:
    """Issues and reads session tokens (the cookie's value)."""

    def __init__(
        self,
        secret: str,
        *,
        max_age_s: int = SESSION_MAX_AGE_S,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if len(secret) < _MIN_SECRET_CHARS:
            raise ValueError(f"the session secret must have at least {_MIN_SECRET_CHARS} chars")
        self._serializer = URLSafeTimedSerializer(secret, salt="callcenter-session")
        self.max_age_s = max_age_s
        self._clock = clock
        #: session id -> expiry (epoch seconds), for logged-out sessions
        self._revoked: dict[str, float] = {}
        #: user id -> instant before which their sessions no longer count (their
        #: roles, queues or password changed: a token carries the old ones)
        self._user_cutoff: dict[int, float] = {}
        #: told of each revocation made here (to share it with other nodes)
        self.on_revoke: Callable[[dict[str, Any]], None] | None = None

    def issue(self, principal: Principal) -> str:
        now = self._clock()
        payload = {
            "sid": secrets.token_urlsafe(16),
            "uid": principal.user_id,
            "usr": principal.username,
            "roles": sorted(role.value for role in principal.roles),
            "aid": principal.agent_id,
            "q": None if principal.queues is None else sorted(principal.queues),
            "iat": now,
            "exp": now + self.max_age_s,
        }
        return self._serializer.dumps(payload)

    def revoke_user(self, user_id: int) -> None:
        """End every session of ``user_id`` issued until now (in this process):
        after a change of roles, queues or password the old token would keep
        granting what was taken away."""
        cutoff = self._clock()
        self._cut_off(user_id, cutoff)
        self._tell({"user_id": user_id, "cutoff": cutoff})

    def read(self, token: str | None) -> Principal | None:
        """The principal of a valid, unexpired, not revoked token; else None."""
        payload = self._payload(token)
        if payload is None:
            return None
        try:
            roles = frozenset(Role(value) for value in payload["roles"])
            agent_id = payload["aid"]
            queues = payload.get("q")
            return Principal(
                user_id=int(payload["uid"]),
                username=str(payload["usr"]),
                roles=roles,
                agent_id=None if agent_id is None else int(agent_id),
                queues=None if queues is None else frozenset(str(q) for q in queues),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def revoke(self, token: str | None) -> None:
        payload = self._payload(token)
        if payload is None:
            return
        sid, expires = str(payload["sid"]), float(payload["exp"])
        self._end_session(sid, expires)
        self._tell({"sid": sid, "exp": expires})

    def apply_revocation(self, revocation: dict[str, Any]) -> bool:
        """A revocation made on another node (``on_revoke``'s argument there);
        whether it was one."""
        match revocation:
            case {"sid": str(sid), "exp": int() | float() as expires} if sid:
                self._end_session(sid, float(expires))
            case {"user_id": int(user_id), "cutoff": int() | float() as cutoff}:
                self._cut_off(user_id, float(cutoff))
            case _:
                return False
        return True

    def _end_session(self, sid: str, expires: float) -> None:
        now = self._clock()
        self._revoked = {known: exp for known, exp in self._revoked.items() if exp > now}
        self._revoked[sid] = expires

    def _cut_off(self, user_id: int, cutoff: float) -> None:
        self._user_cutoff[user_id] = max(cutoff, self._user_cutoff.get(user_id, cutoff))

    def _tell(self, revocation: dict[str, Any]) -> None:
        if self.on_revoke is not None:
            self.on_revoke(revocation)

    def _payload(self, token: str | None) -> dict[str, Any] | None:
        if not token:
            return None
        try:
            payload = self._serializer.loads(token, max_age=self.max_age_s)
        except BadSignature:  # also covers an expired signature
            return None
        if not isinstance(payload, dict):
            return None
        try:
            if float(payload["exp"]) <= self._clock() or str(payload["sid"]) in self._revoked:
                return None
            cutoff = self._user_cutoff.get(int(payload["uid"]))
            if cutoff is not None and float(payload["iat"]) <= cutoff:
                return None
        except (KeyError, TypeError, ValueError):
            return None
        return payload


class LoginThrottle:
    """Counts failed logins per (username, client address) in a sliding window.

    Keyed on both so one noisy address cannot lock a user out everywhere, and one
    address cannot try many passwords for a user. The table is capped so a flood
    of invented usernames cannot grow memory without bound.
    """

    def __init__(
        self,
        *,
        max_failures: int = 5,
        window_s: float = 60.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._max_failures = max_failures
        self._window_s = window_s
        self._max_keys = max_keys
        self._clock = clock
        self._failures: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()

    def retry_after_s(self, username: str, address: str) -> float | None:
        """Seconds until another try is allowed, or None when it is allowed now."""
        failures = self._recent(self._key(username, address))
        if len(failures) < self._max_failures:
            return None
        return max(0.0, failures[0] + self._window_s - self._clock())

    def failed(self, username: str, address: str) -> None:
        key = self._key(username, address)
        failures = self._recent(key)
        failures.append(self._clock())
        self._failures[key] = failures
        self._failures.move_to_end(key)
        while len(self._failures) > self._max_keys:
            self._failures.popitem(last=False)

    def succeeded(self, username: str, address: str) -> None:
        self._failures.pop(self._key(username, address), None)

    def _recent(self, key: tuple[str, str]) -> deque[float]:
        failures = self._failures.get(key, deque())
        horizon = self._clock() - self._window_s
        while failures and failures[0] <= horizon:
            failures.popleft()
        return failures

    @staticmethod
    def _key(username: str, address: str) -> tuple[str, str]:
        return (username.strip().casefold(), address)
