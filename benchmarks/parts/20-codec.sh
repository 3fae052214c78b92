#!/usr/bin/env bash
# Codec: a whole model to Flower's Parameters (.npy per tensor) and back, against flwr + numpy.
set -euo pipefail
here=$(dirname "$0")
exec "$here/../lib/jmh-section.sh" "$1" "$2" 20-codec NpyCodecBenchmark encodeModel,decodeModel \
  "Codec" "$here/20-codec.intro.md"
