"""Users and password checks (argon2 through pwdlib).

An argon2 check costs about a tenth of a second of CPU on purpose, so it runs on
a worker thread: on the event loop it would stall the AMI reader, and Asterisk
drops a manager client that does not read for 100 ms.
"""

from __future__ import annotations

import asyncio
from functools import cache

import structlog
from pwdlib import PasswordHash
from sqlalchemy import select

from callcenter.db.models import Queue, SupervisorQueue, User
from callcenter.db.session import Sessions
from callcenter.ports import Authenticator, Principal, Role

log = structlog.get_logger(__name__)


@cache
def _hasher() -> PasswordHash:
    return PasswordHash.recommended()


@cache
def _dummy_hash() -> str:
    # Verified against when the username is unknown, so a wrong username costs as
    # much as a wrong password and does not reveal which usernames exist.
    return _hasher().hash("no-such-user-dummy-password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password: str, password_hash: str) -> bool:
    return _hasher().verify(password, password_hash)


def _burn_verify(password: str) -> None:
    verify_password(password, _dummy_hash())


def parse_roles(text: str) -> frozenset[Role]:
    """Roles from the comma-separated column; an unknown word grants nothing."""
    roles: set[Role] = set()
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        try:
            roles.add(Role(part))
        except ValueError:
            log.warning("unknown role ignored", role=part)
    return frozenset(roles)


async def authenticate(sessions: Sessions, username: str, password: str) -> Principal | None:
    async with sessions() as session:
        user = (
            await session.execute(select(User).where(User.username == username))
        ).scalar_one_or_none()
    if user is None:
        await asyncio.to_thread(_burn_verify, password)
        return None
    if not await asyncio.to_thread(verify_password, password, user.password_hash):
        return None
    async with sessions() as session:
        queues = frozenset(
            await session.scalars(
                select(Queue.name)
                .join(SupervisorQueue, SupervisorQueue.queue_id == Queue.id)
                .where(SupervisorQueue.user_id == user.id)
            )
        )
    return Principal(
        user_id=user.id,
        username=user.username,
        roles=parse_roles(user.roles),
        agent_id=user.agent_id,
        # none assigned: every queue
        queues=queues or None,
    )


def make_authenticator(sessions: Sessions) -> Authenticator:
    async def check(username: str, password: str) -> Principal | None:
        return await authenticate(sessions, username, password)

    return check
