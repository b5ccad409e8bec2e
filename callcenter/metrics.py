"""Prometheus metrics of the service, served at ``/metrics``.

Operational figures only (depths, counts, per PBX): no caller number, customer or
agent name ever becomes a label, so the endpoint exposes no customer data.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge

AMI_QUEUE_DEPTH = Gauge(
    "callcenter_ami_event_queue_depth",
    "AMI events read from the socket and not yet applied to the call tracker.",
    ["pbx"],
)
AMI_EVENTS = Counter(
    "callcenter_ami_events_total", "AMI events applied to the call tracker.", ["pbx"]
)
AMI_MALFORMED = Counter(
    "callcenter_ami_malformed_frames_total", "AMI frames that could not be parsed.", ["pbx"]
)
AMI_OVERFLOWS = Counter(
    "callcenter_ami_queue_overflows_total",
    "Times the event queue was full and the link was dropped to resync.",
    ["pbx"],
)
AMI_RESYNCS = Counter(
    "callcenter_ami_resyncs_total", "Resyncs after a connect or reconnect.", ["pbx"]
)
AMI_CONNECTED = Gauge("callcenter_ami_connected", "1 while the AMI link is up.", ["pbx"])
HISTORY_PENDING = Gauge(
    "callcenter_history_writes_pending",
    "Call-history steps submitted and not yet written to the database.",
)
HISTORY_RETRIES = Counter(
    "callcenter_history_write_retries_total",
    "Call-history writes tried again after a transient database error.",
)
HISTORY_FAILED = Counter(
    "callcenter_history_writes_failed_total",
    "Call-history writes refused by the database for good (logged, not retried).",
)
