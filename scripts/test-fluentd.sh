#!/usr/bin/env bash
# The opt-in suite that runs pitagora's rendered fluentd routes in a real fluentd (issue 26;
# docs/fluentd-suite.md):
#
#   PITAGORA_FLUENTD=/path/to/fluentd scripts/test-fluentd.sh [SUITE OPTIONS...]
#
# fluentd 1.16.5 (fluent-package 5 LTS) with fluent-plugin-cloudwatch-logs 0.15.0 is what it
# was written against. fluent-cat is taken from beside fluentd, or from PITAGORA_FLUENT_CAT.
# Options go to scripts/fluentd_suite.py (e.g. --only a,b  --events 100  --keep).
#
# Exit: 0 every check passed; 1 a check failed; 2 fluentd, fluent-cat or the build is missing
# or broken; 77 skipped (PITAGORA_FLUENTD unset: automake's "skipped", never a pass).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

skipped() {
	cat >&2 <<'EOF'
==============================================================================
SKIPPED: the real-fluentd suite did not run — set PITAGORA_FLUENTD=/path/to/fluentd
(fluentd 1.16.5 / fluent-package 5 LTS with fluent-plugin-cloudwatch-logs 0.15.0)
to run it: scripts/test-fluentd.sh. See docs/fluentd-suite.md.
This is not a pass: nothing was checked against a real fluentd.
==============================================================================
EOF
	exit 77
}

die() {
	printf 'test-fluentd.sh: error: %s\n' "$*" >&2
	exit 2
}

# The version of a gem as the gem command installed beside fluentd reports it (fluent-package's
# fluent-gem, td-agent's td-agent-gem, or a plain gem install's gem), or why it cannot tell.
gem_version() {
	local gem=$1 dir tool line
	dir=$(dirname "$FLUENTD")
	for tool in fluent-gem td-agent-gem gem; do
		if [[ -x $dir/$tool ]]; then
			line=$("$dir/$tool" list --exact "$gem" 2>/dev/null | grep "^$gem " || true)
			echo "${line:-$gem: not installed (by $dir/$tool)}"
			return
		fi
	done
	echo "$gem: cannot tell (no fluent-gem, td-agent-gem or gem beside $FLUENTD)"
}

[[ -n ${PITAGORA_FLUENTD:-} ]] || skipped
FLUENTD=$PITAGORA_FLUENTD
[[ -f $FLUENTD && -x $FLUENTD ]] || die "PITAGORA_FLUENTD=$FLUENTD is not an executable file"
FLUENT_CAT=${PITAGORA_FLUENT_CAT:-$(dirname "$FLUENTD")/fluent-cat}
[[ -f $FLUENT_CAT && -x $FLUENT_CAT ]] ||
	die "no fluent-cat at $FLUENT_CAT: set PITAGORA_FLUENT_CAT=/path/to/fluent-cat"

echo "test-fluentd.sh: fluentd: $("$FLUENTD" --version 2>&1 | head -n 1 || echo "cannot tell ($FLUENTD --version failed)")" >&2
echo "test-fluentd.sh: plugin: $(gem_version fluent-plugin-cloudwatch-logs)" >&2
echo "test-fluentd.sh: SDK: $(gem_version aws-sdk-core) (AWS_ENDPOINT_URL needs a release after July 2023)" >&2

cd "$ROOT"
# shellcheck source=scripts/env.sh
. scripts/env.sh
cargo build --bin pitagora >&2 || die "cargo build --bin pitagora failed"
# The suite's moto, boto3 and PyYAML: the project's moto venv (installed once per clone).
if ! "$ROOT/.venv-moto/bin/python" -c 'import boto3, moto, yaml' 2>/dev/null; then
	scripts/moto.sh install >&2 || die "scripts/moto.sh install failed (the suite needs its moto and boto3)"
fi

exec "$ROOT/.venv-moto/bin/python" "$ROOT/scripts/fluentd_suite.py" \
	--fluentd "$FLUENTD" --fluent-cat "$FLUENT_CAT" \
	--pitagora "$CARGO_TARGET_DIR/debug/pitagora" "$@"
