#!/usr/bin/env bash
# Make sure the machine's PostgreSQL (127.0.0.1:5432, database `test`) and Redis
# (127.0.0.1:6379) answer; start them with the machine's own commands when they do not.
set -euo pipefail
if ! pg_isready -q -h 127.0.0.1 -p 5432; then
  echo "services.sh: starting PostgreSQL" >&2
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
fi
if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
  echo "services.sh: starting Redis" >&2
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log
  for _ in $(seq 50); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.2; done
fi
