"""Which calls are recorded: the queue's recording mode, decided per call.

Why a hash and not a random draw: a sampled call must get the same answer every
time it is asked about, so a restart mid-call, a replay of an AMI capture or a
second worker looking at the same call all agree on whether it is recorded.
"""

from __future__ import annotations

import hashlib

MODES = frozenset({"all", "none", "sample"})

#: the sample is drawn in hundredths of a percent
_BUCKETS = 10_000


def should_record(mode: str, percent: float, call_id: str) -> bool:
    """Whether the call ``call_id`` is recorded under ``mode``.

    ``"all"`` and ``"none"`` ignore ``percent``; ``"sample"`` records about
    ``percent`` (0 to 100) of calls, the same calls every time: the first eight
    bytes of sha256(call id), mod 10,000, below ``percent * 100``.
    """
    if mode == "all":
        return True
    if mode == "none":
        return False
    if mode != "sample":
        raise ValueError(f"unknown recording mode {mode!r} (expected one of {sorted(MODES)})")
    if not 0 <= percent <= 100:
        raise ValueError(f"sample percent must be within 0..100, not {percent!r}")
    digest = hashlib.sha256(call_id.encode("utf-8")).digest()
    bucket = int.from_bytes(digest[:8], "big") % _BUCKETS
    return bucket < percent * (_BUCKETS / 100)
