#!/usr/bin/env bash
# bench/nodes.sh N [load flags...]: starts N Enroute nodes on a fresh
# PostgreSQL database (and NATS when N > 1, or when BUS=nats), runs
# bench/load against all of them, and stops them; node 1 has the OsmAnd
# listener, on 127.0.0.1:15055. Needs the machine's PostgreSQL and NATS
# (see .ci/run); run from the repository root after
# `make build && go build -o bin/load ./bench/load`.
# STORE=sqlite runs one node on the embedded store in a fresh directory
# instead (N is ignored), with its OsmAnd listener on 127.0.0.1:15055;
# with RESTART=1 too, it sets the fleet up, restarts Enroute, and then
# measures (the restart storm).
# SERVER=floor runs bench/floor instead of Enroute (go build -o bin/floor
# ./bench/floor): what the machine allows the same load with no server
# work behind it (its OsmAnd listener too, on 127.0.0.1:15055; FLOOR_BIN:
# another build of it). ENROUTE_BIN runs another build of Enroute than
# ./bin/enroute (bench/alternate.sh compares builds that way). Either may
# be a script that sets the environment and execs the binary with "$@":
# the load reads the CPU and memory of the process it started.
set -euo pipefail
n=$1; shift
pg=${PG:-postgres://postgres@127.0.0.1:5432}
nats=${NATS:-nats://127.0.0.1:4222}
export ENROUTE_ADMIN_TOKEN=bench-admin-token-0123456789
# The load comes from one address, many phones and customers at once: the
# rate limits are for people and scripts, not for it.
export ENROUTE_RATE_PUBLIC=off ENROUTE_RATE_API=off ENROUTE_RATE_UNKNOWN=off ENROUTE_RATE_LOGIN=off
bin=${ENROUTE_BIN:-./bin/enroute}
if [ "${SERVER:-}" = floor ]; then
  # The floor: bench/floor, the endpoints with nothing behind them, in
  # Enroute's place (FLOOR_FLAGS, e.g. -inline, are its flags).
  "${FLOOR_BIN:-./bin/floor}" --addr 127.0.0.1:18081 --osmand-addr 127.0.0.1:15055 ${FLOOR_FLAGS:-} &
  pid=$!
  trap 'kill $pid 2>/dev/null; wait' EXIT
  until curl -sf http://127.0.0.1:18081/readyz >/dev/null; do sleep 0.1; done
  ./bin/load -url http://127.0.0.1:18081 -osmand http://127.0.0.1:15055 -pid $pid "$@"
  exit
fi
if [ "${STORE:-}" = sqlite ]; then
  dir=$(mktemp -d)
  start() {
    "$bin" --addr 127.0.0.1:18081 --osmand-addr 127.0.0.1:15055 --data-dir "$dir" --log-level warn &
    pid=$!
    until curl -sf http://127.0.0.1:18081/readyz >/dev/null; do sleep 0.1; done
  }
  start
  trap 'kill $pid 2>/dev/null; wait; rm -rf "$dir"' EXIT
  fleet=()
  if [ "${RESTART:-}" = 1 ]; then
    # The restart storm: set the fleet up, restart Enroute (SIGTERM), and
    # send to the restarted server, which has never seen a request from
    # these devices.
    ./bin/load -url http://127.0.0.1:18081 -fleet "$dir/fleet.json" -setup-only "$@"
    kill $pid; wait $pid || true
    start
    fleet=(-fleet "$dir/fleet.json")
  fi
  ./bin/load -url http://127.0.0.1:18081 -osmand http://127.0.0.1:15055 -pid $pid -sqlite "$dir/enroute.db" "${fleet[@]}" "$@"
  exit
fi
psql -q "$pg/postgres" -c "DROP DATABASE IF EXISTS enroute_bench" -c "CREATE DATABASE enroute_bench"
export ENROUTE_DATABASE_URL="$pg/enroute_bench?sslmode=disable"
if [ "$n" -gt 1 ] || [ "${BUS:-}" = nats ]; then
  export ENROUTE_NATS_URL=$nats ENROUTE_NATS_PREFIX=bench$$
fi
pids=() urls=()
trap 'kill "${pids[@]}" 2>/dev/null; wait' EXIT
for i in $(seq 1 "$n"); do
  port=$((18080 + i))
  osmand=""
  if [ "$i" = 1 ]; then osmand=127.0.0.1:15055; fi # OsmAnd (-mode osmand) on node 1
  "$bin" --addr 127.0.0.1:$port --osmand-addr "$osmand" --log-level warn &
  pids+=($!) urls+=("http://127.0.0.1:$port")
done
for u in "${urls[@]}"; do
  until curl -sf "$u/readyz" >/dev/null; do sleep 0.1; done
done
./bin/load -url "$(IFS=,; echo "${urls[*]}")" -osmand http://127.0.0.1:15055 -pid "${pids[0]}" -pg "$ENROUTE_DATABASE_URL" "$@"
