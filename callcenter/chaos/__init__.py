"""Fault injection and its bookkeeping, for the chaos suite (``tests/chaos``,
``make chaos``) and the fault tests.

- ``proxy``: a TCP proxy that cuts, black-holes, half-closes, slows and chops
  a connection (the AMI link, the database);
- ``traffic``: sustained seeded callers on the PBX simulator;
- ``flapping``: an agent phone that keeps changing its mind;
- ``service``: the service in process or as a ``callcenter serve`` process, and
  simulated agents who press Ready;
- ``invariants``: what must hold after a fault, from the record and the PBX;
- ``summary``: the table the suite prints.
"""
