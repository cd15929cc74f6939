#!/usr/bin/env bash
# The scale benchmark (benches/scale/): writes BENCHMARKS.md and benchmarks/scale.json.
#
#   scripts/bench.sh                      every size (about an hour on 2 cores)
#   PITAGORA_BENCH_N=10,100 scripts/bench.sh   fewer sizes (see benches/scale/main.rs)
#
# Starts the AWS emulator (moto) and the API server if none runs, as the tests do.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh
scripts/moto.sh install >&2
PITAGORA_BENCH_EMULATOR="moto $(sed -n "s/^MOTO_VERSION=//p" scripts/moto.sh) (server mode, scripts/moto_server.py)" \
	exec scripts/with-kube.sh scripts/with-moto.sh cargo bench --locked --bench scale
