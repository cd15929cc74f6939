#!/usr/bin/env bash
# The project's test command (the README's and CI's): every test of the workspace, with the
# moto server (the AWS peer of the integration tests) running for the duration.
# Extra arguments go to `cargo test` (e.g. a test name filter).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
scripts/moto.sh install >&2
exec scripts/with-moto.sh cargo test --locked "$@"
