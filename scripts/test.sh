#!/usr/bin/env bash
# The project's test command (the README's and CI's): every test of the workspace.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
cargo test --locked "$@"
