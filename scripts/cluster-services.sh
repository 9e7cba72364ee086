#!/usr/bin/env bash
# Makes sure the services the cluster test suite talks to are installed, running and
# answering on loopback: ClickHouse (HTTP 8123, native 9000), PostgreSQL 5432, NATS with
# JetStream 4222, Redis 6379. Idempotent: whatever already answers is left alone.
#
# Meant for a Debian 12 machine (CI runs it as root on a fresh one). There is no systemd
# there, so every daemon is started directly. Installs missing packages with apt-get.
#
# Environment (optional):
#   CLUSTER_SERVICES_WAIT_S   seconds to wait for each service to answer (default 60)
set -euo pipefail

WAIT_S="${CLUSTER_SERVICES_WAIT_S:-60}"
CH_HTTP="http://127.0.0.1:8123/"

log() { printf '[cluster-services] %s\n' "$*" >&2; }
die() {
  printf '[cluster-services] ERROR: %s\n' "$*" >&2
  exit 1
}

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null 2>&1; then sudo "$@"; else
    die "need root (or sudo) to run: $*"
  fi
}

APT_UPDATED=0
apt_install() {
  command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install $* by hand"
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root apt-get update -qq || die "apt-get update failed"
    APT_UPDATED=1
  fi
  log "apt-get install $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null || die "apt-get install $* failed"
}

# tcp_open HOST PORT: true when something accepts connections there.
tcp_open() { timeout 2 bash -c "exec 3<>/dev/tcp/$1/$2" 2>/dev/null; }

# wait_for NAME CHECK...: polls CHECK once a second for WAIT_S seconds.
wait_for() {
  local name="$1"
  shift
  local i
  for ((i = 0; i < WAIT_S; i++)); do
    if "$@"; then return 0; fi
    sleep 1
  done
  return 1
}

# ---------------------------------------------------------------- ClickHouse
ch_ready() { [ "$(curl -fsS --max-time 2 "${CH_HTTP}?query=SELECT%201" 2>/dev/null)" = "1" ]; }

ensure_clickhouse() {
  if ch_ready; then
    log "ClickHouse answers on 8123 ($(curl -fsS "${CH_HTTP}?query=SELECT%20version()"))"
    return
  fi
  command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
  if ! command -v clickhouse-server >/dev/null 2>&1; then
    apt_install clickhouse-server clickhouse-client
  fi
  local config=/etc/clickhouse-server/config.xml
  [ -f "$config" ] || die "ClickHouse is installed but $config is missing"
  # The Debian package creates the clickhouse user and its data/log directories; the pid
  # directory lives under /run, which is empty on a fresh boot.
  as_root mkdir -p /var/run/clickhouse-server /var/lib/clickhouse /var/log/clickhouse-server
  as_root chown clickhouse:clickhouse /var/run/clickhouse-server /var/lib/clickhouse /var/log/clickhouse-server
  log "starting clickhouse-server"
  # start-stop-daemon writes the pid file itself: clickhouse-server only writes one when
  # it daemonises on its own, and --oknodo with a pid file keeps this idempotent.
  as_root start-stop-daemon --start --oknodo --background --make-pidfile \
    --pidfile /var/run/clickhouse-server/clickhouse-server.pid \
    --chuid clickhouse:clickhouse --exec "$(command -v clickhouse-server)" -- \
    --config-file="$config" ||
    die "could not start clickhouse-server"
  if ! wait_for ClickHouse ch_ready; then
    tail -n 20 /var/log/clickhouse-server/clickhouse-server.err.log >&2 2>/dev/null || true
    die "ClickHouse did not answer 'SELECT 1' on ${CH_HTTP} within ${WAIT_S}s (log: /var/log/clickhouse-server/)"
  fi
  log "ClickHouse is up ($(curl -fsS "${CH_HTTP}?query=SELECT%20version()"))"
}

# ---------------------------------------------------------------- PostgreSQL
pg_ready() {
  if command -v pg_isready >/dev/null 2>&1; then
    pg_isready -q -h 127.0.0.1 -p 5432
  else
    tcp_open 127.0.0.1 5432
  fi
}

ensure_postgres() {
  if pg_ready; then
    log "PostgreSQL answers on 5432"
    return
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    apt_install postgresql
  fi
  local version
  version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$version" ] || die "PostgreSQL is installed but no cluster exists under /etc/postgresql"
  log "starting PostgreSQL $version/main"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  wait_for PostgreSQL pg_ready || die "PostgreSQL did not answer on 127.0.0.1:5432 within ${WAIT_S}s (log: /var/log/postgresql/)"
  log "PostgreSQL is up"
}

# The cluster tests connect as postgres without a password over TCP; a fresh Debian
# install asks for one (scram) on 127.0.0.1, so allow trust on loopback when it does not.
ensure_postgres_trust() {
  command -v psql >/dev/null 2>&1 || apt_install postgresql-client
  if psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'SELECT 1' >/dev/null 2>&1; then return; fi
  local version hba
  version="$(ls /etc/postgresql | sort -V | tail -n 1)"
  hba="/etc/postgresql/$version/main/pg_hba.conf"
  [ -f "$hba" ] || die "cannot log in to PostgreSQL as postgres and $hba is missing"
  log "allowing trust auth on loopback in $hba"
  as_root sed -i '1i host all all 127.0.0.1/32 trust\nhost all all ::1/128 trust' "$hba"
  as_root pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  wait_for 'PostgreSQL login' psql -h 127.0.0.1 -U postgres -d postgres -w -Atc 'SELECT 1' >/dev/null ||
    die "cannot log in to PostgreSQL at 127.0.0.1:5432 as postgres without a password"
}

# The cluster tests create their own schemas inside the `test` database.
ensure_postgres_test_db() {
  if [ "$(psql -h 127.0.0.1 -U postgres -d postgres -w -Atc "SELECT 1 FROM pg_database WHERE datname = 'test'")" != "1" ]; then
    log "creating PostgreSQL database test"
    psql -h 127.0.0.1 -U postgres -d postgres -w -qc 'CREATE DATABASE test' || die "could not create PostgreSQL database test"
  fi
}

# ---------------------------------------------------------------- NATS
nats_ready() {
  # A NATS server greets every new connection with an INFO line; JetStream must be on.
  local greeting
  greeting="$(timeout 2 bash -c 'exec 3<>/dev/tcp/127.0.0.1/4222; head -n 1 <&3' 2>/dev/null || true)"
  [[ "$greeting" == INFO* ]] && [[ "$greeting" == *'"jetstream":true'* ]]
}

ensure_nats() {
  if nats_ready; then
    log "NATS (JetStream) answers on 4222"
    return
  fi
  if tcp_open 127.0.0.1 4222; then
    die "something listens on 127.0.0.1:4222 but it is not a NATS server with JetStream enabled (restart nats-server with -js)"
  fi
  if [ ! -x /usr/sbin/nats-server ]; then
    apt_install nats-server
  fi
  as_root mkdir -p /var/lib/nats-server
  log "starting nats-server with JetStream"
  as_root start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log ||
    die "could not start nats-server"
  wait_for NATS nats_ready || die "NATS with JetStream did not answer on 127.0.0.1:4222 within ${WAIT_S}s (log: /var/log/nats-server.log)"
  log "NATS is up"
}

# ---------------------------------------------------------------- Redis
redis_ready() { [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" = "PONG" ]; }

ensure_redis() {
  if command -v redis-cli >/dev/null 2>&1 && redis_ready; then
    log "Redis answers on 6379"
    return
  fi
  if ! command -v redis-server >/dev/null 2>&1; then
    apt_install redis-server
  fi
  as_root mkdir -p /var/lib/redis /var/log/redis
  log "starting redis-server"
  as_root redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
    --dir /var/lib/redis --logfile /var/log/redis/ci.log || die "could not start redis-server"
  wait_for Redis redis_ready || die "Redis did not answer PING on 127.0.0.1:6379 within ${WAIT_S}s (log: /var/log/redis/ci.log)"
  log "Redis is up"
}

command -v curl >/dev/null 2>&1 || apt_install curl ca-certificates
ensure_postgres
ensure_postgres_trust
ensure_postgres_test_db
ensure_nats
ensure_redis
ensure_clickhouse
log "all cluster services are up"
