#!/usr/bin/env bash
# Run the official W3C trace-context test suite (github.com/w3c/trace-context,
# folder test/) against `owl trace w3c-service`, at STRICT_LEVEL=2.
#
# It downloads nothing: W3C_SUITE_DIR must name a folder holding the suite's
# test/ files (test.py, client.py, server.py, tracecontext/). The suite needs
# Python 3 with aiohttp (Debian: apt-get install python3-aiohttp).
#
#   W3C_SUITE_DIR=/path/to/trace-context/test scripts/w3c-suite.sh [TEST NAMES...]
#
# Optional: OWL_BIN (an owl binary; default: build one), PYTHON (default
# /usr/bin/python3 when present, else python3). Exits with the suite's status.
set -euo pipefail

die() { echo "w3c-suite: $*" >&2; exit 2; }

suite=${W3C_SUITE_DIR:-}
[ -n "$suite" ] || die "set W3C_SUITE_DIR to the folder holding the suite (test.py, client.py, server.py, tracecontext/)"
for f in test.py client.py server.py tracecontext/__init__.py; do
  [ -f "$suite/$f" ] || die "$suite/$f not found: W3C_SUITE_DIR must hold the test/ folder of github.com/w3c/trace-context"
done

python=${PYTHON:-}
if [ -z "$python" ]; then
  if [ -x /usr/bin/python3 ]; then python=/usr/bin/python3; else python=python3; fi
fi
"$python" -c 'import aiohttp' 2>/dev/null || die "$python cannot import aiohttp: install it (Debian: apt-get install python3-aiohttp)"

root=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
svc_pid=
cleanup() {
  if [ -n "$svc_pid" ]; then kill "$svc_pid" 2>/dev/null || true; wait "$svc_pid" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT

owl=${OWL_BIN:-}
if [ -z "$owl" ]; then
  echo "w3c-suite: building owl" >&2
  (cd "$root" && go build -o "$tmp/owl" ./cmd/owl)
  owl=$tmp/owl
fi

# Two free local ports: one for owl's service, one for the suite's harness.
read -r svc_port harness_port < <("$python" -c '
import socket
s1, s2 = socket.socket(), socket.socket()
s1.bind(("127.0.0.1", 0)); s2.bind(("127.0.0.1", 0))
print(s1.getsockname()[1], s2.getsockname()[1])')

"$owl" trace w3c-service --addr "127.0.0.1:$svc_port" >"$tmp/service.log" 2>&1 &
svc_pid=$!
ready=
for _ in $(seq 1 100); do
  # owl prints this line once its listener is open.
  if grep -q "listening on http://127.0.0.1:$svc_port/test" "$tmp/service.log"; then
    ready=1; break
  fi
  kill -0 "$svc_pid" 2>/dev/null || break
  sleep 0.1
done
if [ -z "$ready" ]; then
  cat "$tmp/service.log" >&2
  die "owl trace w3c-service did not start on 127.0.0.1:$svc_port"
fi

endpoint=http://127.0.0.1:$svc_port/test
echo "w3c-suite: SERVICE_ENDPOINT=$endpoint STRICT_LEVEL=2 $python test.py" >&2
status=0
(cd "$suite" && SERVICE_ENDPOINT=$endpoint STRICT_LEVEL=2 SPEC_LEVEL=2 \
  HARNESS_HOST=127.0.0.1 HARNESS_PORT=$harness_port \
  "$python" test.py "$endpoint" "$@") || status=$?
if [ "$status" -ne 0 ]; then
  echo "w3c-suite: the suite failed (status $status); owl's log:" >&2
  cat "$tmp/service.log" >&2
fi
exit "$status"
