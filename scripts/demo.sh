#!/usr/bin/env bash
# The main job: builds the project, then runs the Java FedAvg server (server.jar --rounds 3)
# with two Java clients on synthetic data, all on this machine's loopback.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
port=${PORT:-18080}
rounds=${ROUNDS:-3}

mvn -B -q -ntp install -DskipTests
cp="flower-java-examples/target/classes:$(cat flower-java-examples/target/classpath.txt)"

java -jar flower-java-sdk/target/server.jar --rounds "$rounds" --port "$port" --host 127.0.0.1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for seed in 1 2; do
  java -cp "$cp" -Dorg.slf4j.simpleLogger.defaultLogLevel=warn \
    dev.flowerjava.examples.quickstart.QuickstartClient \
    --server "127.0.0.1:$port" --seed "$seed" &
done
wait "$server"
wait
