#!/usr/bin/env bash
# Debian packages the operating tests use (issue 14), installed once per machine:
#   promtool  (package prometheus)  checks and unit-tests the alerting rules (manifests/monitoring/)
#   lua5.4                          runs the Argo CD health check (manifests/gitops/) on sample statuses
#   umoci, skopeo                   build the OCI image without a container daemon (scripts/image.sh)
#   crun                            runs the built image in tests/operating/image.rs
#
#   scripts/tools.sh install   apt-get install what is missing (idempotent; root or sudo)
set -euo pipefail

PACKAGES=(prometheus lua5.4 umoci skopeo crun)

info() { printf 'tools: %s\n' "$*" >&2; }
die() { info "$*"; exit 1; }

. "$(dirname "${BASH_SOURCE[0]}")/apt.sh"

install() {
	apt_install "${PACKAGES[@]}"
	((${#APT_INSTALLED[@]})) || info "${PACKAGES[*]} already installed"
}

case "${1:-}" in
install) install ;;
*) die "usage: scripts/tools.sh install" ;;
esac
