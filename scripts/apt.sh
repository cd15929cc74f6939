# Sourced by scripts/kube.sh and scripts/tools.sh: Debian packages installed when missing.
# The caller defines info and die (each prefixes its own name) and may set APT_WHY, a reason
# added to the error on a system without apt-get. apt_install leaves in APT_INSTALLED what it
# installed.

as_root() {
	if ((EUID == 0)); then
		"$@"
	else
		command -v sudo >/dev/null 2>&1 || die "installing packages needs root; run as root or install sudo"
		sudo "$@"
	fi
}

pkg_installed() { [[ $(dpkg-query -W -f='${db:Status-Abbrev}' "$1" 2>/dev/null) == ii* ]]; }

# apt_install PACKAGE...: installs those not installed yet; updates the lists once if that fails.
apt_install() {
	local p not_debian="and this is not a Debian system with apt-get${APT_WHY:+ ($APT_WHY)}"
	APT_INSTALLED=()
	command -v dpkg-query >/dev/null 2>&1 || die "missing $*, $not_debian"
	for p; do pkg_installed "$p" || APT_INSTALLED+=("$p"); done
	((${#APT_INSTALLED[@]})) || return 0
	command -v apt-get >/dev/null 2>&1 || die "missing ${APT_INSTALLED[*]}, $not_debian"
	info "installing with apt-get: ${APT_INSTALLED[*]}"
	local install=(env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${APT_INSTALLED[@]}")
	if ! as_root "${install[@]}" >&2; then
		info "apt-get install failed; updating the package lists and trying once more"
		as_root apt-get update -q >&2 || die "apt-get update failed"
		as_root "${install[@]}" >&2 || die "apt-get could not install ${APT_INSTALLED[*]}"
	fi
}
