#!/usr/bin/env bash
# The consumer check: flower-java used as a library by a project outside the reactor.
#
# Builds examples-consumer/ (its own groupId, imports flower-java-bom, depends on flower-java-sdk
# without a version, as the README shows) against the artifacts that `mvn install` just built in
# this work tree, then runs its PlusOneClient for 2 rounds against Python Flower's start_server
# (python/interop/legacy_server.py on the pinned flwr in .venv/flwr) and checks what the server
# recorded: both rounds trained and evaluated without failures, the final global model is the
# client's [1, 2, 3] plus 1 per round, and the distributed losses are the client's.
# scripts/test.sh runs it after `mvn install`; it fails loudly on anything missing.
#
# The consumer build has its own local repository, examples-consumer/target/m2. The dev.flowerjava
# artifacts are installed there from this work tree's target/ directories, so another checkout's
# `mvn install` into ~/.m2 (same SNAPSHOT coordinates) cannot slip in. Everything else comes from
# ~/.m2/repository read as a file:// repository (releases only; FLOWERJAVA_M2 to point elsewhere),
# or from Maven Central when it is not there.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
started=$(date +%s)
fail() { echo "consumer-check: FAILED: $*" >&2; exit 1; }

python="$root/.venv/flwr/bin/python"
[ -x "$python" ] || fail "$python is missing: run scripts/setup-python.sh"

pom_version() { # pom.xml [XPath of the element whose <version> to read; default: the project]
  "$python" -c 'import sys, xml.etree.ElementTree as T
e = T.parse(sys.argv[1]).getroot().find(sys.argv[2] + "m:version", {"m": "http://maven.apache.org/POM/4.0.0"})
print(e.text if e is not None else "(none)")' "$1" "${2:-}"
}
version=$(pom_version pom.xml)
bom_version=$(pom_version flower-java-bom/pom.xml)
[ "$version" = "$bom_version" ] \
  || fail "flower-java-bom/pom.xml has version $bom_version but pom.xml has $version: they must match"
imported=$(pom_version examples-consumer/pom.xml \
  "m:dependencyManagement/m:dependencies/m:dependency[m:artifactId='flower-java-bom']/")
[ "$imported" = "$version" ] \
  || fail "examples-consumer/pom.xml imports flower-java-bom $imported, the reactor is $version (update it and the README's snippet)"
proto_jar=src-gen/target/flower-java-proto-$version.jar
sdk_jar=flower-java-sdk/target/flower-java-sdk-$version.jar
for f in "$proto_jar" "$sdk_jar"; do
  [ -f "$f" ] || fail "$f is missing: run 'mvn install' at the root first (scripts/test.sh does)"
done

consumer="$root/examples-consumer"
work="$consumer/target/consumer-check"
repo="$consumer/target/m2"
user_repo=${FLOWERJAVA_M2:-$HOME/.m2/repository}
rm -rf "$work" "$repo/dev/flowerjava" "$consumer/target/classes" "$consumer/target/classpath.txt"
mkdir -p "$work" "$repo"
cat > "$work/settings.xml" <<EOF
<settings>
  <profiles>
    <profile>
      <id>user-m2</id>
      <repositories>
        <repository>
          <id>user-m2</id>
          <url>file://$user_repo</url>
          <snapshots><enabled>false</enabled></snapshots>
        </repository>
      </repositories>
      <pluginRepositories>
        <pluginRepository>
          <id>user-m2</id>
          <url>file://$user_repo</url>
          <snapshots><enabled>false</enabled></snapshots>
        </pluginRepository>
      </pluginRepositories>
    </profile>
  </profiles>
  <activeProfiles><activeProfile>user-m2</activeProfile></activeProfiles>
</settings>
EOF
consumer_mvn() { # log-name, mvn arguments...
  local log="$work/$1.log"
  shift
  mvn -B -ntp -s "$work/settings.xml" -Dmaven.repo.local="$repo" "$@" > "$log" 2>&1 \
    || { tail -n 40 "$log" >&2; fail "mvn $* (log: $log)"; }
}

# The Python server starts first and waits for its one client while Maven works.
port=$("$python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$python" python/interop/legacy_server.py --port "$port" --rounds 2 --min-clients 1 \
  --out "$work/server" > "$work/server.log" 2>&1 &
server_pid=$!
trap 'kill "$server_pid" 2>/dev/null || true' EXIT

# This work tree's artifacts, in one Maven run (install-file once per artifact). The SDK's and the
# proto's poms name flower-java-parent as their parent, so that goes in too.
seed_execution() { # id file pom
  echo "<execution><id>$1</id><phase>validate</phase><goals><goal>install-file</goal></goals>"
  echo "  <configuration><file>$root/$2</file><pomFile>$root/$3</pomFile></configuration></execution>"
}
cat > "$work/seed.xml" <<EOF
<project>
  <modelVersion>4.0.0</modelVersion>
  <groupId>consumer-check</groupId>
  <artifactId>seed</artifactId>
  <version>0</version>
  <packaging>pom</packaging>
  <build><plugins><plugin>
    <groupId>org.apache.maven.plugins</groupId>
    <artifactId>maven-install-plugin</artifactId>
    <version>3.1.3</version>
    <executions>
$(seed_execution parent pom.xml pom.xml)
$(seed_execution bom flower-java-bom/pom.xml flower-java-bom/pom.xml)
$(seed_execution proto "$proto_jar" src-gen/pom.xml)
$(seed_execution sdk "$sdk_jar" flower-java-sdk/pom.xml)
    </executions>
  </plugin></plugins></build>
</project>
EOF
consumer_mvn seed -f "$work/seed.xml" validate

consumer_mvn build -f "$consumer/pom.xml" compile
classpath=$(cat "$consumer/target/classpath.txt")
case ":$classpath:" in
  *":$repo/dev/flowerjava/flower-java-sdk/$version/flower-java-sdk-$version.jar:"*) ;;
  *) fail "the consumer did not resolve flower-java-sdk $version from $repo: $classpath" ;;
esac
cmp -s "$repo/dev/flowerjava/flower-java-sdk/$version/flower-java-sdk-$version.jar" "$sdk_jar" \
  || fail "the SDK jar the consumer resolved is not $sdk_jar"
case "$classpath" in
  *picocli*) fail "flower-java-sdk brings picocli to its users: $classpath" ;;
esac

# The gRPC port is open once start_server is up; the client would retry anyway, but slower.
for _ in $(seq 1 300); do
  (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break
  kill -0 "$server_pid" 2>/dev/null || { cat "$work/server.log" >&2; fail "the Python server exited early"; }
  sleep 0.2
done
timeout 120 java -cp "$consumer/target/classes:$classpath" com.example.consumer.PlusOneClient \
  "127.0.0.1:$port" > "$work/client.log" 2>&1 \
  || { tail -n 40 "$work/client.log" >&2; fail "the consumer's client failed (log: $work/client.log)"; }
for _ in $(seq 1 300); do
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
kill -0 "$server_pid" 2>/dev/null && fail "the Python server did not finish after the client left"
wait "$server_pid" || { tail -n 40 "$work/server.log" >&2; fail "the Python server failed (log: $work/server.log)"; }

"$python" - "$work/server" <<'EOF' || fail "the run did not complete as expected (logs: $work)"
import json
import sys
from pathlib import Path

import numpy as np

out = Path(sys.argv[1])
summary = json.loads((out / "summary.json").read_text())
final = np.load(out / "final_0.npy", allow_pickle=False)
problems = []
if summary["fit_results"] != {"1": 1, "2": 1}:
    problems.append(f"fit results per round {summary['fit_results']}, expected one in each of 2 rounds")
for kind in ("fit_failures", "evaluate_failures"):
    if any(summary[kind].values()):
        problems.append(f"{kind} {summary[kind]}")
if summary["num_final_tensors"] != 1 or final.dtype != np.float32 or final.tolist() != [3.0, 4.0, 5.0]:
    problems.append(f"final model {summary['num_final_tensors']} tensor(s), {final.dtype} {final.tolist()};"
                    " expected one float32 [3.0, 4.0, 5.0]")
if summary["losses_distributed"] != [[1, 3.0], [2, 4.0]]:
    problems.append(f"distributed losses {summary['losses_distributed']}, expected [[1, 3.0], [2, 4.0]]")
for p in problems:
    print("consumer-check:", p, file=sys.stderr)
if problems:
    sys.exit(1)
print(f"consumer-check: flwr {summary['flwr_version']} start_server ran 2 rounds with the consumer's"
      f" client: final model {final.tolist()}, distributed losses {summary['losses_distributed']}")
EOF
echo "consumer-check: passed in $(( $(date +%s) - started )) s"
