#!/usr/bin/env bash
# The probe (issue 9): attacks the real server.jar and the Java client on loopback (rogue bidi
# clients, a rogue server, slowloris and flooding HTTP, kill -9) and prints a table of what held.
# Builds server.jar and the probe first (no tests). Exits non-zero when any attack was not held.
#
#   scripts/probe.sh            the quick suite (small floods; what ProbeIT runs in the build)
#   scripts/probe.sh --full     the issue's sizes: 8 x 200 MiB bidi messages, 8 x 500 MB bodies
#   scripts/probe.sh --only 5,7 some attacks only
#
# Environment: MAVEN_ARGS (extra Maven options, e.g. -Dmaven.repo.local=...).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
# shellcheck disable=SC2086  # MAVEN_ARGS is an option list
mvn -B -q -ntp ${MAVEN_ARGS:-} -pl flower-java-probe -am package -DskipTests \
  -Dmaven.javadoc.skip=true -Dmaven.source.skip=true
cp="flower-java-probe/target/classes:$(cat flower-java-probe/target/classpath.txt)"
exec java -cp "$cp" dev.flowerjava.probe.Probe \
  --server-jar flower-java-server/target/server.jar "$@"
