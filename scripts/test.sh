#!/usr/bin/env bash
# Runs every check of the project: formatting, lints (warnings are errors) and all tests of the
# workspace. This is the single test command of README.md, and what CI (.ci/run) runs.
#
#   scripts/test.sh          # the everyday loop: CPU backends only
#   scripts/test.sh --wgpu   # every test on a build with the wgpu feature, the wgpu backend
#                            # checked against the CPU (needs a Vulkan driver: a GPU's, or
#                            # Mesa's lavapipe)
#   scripts/test.sh --mpi    # with the mpi feature too: analyses under mpirun with 2 and 3
#                            # ranks (needs OpenMPI and libclang); combines with --wgpu
set -euo pipefail
cd "$(dirname "$0")/.."

wgpu=false
mpi=false
for arg in "$@"; do
    case "$arg" in
        --wgpu) wgpu=true ;;
        --mpi) mpi=true ;;
        *) echo "scripts/test.sh: unknown option $arg (expected --wgpu or --mpi)" >&2; exit 2 ;;
    esac
done

# What the tests need besides Rust, checked first so that a missing piece is one clear line
# (.ci/run installs all of it on Debian).
missing() {
    echo "scripts/test.sh: $1; on Debian run .ci/run, which installs it and then runs this" >&2
    exit 1
}
python3 -c "import venv, ensurepip" >/dev/null 2>&1 ||
    missing "the float64 checks need python3 with venv and ensurepip (Debian: python3-venv)"
if [ -z "${TOPOSCAPE_CHROMIUM:-}" ] &&
    ! command -v chromium >/dev/null && ! command -v chromium-browser >/dev/null &&
    ! command -v google-chrome >/dev/null; then
    missing "the report test needs Chromium (Debian: chromium) or TOPOSCAPE_CHROMIUM set to one"
fi
if $mpi && ! command -v mpirun >/dev/null; then
    missing "the MPI tests need OpenMPI and libclang (Debian: openmpi-bin libopenmpi-dev libclang-dev)"
fi
# The MPI tests run the binary under mpirun; OpenMPI refuses root unless told.
if $mpi && [ "$(id -u)" = 0 ]; then
    export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
fi

# The float64 checks of tests/python/ (the models written again with numpy and autograd) run in a
# venv outside the clone, made once and reused: numpy, scipy and autograd, a few tens of MB.
venv="${TOPOSCAPE_VENV:-$HOME/.cache/toposcape-venv}"
if ! "$venv/bin/python" -c "import numpy, scipy, autograd" >/dev/null 2>&1; then
    echo "== python venv for tests/python ($venv)"
    python3 -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --disable-pip-version-check -r tests/python/requirements.txt
fi
export TOPOSCAPE_PYTHON="$venv/bin/python"

# The Python package (python/): a wheel built by maturin from the same build as the tests (the
# dev profile, the same features, so no dependency is compiled twice), installed into a venv of
# its own with pytest and the peers it is checked against (gudhi, Landscaper), and its pytest
# suite run against the binary the cargo tests built.
python_package() {
    local features=("$@")
    local pyvenv="${TOPOSCAPE_PYVENV:-$HOME/.cache/toposcape-pyvenv}"
    local target
    target="$(cd "${CARGO_TARGET_DIR:-target}" && pwd)"
    if ! "$pyvenv/bin/python" -c "import pytest, gudhi, topopy, maturin, importlib.util as u; assert u.find_spec('landscaper')" >/dev/null 2>&1; then
        echo "== python venv for the Python package ($pyvenv)"
        python3 -m venv "$pyvenv"
        "$pyvenv/bin/python" -m pip install --quiet --disable-pip-version-check -r python/requirements-test.txt
    fi
    echo "== python package: maturin build, pytest"
    rm -rf "$target/wheels"
    "$pyvenv/bin/maturin" build --quiet -m python/Cargo.toml --profile dev --locked "${features[@]}" \
        --interpreter "$pyvenv/bin/python" --out "$target/wheels"
    "$pyvenv/bin/python" -m pip install --quiet --disable-pip-version-check --force-reinstall --no-deps \
        "$target"/wheels/toposcape-*.whl
    # Run from python/tests, so `import toposcape` is the installed wheel, not the source folder.
    (cd python/tests && TOPOSCAPE_BIN="$target/debug/toposcape" "$pyvenv/bin/python" -m pytest -q -p no:cacheprovider .)
}

echo "== cargo fmt --check"
cargo fmt --all --check

# The mpi feature joins the one build of the tests (the Python package is built without it: a
# wheel does not link an MPI library).
mpi_features=()
if $mpi; then
    mpi_features=(--features mpi)
fi

if ! $wgpu; then
    echo "== cargo clippy (warnings are errors)"
    cargo clippy --workspace --all-targets --locked "${mpi_features[@]}" -- -D warnings
    echo "== cargo test"
    cargo test --workspace --locked "${mpi_features[@]}"
    python_package
    exit 0
fi

# With --wgpu every test runs on one build with the feature (the wgpu tests check that backend
# against the CPU): building the workspace a second time without it would double a cold build.
# Only the few checks that a build without wgpu explains the missing feature (tests marked
# cfg(not(feature = "wgpu"))) then run in the everyday loop alone, and only that loop lints the
# build without the feature: linting it here would type-check the whole graph once more (7 of a
# cold run's 88 minutes), for two small cfg(not(feature = "wgpu")) items in src/.
# wgpu warns on stderr when XDG_RUNTIME_DIR is unset; give it a private one.
if [ -z "${XDG_RUNTIME_DIR:-}" ]; then
    XDG_RUNTIME_DIR="$(mktemp -d)"
    export XDG_RUNTIME_DIR
fi
features=wgpu
if $mpi; then
    features=wgpu,mpi
fi
echo "== cargo clippy --features $features"
cargo clippy --workspace --all-targets --locked --features "$features" -- -D warnings
echo "== cargo test --features $features (every test; the wgpu backend against the CPU)"
cargo test --workspace --locked --features "$features"
python_package --features wgpu
