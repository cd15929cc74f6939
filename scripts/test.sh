#!/usr/bin/env bash
# The project's test command (the README's and CI's): every test of the workspace, with the
# AWS emulator (moto) and a real Kubernetes API server (kube-apiserver + etcd) running for the
# duration. Extra arguments go to `cargo test` (e.g. a test name filter). `--features model`: the
# property tests that execute plans in the in-memory AWS need it (Cargo.toml, [features]).
set -euo pipefail
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh
# Once per machine: moto's venv (~1 min), kube-apiserver built from source (5-10 min),
# the operating tools from Debian's packages (~1 min).
scripts/moto.sh install >&2
scripts/kube.sh install >&2
# Debian's promtool, lua5.4, umoci, skopeo and crun for the operating tests (seconds once installed).
scripts/tools.sh install >&2
exec scripts/with-kube.sh scripts/with-moto.sh cargo test --locked --features model "$@"
