#!/usr/bin/env bash
# Run a command against the local AWS emulator (moto): scripts/with-moto.sh CMD [ARGS...]
# Starts it if needed (stopping it afterwards only then) and exports its endpoint, dummy
# credentials and region; see scripts/with-server.sh.
if (($# == 0)); then
	echo "usage: scripts/with-moto.sh CMD [ARGS...]" >&2
	exit 2
fi
exec "$(dirname "${BASH_SOURCE[0]}")/with-server.sh" moto "$@"
