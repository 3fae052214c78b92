#!/usr/bin/env bash
# The main job: federated CIFAR-10 on this machine's loopback. Fetches the data if absent,
# builds, then runs the Java CIFAR server (--rounds 3) with two Java CIFAR clients, each training
# the quickstart CNN on half of the training set (iid) and evaluating on half of the test set.
# The server logs each round's distributed loss and accuracy and writes history.json,
# history.png, final_model.npz and best_model.npz into $OUT (default runs/cifar-<timestamp>).
#
# Environment: PORT (18080), ROUNDS (3), OUT, THREADS (libtorch threads per client, 1),
# CLIENT_ARGS / SERVER_ARGS (extra options). A quick look on a subset:
#   ROUNDS=2 CLIENT_ARGS="--max-train 2000 --max-test 500" scripts/demo.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-18080}
rounds=${ROUNDS:-3}
out=${OUT:-runs/cifar-$(date +%Y%m%d-%H%M%S)}
threads=${THREADS:-1}

scripts/fetch-cifar10.sh
mvn -B -q -ntp install -DskipTests
cp="flower-java-examples/target/classes:$(cat flower-java-examples/target/classpath.txt)"

start=$(date +%s)
# shellcheck disable=SC2086  # SERVER_ARGS/CLIENT_ARGS are option lists
java -Djava.awt.headless=true -cp "$cp" dev.flowerjava.examples.cifar.CifarServerMain \
  --rounds "$rounds" --host 127.0.0.1 --port "$port" --out "$out" ${SERVER_ARGS:-} &
pids=$!
trap 'kill $pids 2>/dev/null || true' EXIT
for id in 0 1; do
  # one client draws progress bars, and only when stderr is a terminal
  progress=never
  if [ "$id" = 0 ] && [ -t 2 ]; then progress=always; fi
  # shellcheck disable=SC2086
  java -XX:MaxDirectMemorySize=256m -cp "$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    dev.flowerjava.examples.cifar.CifarClientMain --server "127.0.0.1:$port" \
    --partition-id "$id" --num-partitions 2 --threads "$threads" --progress "$progress" \
    ${CLIENT_ARGS:-} &
  pids="$pids $!"
done
status=0
for p in $pids; do wait "$p" || status=$?; done
trap - EXIT
echo "demo: finished in $(( $(date +%s) - start )) s (exit $status); outputs in $out" >&2
exit "$status"
