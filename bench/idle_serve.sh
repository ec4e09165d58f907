#!/bin/bash
# CPU an idle `ako serve` uses: starts it on LAKE, waits WARM seconds for its warm-up,
# then reports the CPU seconds (utime + stime of the process) over the next SPAN
# seconds and that as a share of one core.
# usage: bench/idle_serve.sh LAKE [BINARY] [PORT] [WARM] [SPAN]
set -euo pipefail
lake=$1
bin=${2:-target/debug/ako}
port=${3:-8399}
warm=${4:-90}
span=${5:-180}
"$bin" serve --lake "$lake" --addr "127.0.0.1:$port" >/dev/null 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep "$warm"
tck=$(getconf CLK_TCK)
a=$(awk '{print $14 + $15}' "/proc/$pid/stat")
sleep "$span"
b=$(awk '{print $14 + $15}' "/proc/$pid/stat")
awk -v a="$a" -v b="$b" -v t="$tck" -v s="$span" \
    'BEGIN { c = (b - a) / t; printf "cpu_seconds=%.3f over %d s, %.3f%% of a core\n", c, s, 100 * c / s }'
