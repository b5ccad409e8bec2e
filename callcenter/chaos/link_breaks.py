"""Breaking the AMI link over and over, each break once it is back in step.

Why one module: the fault test (``tests/integration/test_ami_faults.py``) and the
chaos suite's AMI scenario break the link the same way; the sequence, and how
each fault is held, must not drift apart between them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence

from callcenter.chaos.proxy import FaultProxy
from callcenter.pbx_link import PbxLink

#: ten breaks: mostly cuts, with black holes and half closes among them
TEN_BREAKS = ("cut", "black_hole", "cut", "half_close", "cut", "black_hole", "cut",
              "half_close", "cut", "cut")  # fmt: skip
#: a black hole lasts longer than two of the tests' ping intervals (0.3 s), so
#: only the unanswered pings reveal it
BLACK_HOLE_S = 1.0


async def break_link(
    proxy: FaultProxy,
    link: PbxLink,
    breaks: Sequence[str],
    *,
    between_s: Callable[[], float],
    in_step_s: float = 30,
) -> None:
    """Each break (``cut``, ``black_hole`` or ``half_close``) once the link is in
    step again, after ``between_s()`` seconds of a slowed (every third from the
    second) or chopped (every third from the third) stretch; returns once the
    link is in step after the last."""
    for n, fault in enumerate(breaks):
        await link.wait_in_step(in_step_s)
        if n % 3 == 1:
            proxy.delay(0.1)
        elif n % 3 == 2:
            proxy.split(7)
        await asyncio.sleep(between_s())
        proxy.heal()
        if fault == "cut":
            proxy.cut()
        elif fault == "half_close":
            proxy.half_close()
        elif fault == "black_hole":
            proxy.black_hole()
            await asyncio.sleep(BLACK_HOLE_S)
            proxy.heal()
        else:
            raise ValueError(f"unknown break {fault!r}")
    await link.wait_in_step(in_step_s)
