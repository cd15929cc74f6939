#!/usr/bin/env bash
# Run a command against the local AWS emulator:
#
#   scripts/with-moto.sh CMD [ARGS...]
#
# Starts moto with scripts/moto.sh (reusing a running, healthy server), exports the endpoint,
# dummy credentials and region (see `scripts/moto.sh env`), runs CMD and exits with its exit
# code. The server is stopped afterwards only if this script started it.
set -euo pipefail

MOTO="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/moto.sh"

if (($# == 0)); then
	echo "usage: scripts/with-moto.sh CMD [ARGS...]" >&2
	exit 2
fi

STARTED=0
# shellcheck disable=SC2317 # reached through the trap
cleanup() {
	local rc=$?
	if ((STARTED)); then
		"$MOTO" stop >&2 || echo "with-moto.sh: could not stop moto; run scripts/moto.sh stop" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# start's one-line result says whether it started a server or reused one. It goes to stderr, so
# that CMD's stdout stays its own.
line=$("$MOTO" start)
echo "$line" >&2
[[ $line == "moto: started "* ]] && STARTED=1

eval "$("$MOTO" env)"

rc=0
"$@" || rc=$?
exit "$rc"
