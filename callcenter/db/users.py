"""Users and password checks (argon2 through pwdlib)."""

from __future__ import annotations

from pwdlib import PasswordHash
from sqlalchemy import select

from callcenter.db.models import User
from callcenter.db.session import Sessions
from callcenter.ports import Authenticator, Principal, Role

_HASHER = PasswordHash.recommended()
# Verified against when the username is unknown, so a wrong username takes as
# long as a wrong password and does not reveal which usernames exist.
_DUMMY_HASH = _HASHER.hash("no-such-user-dummy-password")


def hash_password(password: str) -> str:
    return _HASHER.hash(password)


def parse_roles(text: str) -> frozenset[Role]:
    return frozenset(Role(part.strip()) for part in text.split(",") if part.strip())


async def authenticate(sessions: Sessions, username: str, password: str) -> Principal | None:
    async with sessions() as session:
        user = (
            await session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
    if user is None:
        _HASHER.verify(password, _DUMMY_HASH)
        return None
    if not _HASHER.verify(password, user.password_hash):
        return None
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=parse_roles(user.roles),
        agent_id=user.agent_id,
    )


def make_authenticator(sessions: Sessions) -> Authenticator:
    async def check(username: str, password: str) -> Principal | None:
        return await authenticate(sessions, username, password)

    return check
