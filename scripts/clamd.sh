#!/usr/bin/env bash
# Run the project's own clamd on a private socket.
#
#   scripts/clamd.sh start  [RUN_DIR]   install clamav-daemon if missing, start clamd, print socket
#   scripts/clamd.sh stop   [RUN_DIR]   stop the clamd recorded in RUN_DIR/clamd.pid
#   scripts/clamd.sh status [RUN_DIR]   exit 0 and print the socket if clamd answers PING
#
# RUN_DIR defaults to <repo>/.run/clamd. The signature database is RUN_DIR/db: the EICAR test
# signature shipped in scripts/clamav/ plus links to any real signatures in /var/lib/clamav.
# We never rely on Debian's own clamav-daemon/freshclam services (freshclam cannot reach the
# internet here); only the binaries are used. Only stdout carries the socket path; progress
# goes to stderr. Set LIAISON_CLAMD to the printed path. CLAMD_STREAM_MAX_LENGTH (default 100M)
# sets clamd's StreamMaxLength; tests lower it to make clamd refuse a scan while it is up.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
cmd="${1:-}"
run_dir="${2:-$repo/.run/clamd}"
conf="$run_dir/clamd.conf"
sock="$run_dir/clamd.sock"
pidfile="$run_dir/clamd.pid"
timeout_s="${CLAMD_START_TIMEOUT:-120}"

log() { echo "clamd.sh: $*" >&2; }

ping_ok() {
  [[ -S "$sock" ]] && clamdscan --config-file="$conf" --ping 1 >/dev/null 2>&1
}

running_pid() {
  local pid
  [[ -f "$pidfile" ]] || return 1
  pid="$(tr -dc '0-9' <"$pidfile")"
  [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

install_clamd() {
  command -v clamd >/dev/null 2>&1 && command -v clamdscan >/dev/null 2>&1 && return 0
  log "clamd not found; installing Debian's clamav-daemon (this takes a while)"
  apt-get update >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
    clamav-daemon clamdscan >&2
  # The package may start its own services where an init system exists; we do not use them.
  if command -v systemctl >/dev/null 2>&1 && [[ -d /run/systemd/system ]]; then
    systemctl disable --now clamav-daemon clamav-freshclam >/dev/null 2>&1 || true
  fi
}

write_config() {
  mkdir -p "$run_dir/db"
  cp "$here/clamav/liaison-eicar.ndb" "$run_dir/db/liaison-eicar.ndb"
  shopt -s nullglob
  for sig in /var/lib/clamav/*.cvd /var/lib/clamav/*.cld; do
    ln -sf "$sig" "$run_dir/db/$(basename "$sig")"
  done
  shopt -u nullglob
  # Limits sit well above LIAISON_MAX_ATTACHMENT_BYTES (25 MiB) so a file we accept is never
  # skipped for size; AlertExceedsMax turns anything beyond them into a detection, not "OK".
  cat >"$conf" <<EOF
LocalSocket $sock
LocalSocketMode 660
FixStaleSocket yes
PidFile $pidfile
DatabaseDirectory $run_dir/db
LogFile $run_dir/clamd.log
LogTime yes
Foreground no
MaxThreads 4
MaxConnectionQueueLength 30
ReadTimeout 60
CommandReadTimeout 30
IdleTimeout 30
SelfCheck 0
ConcurrentDatabaseReload no
StreamMaxLength ${CLAMD_STREAM_MAX_LENGTH:-100M}
MaxFileSize 100M
MaxScanSize 400M
AlertExceedsMax yes
EOF
  if [[ "$(id -u)" -ne 0 ]]; then return; fi
  # As root with no User directive clamd keeps running as root; say so explicitly.
  echo "User root" >>"$conf"
}

start() {
  mkdir -p "$run_dir"
  # Concurrent starts (parallel test sessions) queue here instead of killing each other's clamd.
  exec 9>"$run_dir/start.lock"
  flock 9
  if running_pid >/dev/null && ping_ok; then
    echo "$sock"
    return 0
  fi
  install_clamd
  if pid="$(running_pid)"; then
    log "clamd pid $pid does not answer PING; restarting it"
    kill "$pid" 2>/dev/null || true
    sleep 1
  fi
  write_config
  rm -f "$sock"
  log "starting clamd with $conf"
  clamd --config-file="$conf" >&2 9>&-  # the daemon must not inherit (and hold) the lock
  local waited=0
  until ping_ok; do
    if ((waited >= timeout_s)); then
      log "clamd did not answer PING within ${timeout_s}s; see $run_dir/clamd.log"
      tail -n 20 "$run_dir/clamd.log" >&2 || true
      return 1
    fi
    if ((waited % 10 == 0)); then log "waiting for clamd to load signatures (${waited}s)"; fi
    sleep 1
    waited=$((waited + 1))
  done
  log "clamd ready (pid $(running_pid || echo '?'))"
  echo "$sock"
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    kill "$pid"
    for _ in $(seq 1 50); do
      kill -0 "$pid" 2>/dev/null || break
      sleep 0.2
    done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    log "stopped clamd pid $pid"
  else
    log "clamd is not running"
  fi
  rm -f "$pidfile" "$sock"
}

status() {
  if running_pid >/dev/null && ping_ok; then
    echo "$sock"
  else
    log "clamd is not running"
    return 1
  fi
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *)
    echo "usage: $0 start|stop|status [RUN_DIR]" >&2
    exit 2
    ;;
esac
