#!/usr/bin/env bash
# Measure 'owl trace stitch' at scale: for each size (lines of owl access
# logs, default 1000000 and 10000000) generate a synthetic fleet's logs with
# 'owl trace synth', time 'wc -l' over the same files, then stitch them in a
# child process and report lines/s, the ratio to 'wc -l' (goal >= 0.1) and
# the child's peak RSS (getrusage), which must stay flat as the input grows,
# and the CPU time (user + system) the stitch took.
# Long and disk-hungry (about 450 MB of logs per million lines, plus as
# much for synth's truth file): not part of 'make test'.
#
#   scripts/stitch-scale.sh [LINES...]
#
# Optional: OWL_BIN (default: build one), WORK (a folder for the data,
# default: a temporary folder, removed at the end), MEM_MB (the stitcher's
# --mem budget, default 64), PYTHON (default python3).
set -euo pipefail

python=${PYTHON:-python3}
root=$(cd "$(dirname "$0")/.." && pwd)
work=${WORK:-}
own_work=
if [ -z "$work" ]; then
  work=$(mktemp -d)
  own_work=1
fi
trap '[ -n "$own_work" ] && rm -rf "$work"' EXIT

owl=${OWL_BIN:-}
if [ -z "$owl" ]; then
  echo "stitch-scale: building owl" >&2
  (cd "$root" && go build -o "$work/owl" ./cmd/owl)
  owl=$work/owl
fi
sizes=("$@")
[ ${#sizes[@]} -gt 0 ] || sizes=(1000000 10000000)

printf '%-10s %10s %10s %12s %10s %12s %10s\n' lines wc_s stitch_s lines/s x_wc_l peak_rss_MiB stitch_cpu_s
for n in "${sizes[@]}"; do
  dir=$work/synth-$n
  if [ ! -d "$dir/app" ]; then
    # About 22 application lines per request with 8 services.
    "$owl" trace synth --services 8 --requests $((n / 22 + 1)) --seed 1 --out "$dir" >/dev/null
    rm -f "$dir/truth.jsonl" # not needed here; frees the disk
  fi
  # Same files, same page cache: wc -l first (twice, keep the faster).
  "$python" - "$owl" "$dir" "$work/out-$n.jsonl" "${MEM_MB:-64}" "$n" <<'EOF'
import glob, os, resource, subprocess, sys, time
owl, d, out, mem, n = sys.argv[1:6]
files = sorted(glob.glob(os.path.join(d, "app", "*.jsonl")))
wc = None
for _ in range(2):
    t = time.monotonic()
    r = subprocess.run(["wc", "-l"] + files, check=True, capture_output=True, text=True)
    wc = min(wc or 1e9, time.monotonic() - t)
lines = int(r.stdout.strip().splitlines()[-1].split()[0])
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu0 = ru.ru_utime + ru.ru_stime
t = time.monotonic()
subprocess.run([owl, "trace", "stitch", "--app", os.path.join(d, "app"), "--out", out, "--tmp", d, "--mem", mem],
               check=True, stdout=subprocess.DEVNULL)
secs = time.monotonic() - t
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
rss = ru.ru_maxrss / 1024  # KiB on Linux
cpu = ru.ru_utime + ru.ru_stime - cpu0  # user + system: less sensitive to a loaded machine than wall time
os.remove(out)
print("%-10d %10.2f %10.2f %12.0f %10.3f %12.1f %10.2f" % (lines, wc, secs, lines / secs, (lines / secs) / (lines / wc), rss, cpu))
EOF
done
