#!/usr/bin/env bash
# Landscape points/s of two toposcape builds on the shipped models, run alternately in one
# script so that both see the same machine: the cost of a change (BENCHMARKS.md, "Exact second
# order": float64 on the CPU backends against the f32 build before it).
#
#   benches/compare_builds.sh BASELINE_BIN NEW_BIN [ROUNDS]
#
# Each round runs every case once with each binary, in turn; the table gives each case's median
# points/s over the rounds (from analyze's own "sampling ... points/s" line, which times the
# sampling alone) and new / baseline. NEW_CONFIG (an environment variable) is TOML appended to
# each model's config for the new binary only, to switch off work the baseline does not do:
#
#   NEW_CONFIG=$'[hessian]\ntrace_probes = 0\ndensity_probes = 0' benches/compare_builds.sh OLD NEW
set -euo pipefail

if [[ $# -lt 2 ]]; then
    echo "usage: $0 BASELINE_BIN NEW_BIN [ROUNDS]" >&2
    exit 2
fi
baseline=$1
new=$2
rounds=${3:-3}
for bin in "$baseline" "$new"; do
    [[ -x "$bin" ]] || { echo "$bin: expected an executable toposcape" >&2; exit 2; }
done
root=$(cd "$(dirname "$0")/.." && pwd)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT

# name|model|analyze flags
cases=(
    "PINN, cpu kernel, 41^2|pinn-beta1|--backend cpu --points 41"
    "PINN, flex one point at a time, 41^2|pinn-beta1|--backend flex --points 41"
    "PINN, flex batches of 64, 21^2|pinn-beta1|--backend flex --points 21 --batch 64"
    "UNet, flex one point at a time, 7^2|unet-shapes|--backend flex --points 7"
)

rate() { # BIN OUT MODEL FLAGS... -> points/s
    local bin=$1 out=$2 model=$3
    shift 3
    "$bin" analyze "$root/models/$model" --directions random --out "$out" --force "$@" 2>/dev/null \
        | sed -n 's/^sampling .*: \([0-9.]*\) points\/s.*/\1/p'
}

declare -A samples
for ((r = 0; r < rounds; r++)); do
    for i in "${!cases[@]}"; do
        IFS='|' read -r name model flags <<<"${cases[$i]}"
        config=$scratch/$model.toml
        { cat "$root/models/$model/config.toml"; echo; echo "${NEW_CONFIG:-}"; } >"$config"
        # shellcheck disable=SC2086
        samples[$i,base]+="$(rate "$baseline" "$scratch/b" "$model" $flags) "
        # shellcheck disable=SC2086
        samples[$i,new]+="$(rate "$new" "$scratch/n" "$model" $flags --config "$config") "
    done
done

median() { tr ' ' '\n' | grep . | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
printf '%-40s %14s %14s %10s\n' "case" "baseline pt/s" "new pt/s" "new/base"
for i in "${!cases[@]}"; do
    IFS='|' read -r name _ _ <<<"${cases[$i]}"
    b=$(echo "${samples[$i,base]}" | median)
    n=$(echo "${samples[$i,new]}" | median)
    printf '%-40s %14s %14s %9.2fx\n' "$name" "$b" "$n" "$(awk -v n="$n" -v b="$b" 'BEGIN {print n / b}')"
done
