"""An agent phone that flaps: it unregisters, registers again, turns busy,
stops answering, answers again, each for a moment, over and over.

Why on the simulator's phone and not the agent's state: a real flapping phone
(bad Wi-Fi, a desk phone rebooting) is seen by the ACD only through the PBX:
ContactStatus/DeviceStateChange events and offers that fail (Reason 0, busy,
no answer). The ACD must fail its calls over to other agents and keep that
agent's state sane; nothing in the service is told.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Sequence
from dataclasses import dataclass

from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.pbxsim.server import PbxSimulator

ANSWERS = PhoneBehaviour(answer_after_s=0.05)
#: the phone's moods, in turn; a "no_answer" offer rings until the ring timeout
#: or the caller gives up, so it comes once a round
MOODS = ("busy", "unregistered", "busy", "answers", "busy", "answers", "no_answer")
BEHAVIOUR = {
    "answers": ANSWERS,
    "busy": PhoneBehaviour(busy=True),
    "no_answer": PhoneBehaviour(answer_after_s=None),
}


@dataclass
class FlappingPhone:
    simulator: PbxSimulator
    dial_string: str
    seed: int
    #: each mood lasts a random time in this range
    every_s: tuple[float, float] = (0.5, 1.0)
    moods: Sequence[str] = MOODS
    #: mood changes made so far
    flaps: int = 0
    _registered: bool = True

    async def run(self) -> None:
        """Until cancelled."""
        rng = random.Random(self.seed)
        while True:
            self.set_mood(self.moods[self.flaps % len(self.moods)])
            self.flaps += 1
            await asyncio.sleep(rng.uniform(*self.every_s))

    def set_mood(self, mood: str) -> None:
        if mood == "unregistered":
            if self._registered:
                self.simulator.unregister_phone(self.dial_string)
            self._registered = False
            return
        self.simulator.set_phone_behaviour(self.dial_string, BEHAVIOUR[mood])
        if not self._registered:
            self.simulator.register_phone(self.dial_string)
        self._registered = True
