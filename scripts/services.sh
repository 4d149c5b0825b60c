#!/usr/bin/env bash
# Starts the real servers the connector tests use — PostgreSQL, a three-node nats-server cluster with
# clustered JetStream and librdkafka's mock Kafka cluster — on loopback with their data in a temporary folder, installing the
# Debian packages when missing.
#
#   bash scripts/services.sh start   # install if needed, start them, wait until they accept connections
#   bash scripts/services.sh env     # print `export WEIR_TEST_PG_URL=… WEIR_TEST_NATS_URL=… WEIR_TEST_KAFKA_BROKERS=…` lines
#                                    # (WEIR_TEST_NATS_URL lists the three servers; WEIR_TEST_NATS_URL_1..3 name each one)
#   bash scripts/services.sh nats-stop N | nats-start N   # stop / restart cluster node N (1-3), for store-fault tests
#   bash scripts/services.sh stop    # stop them and delete their data
#
# Typical use: bash scripts/services.sh start && eval "$(bash scripts/services.sh env)"; npm test
set -euo pipefail

STATE_DIR="${TMPDIR:-/tmp}/weir-services"
ENV_FILE="$STATE_DIR/env"
PG_PORT_FIRST=54329
# WEIR_NATS_PORT_FIRST moves the NATS ports: a server stopped by a store-fault test frees its port, and another
# cluster started meanwhile on the same range would take it.
NATS_PORT_FIRST="${WEIR_NATS_PORT_FIRST:-4229}"
# Debian's python3, which has Debian's confluent-kafka (librdkafka's mock Kafka cluster).
KAFKA_PYTHON="${KAFKA_PYTHON:-/usr/bin/python3}"

log() { echo "services: $*" >&2; }
die() { log "$*"; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" -eq 0 ]; then
    log "apt-get update"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >&2
    APT_UPDATED=1
  fi
  log "apt-get install -y $*"
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >&2
}

pg_bin_dir() {
  # The newest installed major version.
  ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1
}

ensure_packages() {
  local missing=()
  [ -x "$(pg_bin_dir)/postgres" ] 2>/dev/null || missing+=(postgresql)
  command -v nats-server >/dev/null 2>&1 || missing+=(nats-server)
  "$KAFKA_PYTHON" -c 'import confluent_kafka' >/dev/null 2>&1 || missing+=(python3-confluent-kafka)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  [ -x "$(pg_bin_dir)/postgres" ] || die "PostgreSQL is not installed under /usr/lib/postgresql/*/bin after apt-get install postgresql."
  command -v nats-server >/dev/null 2>&1 || die "nats-server is not on PATH after apt-get install nats-server."
}

port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
  local port=$1
  while port_in_use "$port"; do
    port=$((port + 1))
    [ "$port" -lt $(($1 + 50)) ] || die "no free port in $1..$(($1 + 49))"
  done
  echo "$port"
}

# wait_for <what> <seconds> <command…>: polls the command every 0.2 s.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local tries=$((seconds * 5))
  until "$@"; do
    tries=$((tries - 1))
    [ "$tries" -gt 0 ] || return 1
    sleep 0.2
  done
  log "$what is ready"
}

running() {
  [ -f "$ENV_FILE" ] || return 1
  local run_dir
  run_dir=$(cat "$STATE_DIR/run-dir" 2>/dev/null) || return 1
  [ -f "$run_dir/nats1.pid" ] && kill -0 "$(cat "$run_dir/nats1.pid")" 2>/dev/null || return 1
  [ -f "$run_dir/pg/postmaster.pid" ] && kill -0 "$(head -n 1 "$run_dir/pg/postmaster.pid")" 2>/dev/null
}

start() {
  if running; then
    log "already running (see $ENV_FILE)"
    return 0
  fi
  stop_quietly
  ensure_packages
  mkdir -p "$STATE_DIR"
  local run_dir
  run_dir=$(mktemp -d "$STATE_DIR/run.XXXXXX")
  echo "$run_dir" > "$STATE_DIR/run-dir"
  start_postgres "$run_dir"
  start_nats "$run_dir"
  start_kafka "$run_dir"
  {
    echo "export WEIR_TEST_PG_URL=postgres://weir@127.0.0.1:$PG_PORT/weir_test"
    echo "export WEIR_TEST_NATS_URL=nats://127.0.0.1:${NATS_PORTS[0]},127.0.0.1:${NATS_PORTS[1]},127.0.0.1:${NATS_PORTS[2]}"
    echo "export WEIR_TEST_NATS_URL_1=nats://127.0.0.1:${NATS_PORTS[0]}"
    echo "export WEIR_TEST_NATS_URL_2=nats://127.0.0.1:${NATS_PORTS[1]}"
    echo "export WEIR_TEST_NATS_URL_3=nats://127.0.0.1:${NATS_PORTS[2]}"
    echo "export WEIR_TEST_KAFKA_BROKERS=$KAFKA_BROKERS"
    echo "export WEIR_TEST_KAFKA_PYTHON=$KAFKA_PYTHON"
  } > "$ENV_FILE"
  log "started; data in $run_dir"
  cat "$ENV_FILE" >&2
}

# PostgreSQL refuses to run as root: then it runs as the `postgres` user (or `nobody`).
pg_user() {
  if [ "$(id -u)" -ne 0 ]; then id -un
  elif id postgres >/dev/null 2>&1; then echo postgres
  else echo nobody
  fi
}

as_pg_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "$(pg_user)" -- "$@"; else "$@"; fi
}

start_postgres() {
  local run_dir=$1 bin
  bin=$(pg_bin_dir)
  mkdir -p "$run_dir/pg" "$run_dir/pgsock"
  if [ "$(id -u)" -eq 0 ]; then
    chown -R "$(pg_user)" "$run_dir/pg" "$run_dir/pgsock"
    # The server user must reach its folders through the mktemp folder (mode 700).
    chmod 755 "$run_dir"
    chmod 755 "$STATE_DIR"
    as_pg_user test -w "$run_dir/pg" ||
      die "user $(pg_user) cannot reach $run_dir (a parent folder is closed to it): set TMPDIR to a folder such as /tmp."
  fi
  as_pg_user "$bin/initdb" -D "$run_dir/pg" -U weir --auth=trust -E UTF8 --no-sync >"$run_dir/initdb.log" 2>&1 ||
    { cat "$run_dir/initdb.log" >&2; die "initdb failed"; }
  PG_PORT=$(free_port "$PG_PORT_FIRST")
  # fsync off: the tests kill processes, never the machine, and it keeps them fast.
  as_pg_user "$bin/pg_ctl" -D "$run_dir/pg" -l "$run_dir/pg/server.log" -w -t 60 \
    -o "-h 127.0.0.1 -p $PG_PORT -k $run_dir/pgsock -c fsync=off -c max_connections=200" start >&2 ||
    { cat "$run_dir/pg/server.log" >&2 || true; die "PostgreSQL did not start"; }
  wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" 30 "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" ||
    die "PostgreSQL does not accept connections on 127.0.0.1:$PG_PORT"
  as_pg_user "$bin/createdb" -h 127.0.0.1 -p "$PG_PORT" -U weir weir_test
}

nats_ready() {
  port_in_use "$2" && grep -q "Server is ready" "$1/nats$3.log" 2>/dev/null
}

# nats_node <run_dir> <n>: starts cluster node n (1-3) with its own store folder, routes to the other two.
nats_node() {
  local run_dir=$1 n=$2 i routes=""
  local client_port cluster_port
  client_port=$(sed -n "${n}p" "$run_dir/nats-ports")
  cluster_port=$(sed -n "$((n + 3))p" "$run_dir/nats-ports")
  for i in 1 2 3; do
    [ "$i" -eq "$n" ] && continue
    routes="${routes:+$routes,}nats://127.0.0.1:$(sed -n "$((i + 3))p" "$run_dir/nats-ports")"
  done
  mkdir -p "$run_dir/nats$n"
  # A fresh log: readiness is read from it, and a restart must not pass on the previous run's "ready" line.
  if [ -f "$run_dir/nats$n.log" ]; then mv "$run_dir/nats$n.log" "$run_dir/nats$n.log.prev"; fi
  # setsid + closed standard streams: the server outlives this script and holds no caller's pipe open.
  setsid nats-server -js -n "weir-$n" -a 127.0.0.1 -p "$client_port" -sd "$run_dir/nats$n" \
    --cluster_name weir --cluster "nats://127.0.0.1:$cluster_port" --routes "$routes" \
    -l "$run_dir/nats$n.log" -P "$run_dir/nats$n.pid" </dev/null >/dev/null 2>&1 &
}

# JetStream is ready when the cluster has elected its meta leader (every node logs it, or is it).
nats_cluster_ready() {
  local run_dir=$1 n
  for n in 1 2 3; do
    nats_ready "$run_dir" "$(sed -n "${n}p" "$run_dir/nats-ports")" "$n" || return 1
  done
  grep -qh "JetStream cluster new metadata leader\|Self is new JetStream cluster metadata leader" "$run_dir"/nats?.log
}

start_nats() {
  local run_dir=$1 port n
  : > "$run_dir/nats-ports"
  port=$NATS_PORT_FIRST
  # Six free ports: three for clients, three for the cluster routes.
  for n in 1 2 3 4 5 6; do
    port=$(free_port "$port")
    echo "$port" >> "$run_dir/nats-ports"
    port=$((port + 1))
  done
  NATS_PORTS=($(head -n 3 "$run_dir/nats-ports"))
  for n in 1 2 3; do nats_node "$run_dir" "$n"; done
  wait_for "nats-server cluster on 127.0.0.1:${NATS_PORTS[*]}" 60 nats_cluster_ready "$run_dir" ||
    { cat "$run_dir"/nats?.log >&2 || true; die "the nats-server cluster did not start"; }
}

stop_nats_node() {
  local run_dir=$1 n=$2 pid
  [ -f "$run_dir/nats$n.pid" ] || return 0
  pid=$(cat "$run_dir/nats$n.pid")
  kill "$pid" 2>/dev/null || true
  for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  rm -f "$run_dir/nats$n.pid"
}

# librdkafka's mock cluster: there is no Kafka broker package; the mock speaks the protocol in memory.
start_kafka() {
  local run_dir=$1 here
  here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
  setsid "$KAFKA_PYTHON" "$here/kafka-mock.py" </dev/null >"$run_dir/kafka.out" 2>"$run_dir/kafka.log" &
  echo $! > "$run_dir/kafka.pid"
  wait_for "Kafka mock cluster" 30 test -s "$run_dir/kafka.out" ||
    { cat "$run_dir/kafka.log" >&2 || true; die "the Kafka mock cluster did not start"; }
  KAFKA_BROKERS=$(head -n 1 "$run_dir/kafka.out")
}

stop_quietly() {
  local run_dir
  run_dir=$(cat "$STATE_DIR/run-dir" 2>/dev/null) || run_dir=""
  if [ -n "$run_dir" ] && [ -d "$run_dir" ]; then
    if [ -f "$run_dir/pg/postmaster.pid" ]; then
      as_pg_user "$(pg_bin_dir)/pg_ctl" -D "$run_dir/pg" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    if [ -f "$run_dir/kafka.pid" ]; then kill "$(cat "$run_dir/kafka.pid")" 2>/dev/null || true; fi
    for n in 1 2 3; do stop_nats_node "$run_dir" "$n"; done
    rm -rf "$run_dir"
  fi
  rm -f "$ENV_FILE" "$STATE_DIR/run-dir"
}

case "${1:-}" in
  start) start ;;
  stop) stop_quietly; log "stopped" ;;
  nats-stop|nats-start)
    [ -f "$STATE_DIR/run-dir" ] || die "no services are running: run 'bash scripts/services.sh start' first."
    case "${2:-}" in 1|2|3) ;; *) die "usage: bash scripts/services.sh $1 1|2|3" ;; esac
    RUN_DIR=$(cat "$STATE_DIR/run-dir")
    if [ "$1" = nats-stop ]; then stop_nats_node "$RUN_DIR" "$2"; log "nats node $2 stopped"
    else
      nats_node "$RUN_DIR" "$2"
      wait_for "nats node $2" 30 nats_ready "$RUN_DIR" "$(sed -n "${2}p" "$RUN_DIR/nats-ports")" "$2" || die "nats node $2 did not start"
    fi
    ;;
  env)
    [ -f "$ENV_FILE" ] || die "no services are running: run 'bash scripts/services.sh start' first."
    cat "$ENV_FILE"
    ;;
  *) echo "usage: bash scripts/services.sh start|stop|env|nats-stop N|nats-start N" >&2; exit 2 ;;
esac
