#!/usr/bin/env bash
# The demo: the full chain of examples/full-chain.yaml against a local AWS emulator (moto),
# from nothing to converged, through out-of-band drift and its correction, to a log line
# arriving in S3 and a canary verified (with canned CloudWatch metrics: moto serves none). Needs
# Rust (cargo), python3 and curl; installs moto into .venv-moto/.
#
#   scripts/demo.sh
#
# It runs its own emulator (state in .moto/demo, separate from the tests') and stops it at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/env.sh

if [[ -t 1 ]]; then B=$'\e[1m' D=$'\e[2m' R=$'\e[0m'; else B='' D='' R=''; fi
step() { printf '\n%s== %s%s\n' "$B" "$*" "$R"; }
run() {
  printf '%s$ %s%s\n' "$D" "${*/#$PITAGORA/pitagora}" "$R"
  local rc=0
  "$@" || rc=$?
  printf '%s(exit %s)%s\n' "$D" "$rc" "$R"
  return 0
}

step "Build pitagora"
cargo build --locked --quiet
PITAGORA="$CARGO_TARGET_DIR/debug/pitagora"

step "Start the local AWS emulator (moto)"
export MOTO_STATE_DIR="$PWD/.moto/demo"
scripts/moto.sh install >&2
scripts/moto.sh stop >/dev/null 2>&1 || true
scripts/moto.sh start
trap 'scripts/moto.sh stop >/dev/null' EXIT
eval "$(scripts/moto.sh env)"
PY=.venv-moto/bin/python

step "The application teams' side: log groups /ecs/orders and /ecs/payments, three Lambda functions"
$PY scripts/demo/aws.py setup

step "Apply the full chain: plan, then each action as it completes"
run "$PITAGORA" apply -f examples/full-chain.yaml

step "Someone changes the stream's buffering, deletes a subscription filter and the bucket policy by hand"
$PY scripts/demo/aws.py tamper

step "pitagora drift: read-only; exit 2 names each changed field"
run "$PITAGORA" drift -f examples/full-chain.yaml

step "Apply again: only what drifted is written"
run "$PITAGORA" apply -f examples/full-chain.yaml

step "Drift again: in sync, exit 0"
run "$PITAGORA" drift -f examples/full-chain.yaml

step "An application logs a line; it travels through the subscription filter and Firehose into S3"
$PY scripts/demo/aws.py send

# moto does not serve CloudWatch's metrics protocol, so the loss signals' GetMetricData is sent to
# a stand-in with canned answers (AWS_ENDPOINT_URL_CLOUDWATCH, for pitagora only); it says so
# each time it answers. The emulator runs no Lambda code either: the demo plays the transform's
# part (raw/ → processed/).
verify_with_canned_metrics() {
  local scenario=$1 url_file=.moto/demo/cloudwatch.url
  rm -f "$url_file"
  python3 scripts/demo/cloudwatch.py "$url_file" "$scenario" &
  local cloudwatch=$!
  for _ in $(seq 50); do [[ -s $url_file ]] && break; sleep 0.1; done
  [[ -s $url_file ]] || { echo "the canned CloudWatch did not start" >&2; exit 1; }
  $PY scripts/demo/aws.py transform &
  local transform=$!
  run env AWS_ENDPOINT_URL_CLOUDWATCH="$(<"$url_file")" "$PITAGORA" verify -f examples/full-chain.yaml
  wait "$transform" || true
  kill "$cloudwatch"
  wait "$cloudwatch" 2>/dev/null || true
}

step "pitagora verify while the metrics show loss (CloudWatch's answers canned: 7 delivery errors on /ecs/payments): exit 1 names them"
verify_with_canned_metrics delivery-errors

step "pitagora verify: a canary through the whole chain, each stage's latency, no loss signals (CloudWatch's answers canned: a healthy pipeline's) (exit 0)"
verify_with_canned_metrics healthy

step "Done (the emulator is stopped)"
