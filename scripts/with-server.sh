#!/usr/bin/env bash
# Run a command with one of the project's local servers:
#
#   scripts/with-server.sh moto|kube CMD [ARGS...]
#
# Starts the server with scripts/moto.sh or scripts/kube.sh (reusing a running, healthy one),
# exports its environment (`scripts/<server>.sh env`: the AWS endpoint and dummy credentials,
# or KUBECONFIG), runs CMD and exits with its exit code. The server is stopped afterwards only
# if this script started it. scripts/with-moto.sh and scripts/with-kube.sh call this.
set -euo pipefail

if (($# < 2)) || [[ $1 != moto && $1 != kube ]]; then
	echo "usage: scripts/with-server.sh moto|kube CMD [ARGS...]" >&2
	exit 2
fi
SERVER=$1
shift
MANAGER="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/$SERVER.sh"

STARTED=0
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	local rc=$?
	if ((STARTED)); then
		"$MANAGER" stop >&2 || echo "with-server.sh: could not stop $SERVER; run scripts/$SERVER.sh stop" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start's one-line result says whether it started a server or reused one. It goes to stderr, so
# that CMD's stdout stays its own.
line=$("$MANAGER" start)
echo "$line" >&2
[[ $line == "$SERVER: started "* ]] && STARTED=1

eval "$("$MANAGER" env)"

rc=0
"$@" || rc=$?
exit "$rc"
