"""Persistence: the schema, its migrations, and the stores built on it.

Modules, each one concept (imported by name; nothing here builds an engine):
``session`` (engines and session factories from a URL), ``migrate``
(``run_migrations``), ``models`` (the typed schema), ``users`` (password checks),
``directory`` (agents and queues for the router), ``records`` (call history),
``seed`` (the demo call center).
"""
