"""Prometheus metrics of the service, served at ``/metrics``.

Operational figures only (depths, counts, per PBX): no caller number, customer or
agent name ever becomes a label, so the endpoint exposes no customer data.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

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
JOURNAL_FAILED = Counter(
    "callcenter_arrival_journal_failures_total",
    "New calls' arrivals the local journal could not keep (disk full, say): a "
    "crash before their records are written loses them.",
)
AMI_EVENT_LAG = Histogram(
    "callcenter_ami_event_lag_seconds",
    "From an AMI event read off the socket to the call tracker applying it: how far the "
    "listener runs behind the PBX.",
    ["pbx"],
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
)
ROUTING_DECISIONS = Counter(
    "callcenter_routing_decisions_total",
    "Decisions the router made: offer to an agent, overflow to another target, or a closed "
    "queue's action.",
    ["kind"],
)
ROUTING_LATENCY = Histogram(
    "callcenter_routing_seconds",
    "Time the router took to answer one input (a call arriving, an agent freed, a tick).",
    ["input"],
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
)
OFFERS = Counter(
    "callcenter_offers_total",
    "Offers to agents by how they ended (answered, noanswer, busy, rejected, canceled, ...), "
    "counted once when the result is stored.",
    ["outcome"],
)
WEBSOCKET_CLIENTS = Gauge(
    "callcenter_websocket_clients",
    "Browsers connected now, by page (agent desktop, supervisor wallboard).",
    ["kind"],
)
FORWARDED_REQUESTS = Counter(
    "callcenter_forwarded_requests_total",
    "API requests this node (not leading) sent on to the leader, by outcome: "
    "answered (any status the leader gave) or unreachable (503 here).",
    ["outcome"],
)
