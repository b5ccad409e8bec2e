"""The AMI layer: a sans-I/O core (codec, ActionID correlation, call tracking) and a
thin asyncio client around it. Raw AMI never leaves this package; the rest of
callcenter sees the domain events of ``callcenter.ami.events``.

Exceptions::

    AmiProtocolError            codec: not valid AMI
    ├── LocalProtocolError      we tried to send something unsafe or invalid
    └── RemoteProtocolError     the PBX sent something we cannot frame
    AmiConnectionLost           link down / dropped before the answer (never re-sent)
    AmiLoginFailed              the PBX kept refusing our username and secret
"""

from callcenter.ami.client import AmiClient, AmiConnectionLost, AmiLoginFailed
from callcenter.ami.codec import (
    AmiCodec,
    AmiProtocolError,
    LocalProtocolError,
    RemoteProtocolError,
    encode_action,
    encode_frame,
    encode_message,
)
from callcenter.ami.correlator import CONSUMED, ActionResult, PendingActions
from callcenter.ami.message import Banner, MalformedFrame, Message
from callcenter.ami.outcomes import CallOutcome, CallOutcomeBook
from callcenter.ami.tracker import CallTracker

__all__ = [
    "CONSUMED",
    "ActionResult",
    "AmiClient",
    "AmiCodec",
    "AmiConnectionLost",
    "AmiLoginFailed",
    "AmiProtocolError",
    "Banner",
    "CallOutcome",
    "CallOutcomeBook",
    "CallTracker",
    "LocalProtocolError",
    "MalformedFrame",
    "Message",
    "PendingActions",
    "RemoteProtocolError",
    "encode_action",
    "encode_frame",
    "encode_message",
]
