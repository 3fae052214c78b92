#!/usr/bin/env bash
# The largest model: a Java server and two Java nodes carry a model of several float32 tensors
# over the Fleet API's chunked objects (>= 2 GiB in full mode) and over the grpc-bidi stream at the
# largest single message gRPC and protobuf allow (< 2 GiB), recording round time, the server's
# peak RSS (VmHWM) and its multiple of the model, and the client JVM's peak RSS; then what a real
# flwr 1.41 SuperLink (with a ServerApp that sends the model) carries to the same Java nodes.
#
#   60-largest-model.sh full|quick OUT
#
# quick: ~64 MB models, Java paths only (the SuperLink attempt takes minutes to start and stop).
# When $BIGMEM_LOCK names a lock file, big runs hold it (flock) so that only one memory-hungry run
# is on the machine at a time (benchmarks/run.sh runs its parts one by one). Sizes and heaps
# can be overridden: LARGEST_FLEET="TENSORSxFLOATS", LARGEST_BIDI="TENSORSxFLOATS",
# LARGEST_SERVER_XMX, LARGEST_CLIENTS_XMX, LARGEST_SUPERLINK="LABEL:ARRAYSxVALUES ..." (empty: skip),
# LARGEST_PATHS="fleet bidi" (the Java paths to run).
set -euo pipefail
mode=$1 out=$2
name=60-largest-model
jar=flower-java-benchmarks/target/benchmarks.jar
py=.venv/flwr/bin/python
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT

if [[ $mode == quick ]]; then
  fleet=${LARGEST_FLEET:-4x4000000}   # 64 MB
  bidi=${LARGEST_BIDI:-4x4000000}
  server_xmx=${LARGEST_SERVER_XMX:-1g}
  clients_xmx=${LARGEST_CLIENTS_XMX:-1g}
  superlink=${LARGEST_SUPERLINK-}
  limit=120
else
  fleet=${LARGEST_FLEET:-4x135000000}   # 2.16 GB = 2.01 GiB, four 540 MB tensors
  # gRPC takes one message of up to 2^31 - 1 bytes (try LARGEST_BIDI=4x125000000, 2.00 GB), but
  # the bidi server held 15x the model at 512 MiB (8.3 GB RSS): more does not fit this machine
  bidi=${LARGEST_BIDI:-4x33554432}
  server_xmx=${LARGEST_SERVER_XMX:-14g}
  clients_xmx=${LARGEST_CLIENTS_XMX:-7g}
  # the recorded run tries 256 MB only: a SuperLink round of 256 MB took minutes here; larger
  # ones (e.g. LARGEST_SUPERLINK="1GB:4x67108864 2.1GB:4x134217728") take longer still
  superlink=${LARGEST_SUPERLINK-256MB:1x67108864}
  limit=900
fi
max_message=2147483647 # gRPC's limit is a Java int; protobuf's too (2 GiB - 1)

lock=${BIGMEM_LOCK:-}
if [[ $mode == full && -n $lock ]]; then
  exec 9>"$lock"
  echo "$name: waiting for $lock" >&2
  flock 9
fi

# Fails the part with a clear message when a JVM did not end well.
check_exit() { # WHAT RC LOG
  case $2 in
    0) return 0 ;;
    137) echo "$name: the $1 JVM was killed by SIGKILL (exit 137): the kernel's OOM killer, the" \
      "machine had not the memory for this model (see dmesg); log: $3" >&2 ;;
    3) echo "$name: the $1 JVM ran out of heap (java.lang.OutOfMemoryError, exit 3): raise its" \
      "-Xmx; log: $3" >&2 ;;
    124) echo "$name: the $1 JVM did not finish within ${limit} s; log: $3" >&2 ;;
    *) echo "$name: the $1 JVM failed (exit $2); log: $3" >&2 ;;
  esac
  tail -n 20 "$3" >&2
  exit 1
}

wait_for_file() { # FILE PID SECONDS
  for ((i = 0; i < $3 * 5; i++)); do
    [[ -s $1 ]] && return 0
    kill -0 "$2" 2>/dev/null || return 1
    sleep 0.2
  done
  return 1
}

# One Java server and one JVM with two Java nodes: TRANSPORT LABEL TENSORSxFLOATS
java_pair() {
  local transport=$1 label=$2 tensors=${3%x*} floats=${3#*x}
  local d=$work/$label
  mkdir -p "$d"
  echo "$name: $label: $tensors tensors x $floats float32 over $transport" >&2
  timeout "$limit" java -Xmx"$server_xmx" -XX:+ExitOnOutOfMemoryError -cp "$jar" \
    dev.flowerjava.benchmarks.LargestModel server "$transport" "$tensors" "$floats" 1 2 \
    "$d/port" "$max_message" >"$d/server.json" 2>"$d/server.log" &
  local server=$!
  pids+=("$server")
  if ! wait_for_file "$d/port" "$server" 300; then
    local rc=0
    wait "$server" || rc=$?
    check_exit server "$rc" "$d/server.log"
  fi
  timeout "$limit" java -Xmx"$clients_xmx" -XX:+ExitOnOutOfMemoryError -cp "$jar" \
    dev.flowerjava.benchmarks.LargestModel clients "$transport" "127.0.0.1:$(cat "$d/port")" 2 \
    "$d/stop" "$max_message" >"$d/clients.json" 2>"$d/clients.log" &
  local clients=$!
  pids+=("$clients")
  local src=0 crc=0
  wait "$server" || src=$?
  touch "$d/stop"
  wait "$clients" || crc=$?
  check_exit server "$src" "$d/server.log"
  check_exit clients "$crc" "$d/clients.log"
  cat "$d/server.json" "$d/clients.json" >"$out/$name.$label.jsonl"
}

# The peak VmHWM of PID and its descendants, sampled every second into FILE until PID ends.
sample_rss() { # PID FILE
  local max=0
  while kill -0 "$1" 2>/dev/null; do
    for p in $1 $(pgrep -P "$1" || true) $(pgrep -g "$(ps -o pgid= "$1" | tr -d ' ')" || true); do
      local kb
      kb=$(awk '/VmHWM/ {print $2}' "/proc/$p/status" 2>/dev/null || echo 0)
      ((kb > max)) && max=$kb
    done
    echo "$max" >"$2"
    sleep 1
  done
}

# flwr's SuperLink + a ServerApp sending ARRAYS arrays of VALUES float32 to two Java nodes.
superlink_try() { # LABEL ARRAYSxVALUES
  local label=$1 arrays=${2%x*} values=${2#*x}
  local d=$work/superlink-$label
  mkdir -p "$d/state" "$d/out"
  echo "$name: flwr SuperLink, $label: $arrays arrays x $values float32" >&2
  "$py" python/fleet/federation.py start-superlink --state-dir "$d/state" --max-lifetime 1200 \
    >"$d/superlink.out" 2>"$d/superlink.err" &
  local driver=$!
  pids+=("$driver")
  if ! wait_for_file "$d/state/superlink.json" "$driver" 120; then
    echo "$name: the flwr SuperLink did not start" >&2
    cat "$d/superlink.err" >&2
    exit 1
  fi
  local fleet control slpid
  fleet=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["fleet"])' "$d/state/superlink.json")
  control=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["control"])' "$d/state/superlink.json")
  slpid=$("$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$d/state/superlink.json")
  sample_rss "$slpid" "$d/rss" &
  pids+=("$!")
  timeout "$limit" java -Xmx"$clients_xmx" -XX:+ExitOnOutOfMemoryError -cp "$jar" \
    dev.flowerjava.benchmarks.LargestModel clients fleet "$fleet" 2 "$d/stop" \
    >"$d/clients.json" 2>"$d/clients.log" &
  local clients=$!
  pids+=("$clients")
  local started rc=0
  started=$(date +%s.%N)
  "$py" python/fleet/federation.py run --superlink-control "$control" --out "$d/out" \
    --num-rounds 1 --min-nodes 2 --timeout "$((limit / 2))" \
    --run-config "big-values=$values" --run-config "big-arrays=$arrays" \
    --run-config "save-arrays=false" --run-config "round-timeout=$((limit / 2)).0" \
    >"$d/run.json" 2>"$d/run.err" || rc=$?
  local seconds
  seconds=$(echo "$(date +%s.%N) - $started" | bc)
  touch "$d/stop"
  local crc=0
  wait "$clients" || crc=$?
  "$py" python/fleet/federation.py stop --state-dir "$d/state" >/dev/null 2>&1 || true
  wait "$driver" 2>/dev/null || true
  "$py" python/benchmarks/largest_report.py superlink-result "$label" "$arrays" "$values" "$rc" \
    "$crc" "$seconds" "$(cat "$d/rss" 2>/dev/null || echo 0)" "$d/run.json" "$d/clients.json" \
    "$d/clients.log" "$d/state" "$d/out" >"$out/$name.superlink-$label.json"
}

for path in ${LARGEST_PATHS:-fleet bidi}; do
  if [[ $path == fleet ]]; then java_pair fleet fleet "$fleet"; fi
  if [[ $path == bidi ]]; then java_pair bidi bidi "$bidi"; fi
done
for s in $superlink; do
  superlink_try "${s%%:*}" "${s#*:}"
done
"$py" python/benchmarks/largest_report.py report "$mode" "$out" >"$out/$name.md"
