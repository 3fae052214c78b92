#!/usr/bin/env bash
# Aggregation: the server's fold of client updates against flwr's aggregate.
set -euo pipefail
here=$(dirname "$0")
exec "$here/../lib/jmh-section.sh" "$1" "$2" 10-aggregation FedAvgBenchmark aggregateRound \
  "Aggregation" "$here/10-aggregation.intro.md"
