#!/usr/bin/env bash
# One bidi run: a server (the Java one, or flwr's start_server) and one JVM of many Java
# FlowerClients that return what they are sent at once.
#   bidi-run.sh SERVER CLIENTS PARAMS ROUNDS PREFIX
# SERVER is java or flwr. Writes PREFIX.server.json (results per round, peak RSS) and
# PREFIX.clients.json (round times seen by the clients, client JVM peak RSS), logs beside them.
# Heap sizes: BIDI_SERVER_XMX (default 1g), BIDI_CLIENT_XMX (default 2g); BIDI_BUDGET sets the
# Java server's in-flight budget (bytes); BIDI_TIMEOUT (seconds, default 900) ends a run that
# does not finish (exit 124, both processes killed).
set -euo pipefail
server=$1 clients=$2 params=$3 rounds=$4 prefix=$5
jar=flower-java-benchmarks/target/benchmarks.jar
port_file="$prefix.port"
rm -f "$port_file"
read -ra server_opts <<< "${BIDI_SERVER_OPTS:-}" # extra JVM options, e.g. a JFR recording
case "$server" in
  java)
    # glibc's per-thread malloc arenas keep freed direct-buffer memory mapped (hundreds of MB at
    # 1,000 clients, outside what NMT counts as live): two arenas, as for any JVM server
    MALLOC_ARENA_MAX="${BIDI_MALLOC_ARENA_MAX:-2}" java -Xmx"${BIDI_SERVER_XMX:-1g}" -XX:+UseParallelGC "${server_opts[@]}" -cp "$jar" \
      dev.flowerjava.benchmarks.bidi.BidiServerRun "$clients" "$params" "$rounds" "$port_file" \
      ${BIDI_BUDGET:+"$BIDI_BUDGET"} > "$prefix.server.json" 2> "$prefix.server.log" &
    ;;
  flwr)
    .venv/flwr/bin/python python/benchmarks/bidi_server.py "$clients" "$params" "$rounds" \
      "$port_file" > "$prefix.server.json" 2> "$prefix.server.log" &
    ;;
  *) echo "bidi-run.sh: unknown server '$server' (java or flwr)" >&2; exit 2 ;;
esac
server_pid=$!
for _ in $(seq 600); do
  [[ -s $port_file ]] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "server died; see $prefix.server.log" >&2; exit 1; }
  sleep 0.1
done
[[ -s $port_file ]] || { kill "$server_pid"; echo "server wrote no port" >&2; exit 1; }
status=0
timeout "${BIDI_TIMEOUT:-900}" java -Xmx"${BIDI_CLIENT_XMX:-2g}" -XX:+UseParallelGC -cp "$jar" \
    dev.flowerjava.benchmarks.bidi.ManyClients 127.0.0.1 "$(cat "$port_file")" "$clients" \
    "$rounds" > "$prefix.clients.json" 2> "$prefix.clients.log" || status=$?
if [[ $status != 0 ]]; then
  kill "$server_pid" 2>/dev/null || true
  wait "$server_pid" 2>/dev/null || true
  echo "bidi-run.sh: the clients failed (exit $status); see $prefix.clients.log" >&2
  exit "$status"
fi
if ! wait "$server_pid"; then
  echo "bidi-run.sh: the $server server failed; see $prefix.server.log" >&2
  exit 1
fi
