#!/usr/bin/env bash
# A mixed federation with real training on both sides: one Java client (CifarClientMain, the
# quickstart CNN in DJL) on IID partition 0 of CIFAR-10 and one Python client
# (python/mixed/torch_client.py, the same CNN in PyTorch) on partition 1, first on the Java server
# (CifarServerMain), then on flwr's own start_server (python/mixed/server.py). Prints the
# distributed accuracy of every round; fails if a run has failures or the last round's accuracy
# is not above the first round's.
#
# Settings (environment): ROUNDS (3), LOCAL_EPOCHS (1), BATCH_SIZE (32), MAX_TRAIN (whole half),
# MAX_TEST (10000), SERVERS ("java python"), JAVA_INIT (the Java server's initial model: XAVIER,
# CifarServerMain's default, or PYTORCH; start_server takes one client's), OUT (runs/mixed-<timestamp>).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
rounds=${ROUNDS:-3}
epochs=${LOCAL_EPOCHS:-1}
batch=${BATCH_SIZE:-32}
max_test=${MAX_TEST:-10000}
servers=${SERVERS:-java python}
out=${OUT:-runs/mixed-$(date +%Y%m%d-%H%M%S)}
max_train_args=()
if [ -n "${MAX_TRAIN:-}" ]; then max_train_args=(--max-train "$MAX_TRAIN"); fi

scripts/setup-python.sh
scripts/setup-python-torch.sh
scripts/fetch-cifar10.sh
if [ ! -f flower-java-examples/target/classpath.txt ] || [ ! -d flower-java-examples/target/classes ]; then
  mvn -B -q -ntp install -DskipTests
fi
export DJL_OFFLINE=true OPT_OUT_TRACKING=true DJL_CACHE_DIR="$root/.cache/djl"
mkdir -p "$out"
# Run from a copy of the project's own jars and classes: a `mvn install` elsewhere in the work tree
# during the run would otherwise swap classes under the running JVMs (ClassNotFoundException).
snap="$out/classpath"
rm -rf "$snap" && mkdir -p "$snap"
entries=()
i=0
IFS=: read -ra parts < flower-java-examples/target/classpath.txt || true # no final newline
for e in "${parts[@]}" "$root/flower-java-examples/target/classes"; do
  case "$e" in
    "$root"/*|*/dev/flowerjava/*) i=$((i + 1)); cp -r "$e" "$snap/$i-$(basename "$e")"; entries+=("$snap/$i-$(basename "$e")") ;;
    *) entries+=("$e") ;;
  esac
done
cp=$(IFS=:; echo "${entries[*]}")

free_port() { .venv/flwr/bin/python -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; }
trap cleanup EXIT

start_clients() { # port dir
  java -XX:MaxDirectMemorySize=256m -cp "$cp" dev.flowerjava.examples.cifar.CifarClientMain \
    --server "127.0.0.1:$1" --partition-id 0 --num-partitions 2 --threads 1 --progress never \
    --local-epochs "$epochs" --batch-size "$batch" --max-test "$max_test" "${max_train_args[@]}" \
    > "$2/java-client.log" 2>&1 &
  pids+=($!)
  .venv/torch/bin/python python/mixed/torch_client.py --server "127.0.0.1:$1" --partition-id 1 \
    --num-partitions 2 --threads 1 --local-epochs "$epochs" --batch-size "$batch" \
    --max-test "$max_test" "${max_train_args[@]}" > "$2/torch-client.log" 2>&1 &
  pids+=($!)
}

# CifarClientMain partitions the test set too; the torch client tests on the first MAX_TEST
# images. Both report example-weighted accuracy, so the global numbers are comparable per run.
for server in $servers; do
  dir="$out/$server-server"
  mkdir -p "$dir"
  port=$(free_port)
  echo "== $server server on port $port: $rounds rounds, $epochs local epoch(s), batch $batch -> $dir"
  start=$(date +%s)
  if [ "$server" = java ]; then
    java -cp "$cp" dev.flowerjava.examples.cifar.CifarServerMain --host 127.0.0.1 --port "$port" \
      --rounds "$rounds" --round-timeout 900 --init "${JAVA_INIT:-XAVIER}" --out "$dir" \
      > "$dir/server.log" 2>&1 &
  else
    .venv/torch/bin/python python/mixed/server.py --port "$port" --rounds "$rounds" \
      --out "$dir" > "$dir/server.log" 2>&1 &
  fi
  server_pid=$!
  pids+=("$server_pid")
  start_clients "$port" "$dir"
  if ! wait "$server_pid"; then
    echo "$server server failed; see $dir/server.log" >&2
    tail -20 "$dir/server.log" >&2
    exit 1
  fi
  wait
  echo "wall time $(( $(date +%s) - start )) s"
  .venv/flwr/bin/python - "$dir" "$server" <<'PY'
import json, sys
from pathlib import Path
d, server = Path(sys.argv[1]), sys.argv[2]
s = json.loads((d / ("history.json" if server == "java" else "summary.json")).read_text())
acc = s["metrics_distributed"]["accuracy"]
for r, a in acc:
    print(f"  round {r}: distributed accuracy {a:.4f}")
failures = s.get("total_failures", 0)
if failures:
    sys.exit(f"{server} server: {failures} failures")
if not acc[-1][1] > acc[0][1]:
    sys.exit(f"{server} server: accuracy did not improve ({acc[0][1]:.4f} -> {acc[-1][1]:.4f})")
PY
done
echo "results in $out"
