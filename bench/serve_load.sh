#!/usr/bin/env bash
# Dashboard server load: page and API latency (p50, p99) and throughput at 64 concurrent
# connections on loopback, measured with wrk (Debian package `wrk`).
#
#   bench/serve_load.sh LAKE [DURATION]
#
# Starts the release `ako serve` on LAKE, times the first (cold) request of each URL,
# which computes its indicators, then loads each URL for DURATION (default 20s) with
# AKO_BENCH_CONNECTIONS connections (default 32) over 2 threads. Client and server share
# the machine's cores. The server admits 32 requests at once (web::MAX_IN_FLIGHT) and
# answers the rest 503 at once, so with more connections than that the latencies wrk
# reports are mostly those of refusals; the Non-2xx column says how many there were.
set -euo pipefail
lake=${1:?usage: bench/serve_load.sh LAKE [DURATION]}
duration=${2:-20s}
bin=${AKO_BIN:-${CARGO_TARGET_DIR:-$HOME/.cache/ako-target}/release/ako}
port=${AKO_BENCH_PORT:-18080}
conns=${AKO_BENCH_CONNECTIONS:-32}
base="http://127.0.0.1:$port"
command -v wrk >/dev/null || { echo "wrk is needed: apt-get install wrk" >&2; exit 2; }

"$bin" serve --lake "$lake" --addr "127.0.0.1:$port" --refresh 3600 2>/tmp/ako-serve-bench.log &
pid=$!
trap 'kill $pid 2>/dev/null || true; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do
    curl -sf "$base/healthz" >/dev/null && break
    sleep 0.5
done
version=$(curl -sf "$base/healthz" | sed 's/.*"lake_version":\([0-9]*\).*/\1/')

urls=(
    "/healthz"
    "/dashboards/my-organisation"
    "/dashboards/national-overview"
    "/api/dashboards"
    "/api/dashboards/my-organisation/panels/my-rate"
    "/api/dashboards/national-overview/panels/funnel/chart.svg"
    "/api/dashboards/national-overview/panels/funnel/chart.png"
    "/api/dashboards/equity/panels/headline-by-ethnicity/data.csv"
)

echo "lake $lake, version $version; wrk -t2 -c$conns -d$duration"
echo
echo "| URL | first request (s) | p50 (ms) | p99 (ms) | requests/s |"
echo "|---|---|---|---|---|"
for u in "${urls[@]}"; do
    cold=$(curl -s -o /dev/null -w '%{time_total}' "$base$u")
    out=$(wrk -t2 -c"$conns" -d"$duration" --latency "$base$u")
    p50=$(awk '$1 == "50%" {print $2}' <<<"$out")
    p99=$(awk '$1 == "99%" {print $2}' <<<"$out")
    rps=$(awk '/^Requests\/sec/ {print $2}' <<<"$out")
    errors=$(awk '/Non-2xx|Socket errors/ {print}' <<<"$out")
    ms() { awk -v v="$1" 'BEGIN { if (v ~ /ms$/) { sub(/ms$/, "", v); print v } else if (v ~ /us$/) { sub(/us$/, "", v); printf "%.3f\n", v / 1000 } else { sub(/s$/, "", v); print v * 1000 } }'; }
    echo "| \`$u\` | $cold | $(ms "$p50") | $(ms "$p99") | $rps |${errors:+ $errors}"
done
echo
echo "peak server RSS: $(awk '/VmHWM/ {printf "%.0f MiB", $2 / 1024}' /proc/$pid/status)"
