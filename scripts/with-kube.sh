#!/usr/bin/env bash
# Run a command against the local Kubernetes API server: scripts/with-kube.sh CMD [ARGS...]
# Starts etcd and kube-apiserver if needed (the first run on a machine builds kube-apiserver,
# 5-10 min; stopping them afterwards only then) and exports KUBECONFIG; see
# scripts/with-server.sh.
if (($# == 0)); then
	echo "usage: scripts/with-kube.sh CMD [ARGS...]" >&2
	exit 2
fi
exec "$(dirname "${BASH_SOURCE[0]}")/with-server.sh" kube "$@"
