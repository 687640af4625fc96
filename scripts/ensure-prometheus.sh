#!/usr/bin/env bash
# Make sure the shift analysis can be tested against a real Prometheus:
# Debian's prometheus binary, run by the tests on a loopback port. Installs
# it when it can; otherwise says in one sentence what to install. The tests
# skip without it locally and fail without it under CI=true.
set -euo pipefail

if [ -x /usr/bin/prometheus ]; then
  exit 0
fi
if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "ensure-prometheus: installing Debian's prometheus" >&2
  apt-get update -qq
  # Only the binary is wanted: keep the package's service from starting.
  DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 apt-get install -y -qq --no-install-recommends prometheus >/dev/null
  exit 0
fi
echo "ensure-prometheus: Prometheus is missing: install it with 'sudo apt-get install prometheus' (the shift analysis tests run it on 127.0.0.1)." >&2
exit 1
