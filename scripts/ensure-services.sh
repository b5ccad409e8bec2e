#!/usr/bin/env bash
# The database tests also run against PostgreSQL when the loopback server answers.
# Start it if it is installed but down; say so when it is not there at all.
set -u
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL on 127.0.0.1:5432 is up: database tests run on SQLite and PostgreSQL."
  exit 0
fi
if command -v pg_ctlcluster >/dev/null 2>&1 && [ -d /etc/postgresql ]; then
  version=$(ls /etc/postgresql | head -n 1)
  pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>/dev/null || true
  for _ in 1 2 3 4 5 6 7 8 9 10; do
    pg_isready -q -h 127.0.0.1 -p 5432 && break
    sleep 1
  done
fi
if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "PostgreSQL started on 127.0.0.1:5432: database tests run on SQLite and PostgreSQL."
else
  echo "PostgreSQL is not reachable on 127.0.0.1:5432: database tests run on SQLite only."
fi
exit 0
