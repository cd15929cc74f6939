#!/usr/bin/env bash
# Run a command against the local Kubernetes API server:
#
#   scripts/with-kube.sh CMD [ARGS...]
#
# Starts etcd and kube-apiserver with scripts/kube.sh (reusing a running, ready pair; the first
# run on a machine builds kube-apiserver, 5-10 min), exports KUBECONFIG (see `scripts/kube.sh env`),
# runs CMD and exits with its exit code. The server is stopped afterwards only if this script
# started it.
set -euo pipefail

KUBE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/kube.sh"

if (($# == 0)); then
	echo "usage: scripts/with-kube.sh CMD [ARGS...]" >&2
	exit 2
fi

STARTED=0
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	local rc=$?
	if ((STARTED)); then
		"$KUBE" stop >&2 || echo "with-kube.sh: could not stop the server; run scripts/kube.sh stop" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start's one-line result says whether it started a server or reused one. It goes to stderr, so
# that CMD's stdout stays its own.
line=$("$KUBE" start)
echo "$line" >&2
[[ $line == "kube: started "* ]] && STARTED=1

eval "$("$KUBE" env)"

rc=0
"$@" || rc=$?
exit "$rc"
