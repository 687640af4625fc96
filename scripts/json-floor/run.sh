#!/usr/bin/env bash
# How close owl's session request decoder is to the fastest JSON parser:
# writes the body of the HTTP session benchmark (500 reviewed words, about
# 70 KB), times owl's decoder on it (BenchmarkDecodeRequest, with
# encoding/json's json.Valid and json.Unmarshal as baselines in the same
# run), then simdjson's On Demand API reading the same fields
# (floor.cpp). Needs g++ and Debian's libsimdjson-dev; downloads nothing.
# Not part of 'make test'.
#
#   scripts/json-floor/run.sh
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
if [ ! -f /usr/include/simdjson.h ] || ! command -v g++ >/dev/null; then
  echo "json-floor: needs g++ and simdjson: apt-get install g++ libsimdjson-dev" >&2
  exit 1
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

echo "json-floor: owl's decoder (go test -bench DecodeRequest)" >&2
(cd "$root" && OWL_BENCH_BODY="$work/body.json" go test -run '^$' -bench 'DecodeRequest' -benchtime 2s ./internal/session) | grep -E '^Benchmark'
echo "json-floor: simdjson On Demand on the same body" >&2
g++ -O3 -march=native -std=c++17 "$here/floor.cpp" -lsimdjson -o "$work/floor"
"$work/floor" "$work/body.json"
