#!/usr/bin/env bash
# Runs every check of the project: formatting, lints (warnings are errors) and all tests of the
# workspace. This is the single test command of README.md, and what CI (.ci/run) runs.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== cargo fmt --check"
cargo fmt --all --check
echo "== cargo clippy (warnings are errors)"
cargo clippy --workspace --all-targets --locked -- -D warnings
echo "== cargo test"
cargo test --workspace --locked
