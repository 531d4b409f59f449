#!/usr/bin/env bash
# The GPU benchmark as one prepared script for a machine with a GPU (DEVELOPERS.md's device
# machine, or any Linux x86-64 machine with an NVIDIA or AMD GPU and its Vulkan driver).
#
#   scripts/device-bench.sh --prepare   here: builds a stripped release binary with the wgpu
#                                       feature, gzipped into .device/ (69 MB, 18 MB gzipped:
#                                       64 MiB travel) and downloads the Vulkan loader's
#                                       Debian packages into .gl/ (both git-ignored through
#                                       .git/info/exclude); prints the call to make
#   scripts/device-bench.sh             there, from the checkout's root: writes into $OUT
#
# What it runs there (about 5 minutes; BENCHMARKS.md says what each figure means):
#   1. nvidia-smi's name, clocks, memory and driver           -> gpu.csv
#   2. toposcape bench --repeats 3 (CPU backends, wgpu on the GPU with its batch sweep and the
#      FLOP rate against the device's nominal f32 rate)       -> bench.json, bench.txt
#   3. benches/peers/pinn_landscape.py --device cuda --wgpu on a 101^2 grid: torch.func.vmap on
#      the GPU beside toposcape's wgpu path, whose landscape is checked against the CPU
#      kernel's (max relative difference)                      -> peers.json, peers.txt
#   4. analyze --backend wgpu on a 41^2 grid, every point recomputed in float64 with numpy
#      (tests/python/recompute_landscape.py --all)             -> accuracy.txt
# Each step has its own time limit, so a slow or failing step leaves the others' files.
# A dry run on a machine without a GPU (lavapipe, a debug build, small sizes):
#   TOPOSCAPE=target/debug/toposcape BENCH_ARGS="--quick --repeats 1" PEER_DEVICE=cpu \
#   PEER_POINTS=9 OUT=/tmp/dry scripts/device-bench.sh
set -uo pipefail

if [ "${1:-}" = "--prepare" ]; then
    set -e
    cd "$(dirname "$0")/.."
    target=${CARGO_TARGET_DIR:-$HOME/.cache/toposcape-target}
    CARGO_TARGET_DIR=$target cargo build --release --workspace --features wgpu --locked
    mkdir -p .device .git/info
    gzip -9 -c "$target/release/toposcape" >.device/toposcape.gz
    for ignored in /.device/ /.gl/; do
        grep -qxF "$ignored" .git/info/exclude 2>/dev/null || echo "$ignored" >>.git/info/exclude
    done
    if ! ls .gl/*.deb >/dev/null 2>&1; then
        mkdir -p .gl /tmp/amd64/partial
        o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
        # shellcheck disable=SC2086
        apt-get $o update -qq
        # shellcheck disable=SC2086
        (cd .gl && apt-get $o download -qq libvulkan1)
    fi
    echo "prepared: .device/toposcape.gz ($(du -h .device/toposcape.gz | cut -f1)), .gl/: $(ls .gl)"
    echo "run it there with: command \"scripts/device-bench.sh\", carry [\".device\", \".gl\"], timeout_s 420"
    exit 0
fi

OUT=${OUT:-/tmp/toposcape-device}
mkdir -p "$OUT"
BIN=${TOPOSCAPE:-}
if [ -z "$BIN" ]; then
    [ -f .device/toposcape.gz ] || { echo "no .device/toposcape.gz: run scripts/device-bench.sh --prepare first" >&2; exit 2; }
    BIN=/tmp/toposcape-device-bin
    gunzip -c .device/toposcape.gz >"$BIN" && chmod +x "$BIN" || exit 2
fi
python=${PYTHON:-python3}
bench_args=${BENCH_ARGS:---repeats 3}

# The Vulkan loader (the machine may lack it) and the NVIDIA driver's Vulkan manifest.
if ! ldconfig -p | grep -q 'libvulkan.so.1 '; then
    for f in .gl/*.deb; do [ -f "$f" ] && dpkg -x "$f" /; done
    ldconfig
fi
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -f "$nvidia_icd" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES=$nvidia_icd
fi

echo "== 1. the GPU"
nvidia-smi --query-gpu=name,clocks.max.sm,clocks.sm,memory.total,driver_version --format=csv \
    | tee "$OUT/gpu.csv" || echo "(no nvidia-smi)"
ldconfig -p | grep libvulkan || echo "(no Vulkan loader: the wgpu rows will be missing)"

echo "== 2. toposcape bench"
# shellcheck disable=SC2086
timeout 300 "$BIN" bench $bench_args --out "$OUT/bench.json" 2>&1 | tee "$OUT/bench.txt"
echo "(bench: exit ${PIPESTATUS[0]})"

echo "== 3. the torch peers on the GPU beside toposcape's wgpu path"
PYTHONUNBUFFERED=1 timeout 150 "$python" benches/peers/pinn_landscape.py "$BIN" models/pinn-beta1 \
    --points "${PEER_POINTS:-101}" --device "${PEER_DEVICE:-cuda}" --wgpu --json "$OUT/peers.json" 2>&1 | tee "$OUT/peers.txt"
echo "(peers: exit ${PIPESTATUS[0]})"

echo "== 4. the GPU's landscape against float64, every point of a 41^2 grid"
rm -rf /tmp/toposcape-gpu-landscape
timeout 60 "$BIN" analyze models/pinn-beta1 --directions random --points 41 --backend wgpu \
    --out /tmp/toposcape-gpu-landscape 2>&1 | tee "$OUT/accuracy.txt"
timeout 60 "$python" tests/python/recompute_landscape.py /tmp/toposcape-gpu-landscape --all 2>&1 \
    | tee -a "$OUT/accuracy.txt"
