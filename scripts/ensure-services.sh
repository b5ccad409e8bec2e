#!/usr/bin/env bash
# The database tests also run against PostgreSQL when the loopback server answers,
# and the multi-node hub tests against Redis. Start each if it is installed but
# down; say so when it is not there at all.
set -u

ensure_postgres() {
  if command -v pg_isready >/dev/null 2>&1 && pg_isready -q -h 127.0.0.1 -p 5432; then
    echo "PostgreSQL on 127.0.0.1:5432 is up: database tests run on SQLite and PostgreSQL."
    return 0
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
}

redis_up() {
  command -v redis-cli >/dev/null 2>&1 \
    && [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]
}

ensure_redis() {
  if redis_up; then
    echo "Redis on 127.0.0.1:6379 is up: the multi-node hub tests run."
    return 0
  fi
  if command -v redis-server >/dev/null 2>&1; then
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 >/dev/null 2>&1 || true
    for _ in 1 2 3 4 5 6 7 8 9 10; do
      redis_up && break
      sleep 1
    done
  fi
  if redis_up; then
    echo "Redis started on 127.0.0.1:6379: the multi-node hub tests run."
  else
    echo "Redis is not reachable on 127.0.0.1:6379: the multi-node hub tests are skipped."
  fi
}

ensure_postgres
ensure_redis
exit 0
