#!/usr/bin/env bash
# Debian packages the operating tests use (issue 14), installed once per machine:
#   promtool  (package prometheus)  checks and unit-tests the alerting rules (manifests/monitoring/)
#   lua5.4                          runs the Argo CD health check (manifests/gitops/) on sample statuses
#   umoci, skopeo                   build the OCI image without a container daemon (scripts/image.sh)
#   crun                            runs the built image in tests/image.rs
#
#   scripts/tools.sh install   apt-get install what is missing (idempotent; root or sudo)
set -euo pipefail

PACKAGES=(prometheus lua5.4 umoci skopeo crun)

info() { printf 'tools: %s\n' "$*" >&2; }
die() { info "$*"; exit 1; }

as_root() {
	if [[ $(id -u) -eq 0 ]]; then "$@"; else
		command -v sudo >/dev/null 2>&1 || die "installing packages needs root; run as root or install sudo"
		sudo "$@"
	fi
}

installed() { [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]; }

install() {
	local missing=() p
	for p in "${PACKAGES[@]}"; do installed "$p" || missing+=("$p"); done
	if ((${#missing[@]} == 0)); then
		info "${PACKAGES[*]} already installed"
		return 0
	fi
	command -v apt-get >/dev/null 2>&1 || die "missing ${missing[*]}, and this is not a Debian system with apt-get"
	info "installing with apt-get: ${missing[*]}"
	local cmd=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}")
	if ! as_root "${cmd[@]}" >&2; then
		info "apt-get install failed; updating the package lists and trying once more"
		as_root apt-get update -q >&2 || die "apt-get update failed"
		as_root "${cmd[@]}" >&2 || die "apt-get could not install ${missing[*]}"
	fi
}

case "${1:-}" in
install) install ;;
*) die "usage: scripts/tools.sh install" ;;
esac
