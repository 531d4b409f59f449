#!/usr/bin/env bash
# Strong scaling of one landscape over MPI ranks on this machine (BENCHMARKS.md, "MPI"): the
# same analysis as one process with one thread (the baseline), under mpirun with 1, 2 and 3
# ranks of one thread each (3 oversubscribes a 2-core machine), and as one process with a
# thread per core, in rounds that alternate them so that all see the same machine.
#
#   benches/mpi_scaling.sh BIN [ROUNDS] [ANALYZE FLAGS...]
#
# BIN is a toposcape built with the mpi feature (cargo build --release --features mpi). The
# default analysis is the shipped PINN on a 3-D grid of 31^3 points along random directions
# (no Hessian, so that the sampling is the whole of the work that ranks share). Each case gives
# the median over the rounds of the whole command's seconds and of analyze's own "sampling ...
# points/s" line, and both as ratios to the baseline.
set -euo pipefail

if [[ $# -lt 1 ]]; then
    echo "usage: $0 BIN [ROUNDS] [ANALYZE FLAGS...]" >&2
    exit 2
fi
bin=$1
rounds=${2:-3}
shift $(($# >= 2 ? 2 : 1))
flags=("$@")
if [[ ${#flags[@]} -eq 0 ]]; then
    flags=(--directions random --dims 3 --points 31)
fi
[[ -x "$bin" ]] || { echo "$bin: expected an executable toposcape" >&2; exit 2; }
command -v mpirun >/dev/null || { echo "mpirun not found (Debian: openmpi-bin)" >&2; exit 2; }
if [[ "$(id -u)" = 0 ]]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi
root=$(cd "$(dirname "$0")/.." && pwd)
model=$root/models/pinn-beta1
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
cores=$(nproc)

# name|launcher (empty: one process)|threads flag
cases=(
    "1 process, 1 thread (baseline)||--threads 1"
    "mpirun -n 1, 1 thread|mpirun -n 1|--threads 1"
    "mpirun -n 2, 1 thread each|mpirun -n 2 --oversubscribe|"
    "mpirun -n 3, 1 thread each|mpirun -n 3 --oversubscribe|"
    "1 process, $cores threads||--threads $cores"
)

run() { # LAUNCHER THREADS -> "seconds points/s"
    local launcher=$1 threads=$2 start end rate
    start=$(date +%s.%N)
    # shellcheck disable=SC2086
    rate=$($launcher "$bin" analyze "$model" --out "$scratch/run" --force "${flags[@]}" $threads \
        2>/dev/null | sed -n 's/^sampling .*: \([0-9.]*\) points\/s.*/\1/p')
    end=$(date +%s.%N)
    [[ -n "$rate" ]] || { echo "no sampling line from: $launcher $bin analyze ${flags[*]}" >&2; exit 1; }
    echo "$(awk -v a="$start" -v b="$end" 'BEGIN {print b - a}') $rate"
}

declare -A seconds rates
for ((r = 0; r < rounds; r++)); do
    for i in "${!cases[@]}"; do
        IFS='|' read -r _ launcher threads <<<"${cases[$i]}"
        read -r s p <<<"$(run "$launcher" "$threads")"
        seconds[$i]+="$s "
        rates[$i]+="$p "
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
echo "analyze ${flags[*]} on $model, $cores cores, median of $rounds rounds"
printf '%-34s %10s %9s %12s %9s\n' "case" "seconds" "speed-up" "points/s" "ratio"
base_s=$(echo "${seconds[0]}" | median)
base_p=$(echo "${rates[0]}" | median)
for i in "${!cases[@]}"; do
    IFS='|' read -r name _ _ <<<"${cases[$i]}"
    s=$(echo "${seconds[$i]}" | median)
    p=$(echo "${rates[$i]}" | median)
    printf '%-34s %10.2f %8.2fx %12s %8.2fx\n' "$name" "$s" \
        "$(awk -v a="$base_s" -v b="$s" 'BEGIN {print a / b}')" "$p" \
        "$(awk -v a="$p" -v b="$base_p" 'BEGIN {print a / b}')"
done
