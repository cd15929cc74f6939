#!/usr/bin/env bash
# The project's manager of a local Kubernetes API server for the end-to-end tests: kube-apiserver
# v1.20.2 built from Debian bookworm's `kubernetes` source package (Debian ships only kubectl from
# it) and Debian's etcd, both on 127.0.0.1. No container engine, no kubelet, no controllers:
# an API server with CRDs, RBAC, watches, server-side apply, status subresources.
#
#   scripts/kube.sh install   build kube-apiserver once per machine into
#                             $PITAGORA_CACHE/kube-apiserver-v1.20.2 (5-10 min on 2 cores; apt
#                             installs what is missing); nothing to do when it is there and runs
#   scripts/kube.sh start     start etcd and kube-apiserver on free loopback ports, or reuse the
#                             healthy pair recorded in .kube-local/; wait until /readyz says ok
#   scripts/kube.sh stop      stop both (TERM, then KILL); idempotent
#   scripts/kube.sh status    print the server URL and exit 0 if it is running and ready, else exit 1
#   scripts/kube.sh env       print the export line: eval "$(scripts/kube.sh env)"
#
# State (git-ignored), in .kube-local/ or $KUBE_STATE_DIR (another directory runs another server):
#   kubeconfig                admin client certificate (O=system:masters; context pitagora-local)
#                             and a static-token user system:serviceaccount:pitagora-system:pitagora
#                             without any RBAC grant (context pitagora-local-sa)
#   pki/                      CA, serving and client certificates, service-account keys, token file
#                             (made once with openssl, kept across restarts)
#   etcd.log, apiserver.log   the servers' output; etcd-data/ (wiped at each start: a fresh cluster)
#   *.pid, *.port             the running pair
# Limits of this server: no CEL validation rules, no /openapi/v3, no streaming lists, no garbage
# collection or namespace deletion and empty aggregated ClusterRoles (view, edit, admin: no
# controller-manager), no pods; a new CRD shows in `kubectl explain` ~2 s after it is Established.
# Loopback use only (old code with known CVEs).
#
# The build is Debian's source with its patches plus two fixes for building Kubernetes 1.20 with
# Debian's Go 1.19 (upstream used Go 1.15): reflect2 1.0.2 (else the server crashes on the first
# custom-resource write) and kube-openapi#230 (else "" is rejected as null in custom resources).
# Building needs Debian bookworm's apt (root or sudo for apt-get install) and its mirror; running
# needs etcd, openssl, curl and python3 (free ports). Progress goes to stderr; each command's
# result goes to stdout as one short line.
set -euo pipefail

K8S_VERSION=v1.20.2
K8S_SRC_DIR=kubernetes-1.20.2 # the top directory of Debian's orig tarball
DEB_SRC_PACKAGE=kubernetes    # bookworm: 1.20.5+really1.20.2-1.1+deb12u1
BUILD_PACKAGES=(golang-go golang-github-modern-go-reflect2-dev make rsync jq)
REFLECT2_SRC=/usr/share/gocode/src/github.com/modern-go/reflect2
# What the cached binary was built with; a binary without this stamp (next to it) is rebuilt.
# 2: Debian's reflect2 1.0.2, and kube-openapi's zero-value check removed (Go >= 1.16).
BUILD_RECIPE=2
BUILD_MIN_FREE_MB=3000 # scratch: ~1.9 GB (source tree, Go build cache, binary) plus room

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${KUBE_STATE_DIR:-$ROOT/.kube-local}"
[[ $STATE == /* ]] || STATE="$PWD/$STATE"
# shellcheck source=scripts/env.sh
. "$ROOT/scripts/env.sh" # PITAGORA_CACHE: one build per machine, outside the clone
BIN="$PITAGORA_CACHE/kube-apiserver-$K8S_VERSION"
BUILD_LOG="$PITAGORA_CACHE/kube-apiserver-$K8S_VERSION.build.log"
BUILD_STAMP="$PITAGORA_CACHE/kube-apiserver-$K8S_VERSION.recipe"
PKI="$STATE/pki"
KUBECONFIG_FILE="$STATE/kubeconfig"
PYTHON="${PYTHON:-python3}"
HOST=127.0.0.1
SA_NAMESPACE=pitagora-system # the static-token user is system:serviceaccount:$SA_NAMESPACE:$SA_NAME
SA_NAME=pitagora
ETCD_READY_TIMEOUT_MS=30000 # GET /health must say true within this
READY_TIMEOUT_MS=120000     # GET /readyz must say ok within this (4-6 s usually)
STOP_TIMEOUT_MS=15000       # after TERM, before KILL
LOCK_TIMEOUT_MS=1800000     # another kube.sh building or starting

cd "$ROOT"

# Never send loopback requests through a proxy that the environment may configure.
CURL=(curl -sS --noproxy '*' --connect-timeout 2)

info() { printf 'kube.sh: %s\n' "$*" >&2; }
die() {
	printf 'kube.sh: error: %s\n' "$*" >&2
	exit 1
}

APT_WHY="the build needs Debian bookworm"
. "$ROOT/scripts/apt.sh"

usage() {
	cat <<EOF
usage: scripts/kube.sh COMMAND

  install   build kube-apiserver $K8S_VERSION once per machine (from Debian's kubernetes source
            package) into ${BIN/#"$HOME"/\~}; apt-get installs what is missing
  start     start etcd and kube-apiserver on $HOST (free ports), or reuse the healthy pair
            recorded in ${STATE#"$ROOT"/}/; installs first if needed
  stop      stop the recorded pair
  status    print the server URL and exit 0 if it is running and ready, else exit 1
  env       print the export line for the running server: eval "\$(scripts/kube.sh env)"
EOF
}

need() { command -v "$1" >/dev/null 2>&1 || die "$1 is required but not found on PATH"; }

# Milliseconds since the epoch (bash 5's EPOCHREALTIME; whole seconds on older shells).
now_ms() {
	if [[ -n ${EPOCHREALTIME:-} ]]; then
		local t=${EPOCHREALTIME/[.,]/}
		echo $((t / 1000))
	else
		echo $(($(date +%s) * 1000))
	fi
}
fmt_ms() {
	if (($1 < 60000)); then
		printf '%d.%02d s' $(($1 / 1000)) $(($1 % 1000 / 10))
	else
		printf '%d min %02d s' $(($1 / 60000)) $(($1 % 60000 / 1000))
	fi
}

rel() { printf '%s' "${1#"$ROOT"/}"; }

log_tail() {
	if [[ -s $1 ]]; then
		printf -- '--- last lines of %s ---\n' "$(rel "$1")" >&2
		tail -n "${2:-25}" "$1" >&2
		printf -- '---\n' >&2
	fi
}

# --- locks: mkdir is atomic; a dead holder's lock is taken over -------------------------------
# The state lock serialises start/stop of one state directory; the build lock (in the cache)
# serialises installs on the machine, whichever clone runs them. Always state first, then build.
HELD_LOCKS=()
lock() {
	local dir=$1 deadline holder said=0
	mkdir -p "$(dirname "$dir")"
	deadline=$(($(now_ms) + LOCK_TIMEOUT_MS))
	until mkdir "$dir" 2>/dev/null; do
		holder=$(cat "$dir/pid" 2>/dev/null || true)
		if [[ $holder =~ ^[0-9]+$ ]] && ! kill -0 "$holder" 2>/dev/null; then
			rm -rf "$dir" # its holder is gone
			continue
		fi
		if (($(now_ms) > deadline)); then
			die "$dir is held by pid ${holder:-?}; if no scripts/kube.sh is running, remove it"
		fi
		if ((said == 0)); then
			info "waiting for another scripts/kube.sh (pid ${holder:-?}) holding $(rel "$dir")"
			said=1
		fi
		sleep 0.2
	done
	echo $$ >"$dir/pid"
	HELD_LOCKS+=("$dir")
}

# --- processes ---------------------------------------------------------------------------------
# A live process whose command line contains $2 (a reused PID or a zombie does not).
is_proc() {
	local pid=$1 cmd=''
	[[ -n $pid ]] && kill -0 "$pid" 2>/dev/null || return 1
	if [[ -r /proc/$pid/cmdline ]]; then
		cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
	elif command -v ps >/dev/null 2>&1; then
		cmd=$(ps -o args= -p "$pid" 2>/dev/null || true)
	else
		return 0 # no way to tell: trust kill -0
	fi
	[[ $cmd == *"$2"* ]]
}
# What identifies each of our processes in its command line.
# Whether our own child `pid` still runs (not exited, not a zombie). Its pid cannot be reused
# before we wait for it, so no command-line check: that one also fails in the instant before
# nohup execs the server (seen on a loaded machine), and waiting then blocks on a live server.
child_running() {
	local state=''
	kill -0 "$1" 2>/dev/null || return 1
	[[ -r /proc/$1/stat ]] && state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)
	[[ $state != Z ]]
}

etcd_mark() { printf '%s' "--data-dir=$STATE/etcd-data"; }
api_mark() { printf '%s' "--tls-cert-file=$PKI/server.crt"; }

# TERM, poll until gone, then KILL. Returns 1 if the process outlives KILL too.
kill_proc() {
	local pid=$1 mark=$2 name=$3 deadline
	is_proc "$pid" "$mark" || return 0
	kill -TERM "$pid" 2>/dev/null || true
	deadline=$(($(now_ms) + STOP_TIMEOUT_MS))
	while is_proc "$pid" "$mark"; do
		if (($(now_ms) > deadline)); then
			info "$name (pid $pid) ignored TERM for $(fmt_ms "$STOP_TIMEOUT_MS"); sending KILL"
			kill -KILL "$pid" 2>/dev/null || true
			deadline=$(($(now_ms) + 3000))
			while is_proc "$pid" "$mark"; do
				(($(now_ms) > deadline)) && return 1
				sleep 0.1
			done
			return 0
		fi
		sleep 0.1
	done
}

# Sets API_PID, API_PORT, ETCD_PID, ETCD_PORT from the state directory (empty when malformed).
get() {
	local v
	v=$(cat "$STATE/$1" 2>/dev/null || true)
	[[ $v =~ ^[0-9]+$ ]] && printf '%s' "$v"
	return 0
}
read_state() {
	API_PID=$(get apiserver.pid)
	API_PORT=$(get apiserver.port)
	ETCD_PID=$(get etcd.pid)
	ETCD_PORT=$(get etcd.port)
}
put() { printf '%s\n' "$2" >"$STATE/$1.tmp" && mv -f "$STATE/$1.tmp" "$STATE/$1"; }
clear_state() { rm -f "$STATE"/{apiserver,etcd}.{pid,port}; }

ready() {
	local body
	body=$("${CURL[@]}" --max-time 3 --cacert "$PKI/ca.crt" --cert "$PKI/admin.crt" --key "$PKI/admin.key" \
		"https://$HOST:$1/readyz" 2>/dev/null) || return 1
	[[ $body == ok ]]
}
etcd_healthy() {
	local body
	body=$("${CURL[@]}" --max-time 2 "http://$HOST:$1/health" 2>/dev/null) || return 1
	[[ $body == *'"health":"true"'* ]]
}

# True when the recorded pair is alive and the API server is ready; sets the read_state variables.
running() {
	read_state
	[[ -n $API_PID && -n $API_PORT && -n $ETCD_PID ]] &&
		is_proc "$ETCD_PID" "$(etcd_mark)" && is_proc "$API_PID" "$(api_mark)" && ready "$API_PORT"
}

# Stops whatever of the recorded pair is alive (API server first). Returns 1 if one survives KILL.
stop_pair() {
	local rc=0
	read_state
	kill_proc "$API_PID" "$(api_mark)" kube-apiserver || rc=1
	kill_proc "$ETCD_PID" "$(etcd_mark)" etcd || rc=1
	((rc == 0)) || return 1
	clear_state
	rm -rf "$STATE/etcd-data"
}

# --- cleanup on exit --------------------------------------------------------------------------
LAUNCHED=0     # 1 while a start that launched processes has not handed them over
BUILD_SCRATCH= # the build's scratch directory, removed whatever happens
on_exit() {
	local rc=$? l
	if ((LAUNCHED)); then # start failed or was interrupted: leave nothing behind
		stop_pair || true
	fi
	if [[ -n $BUILD_SCRATCH && -d $BUILD_SCRATCH ]]; then
		chmod -R u+w "$BUILD_SCRATCH" 2>/dev/null || true
		rm -rf "$BUILD_SCRATCH"
	fi
	for l in "${HELD_LOCKS[@]}"; do rm -rf "$l"; done
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# --- install -----------------------------------------------------------------------------------
binary_ok() {
	[[ -x $BIN && $(cat "$BUILD_STAMP" 2>/dev/null) == "$BUILD_RECIPE" ]] || return 1
	[[ $("$BIN" --version 2>/dev/null) == "Kubernetes $K8S_VERSION" ]]
}

# Installs the packages as scripts/apt.sh does; Debian's etcd-server starts a service of its own.
apt_install_noting_etcd() {
	apt_install "$@"
	((${#APT_INSTALLED[@]})) || return 0
	if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet etcd 2>/dev/null; then
		info "note: Debian's etcd-server also started the system service etcd (port 2379); this script does not use it (systemctl disable --now etcd stops it)"
	fi
}

# Packages the servers need at run time (commands, not Debian packages: any etcd will do).
runtime_packages() {
	command -v etcd >/dev/null 2>&1 || echo etcd-server
	command -v openssl >/dev/null 2>&1 || echo openssl
	command -v curl >/dev/null 2>&1 || echo curl
	return 0
}

# The Debian apt sources of this machine turned into deb-src entries (deb822), on stdout.
deb_src_sources() {
	local f=/etc/apt/sources.list.d/debian.sources
	if [[ -r $f ]]; then
		awk 'BEGIN { RS = ""; ORS = "\n\n" }
		{
			n = split($0, l, "\n"); out = ""; deb = 0; off = 0
			for (i = 1; i <= n; i++) {
				if (l[i] ~ /^Types:/) { if (l[i] ~ /[ \t]deb([ \t]|$)/) deb = 1; l[i] = "Types: deb-src" }
				if (l[i] ~ /^Enabled:[ \t]*[Nn][Oo]/) off = 1
				out = out l[i] (i < n ? "\n" : "")
			}
			if (deb && !off) print out
		}' "$f"
	elif [[ -r /etc/apt/sources.list ]]; then # the one-line format of older installations
		sed -n 's/^[[:space:]]*deb\([[:space:]]\)/deb-src\1/p' /etc/apt/sources.list
	fi
}

# Downloads Debian's kubernetes source package into $1/dl through a private apt state: a temporary
# deb-src entry for this machine's Debian mirror and private package lists, so neither
# /etc/apt nor /var/lib/apt/lists change (nothing to restore, no second `apt-get update`).
fetch_source() {
	local s=$1 apt="$1/apt" ext=list
	mkdir -p "$apt/sources.list.d" "$apt/lists/partial" "$s/dl"
	[[ -r /etc/apt/sources.list.d/debian.sources ]] && ext=sources
	deb_src_sources >"$apt/sources.list.d/pitagora-deb-src.$ext"
	[[ -s $apt/sources.list.d/pitagora-deb-src.$ext ]] ||
		die "found no Debian apt source (/etc/apt/sources.list.d/debian.sources) to copy as deb-src"
	if ((EUID == 0)) && getent passwd _apt >/dev/null 2>&1; then
		chown _apt "$s/dl" "$apt/lists/partial" # apt downloads as _apt when it can
	fi
	local opts=(-q -o "Dir::Etc::SourceList=/dev/null" -o "Dir::Etc::SourceParts=$apt/sources.list.d"
		-o "Dir::State::Lists=$apt/lists" -o "Dir::Cache::pkgcache=" -o "Dir::Cache::srcpkgcache=")
	info "fetching Debian's source index (temporary deb-src entry, private lists in the scratch directory)"
	apt-get "${opts[@]}" update >&2 || die "apt-get update of the temporary deb-src entry failed"
	info "downloading the source package $DEB_SRC_PACKAGE"
	(cd "$s/dl" && apt-get "${opts[@]}" source --download-only "$DEB_SRC_PACKAGE" >&2) ||
		die "apt-get source --download-only $DEB_SRC_PACKAGE failed (needs Debian bookworm's mirror)"
}

# Unpacks the source package of $1/dl into $1/src, applies debian/patches/series and swaps the
# vendored reflect2; prints the tree's path.
prepare_tree() {
	local s=$1 orig deb tree p opts level
	shopt -s nullglob
	local origs=("$s"/dl/*.orig.tar.*) debs=("$s"/dl/*.debian.tar.*) dscs=("$s"/dl/*.dsc)
	shopt -u nullglob
	((${#origs[@]} == 1 && ${#debs[@]} == 1)) || die "unexpected files in the source package: $(ls "$s/dl")"
	orig=${origs[0]} deb=${debs[0]}
	DEB_VERSION=$(sed -n 's/^Version: //p' "${dscs[0]:-/dev/null}" | head -n 1)
	mkdir -p "$s/src"
	info "unpacking $(basename "$orig")"
	tar -xf "$orig" -C "$s/src"
	tree="$s/src/$K8S_SRC_DIR"
	[[ -d $tree ]] || die "Debian's $DEB_SRC_PACKAGE source (${DEB_VERSION:-?}) is not Kubernetes $K8S_VERSION: no $K8S_SRC_DIR/ in $(basename "$orig")"
	tar -xf "$deb" -C "$tree"
	if [[ -f $tree/debian/patches/series ]]; then
		while read -r p opts; do
			[[ -z $p || $p == \#* ]] && continue
			level=1
			[[ ${opts:-} =~ -p([0-9]+) ]] && level=${BASH_REMATCH[1]}
			info "applying debian/patches/$p"
			patch -d "$tree" -p"$level" --batch --forward --quiet <"$tree/debian/patches/$p" >&2 ||
				die "debian/patches/$p does not apply"
		done <"$tree/debian/patches/series"
	fi
	# reflect2 1.0.1 (vendored) walks Go maps with the pre-1.18 iterator layout: the server dies
	# with "fatal error: fault" in UnsafeMapType.UnsafeIterate on the first custom-resource write.
	local v="$tree/vendor/github.com/modern-go/reflect2" f
	[[ -d $v && -f $REFLECT2_SRC/reflect2.go ]] || die "missing $v or $REFLECT2_SRC (golang-github-modern-go-reflect2-dev)"
	info "replacing the vendored modern-go/reflect2 with Debian's $(dpkg-query -W -f='${Version}' golang-github-modern-go-reflect2-dev 2>/dev/null || echo '?')"
	rm -f "$v"/*.go "$v"/*.s
	for f in "$REFLECT2_SRC"/*.go "$REFLECT2_SRC"/*.s; do
		if [[ -f $f && $f != *_test.go ]]; then cp "$f" "$v/"; fi
	done
	# Since Go 1.16, reflect.Zero shares one zero value, so kube-openapi's typeValidator takes ""
	# for null: every custom resource with an empty string (and every CRD with `default: ""`) is
	# rejected with 'must be of type string: "null"'. Upstream fix: kube-openapi#230 (for
	# kubernetes#99804, in 1.21; 1.20 was built with Go 1.15): test only data == nil.
	local tv="$tree/vendor/k8s.io/kube-openapi/pkg/validation/validate/type.go"
	local zero='if data == nil || reflect.DeepEqual(reflect.Zero(reflect.TypeOf(data)), reflect.ValueOf(data)) {'
	grep -qF "$zero" "$tv" 2>/dev/null || die "$tv does not hold the zero-value check to remove"
	info "removing kube-openapi's zero-value check (kube-openapi#230: \"\" is not null)"
	sed -i 's/if data == nil || reflect\.DeepEqual(reflect\.Zero(reflect\.TypeOf(data)), reflect\.ValueOf(data)) {/if data == nil {/' "$tv"
	! grep -qF "$zero" "$tv" || die "could not patch $tv"
	TREE=$tree
}

build() {
	local t0 t_make s free out size
	t0=$(now_ms)
	# shellcheck disable=SC2046 # one package a word
	apt_install_noting_etcd "${BUILD_PACKAGES[@]}" patch xz-utils $(runtime_packages)
	s=$(mktemp -d "${TMPDIR:-/tmp}/pitagora-kube-build.XXXXXX")
	BUILD_SCRATCH=$s
	chmod 755 "$s"
	free=$(df -Pm "$s" | awk 'NR == 2 { print $4 }')
	if [[ $free =~ ^[0-9]+$ ]] && ((free < BUILD_MIN_FREE_MB)); then
		die "the build needs about $BUILD_MIN_FREE_MB MB in ${TMPDIR:-/tmp} (TMPDIR=... picks another place); $free MB free"
	fi
	fetch_source "$s"
	prepare_tree "$s"
	# Kubernetes 1.20 builds in GOPATH mode through its own make (hack/lib/init.sh sets
	# GO111MODULE=off), which also runs the code generators whose output is not in the tarball.
	# Debian's Go first on PATH, whatever else is installed; HOME/GOPATH/GOCACHE in the scratch.
	info "building kube-apiserver $K8S_VERSION with $(PATH="/usr/lib/go/bin:$PATH" go version) (make WHAT=cmd/kube-apiserver; 5-10 min on 2 cores; log: ${BUILD_LOG/#"$HOME"/\~})"
	mkdir -p "$s/home" "$s/gopath" "$s/gocache"
	t_make=$(now_ms)
	if ! (cd "$TREE" && env -u GOROOT -u GOFLAGS -u GOOS -u GOARCH -u GO111MODULE \
		HOME="$s/home" GOPATH="$s/gopath" GOCACHE="$s/gocache" PATH="/usr/lib/go/bin:$PATH" \
		CGO_ENABLED=0 GOPROXY=off GOTOOLCHAIN=local \
		make WHAT=cmd/kube-apiserver GOLDFLAGS='-s -w') 2>&1 | tee "$BUILD_LOG" >&2; then
		die "make WHAT=cmd/kube-apiserver failed (its output is above and in $BUILD_LOG)"
	fi
	t_make=$(($(now_ms) - t_make))
	out="$TREE/_output/bin/kube-apiserver"
	[[ -x $out ]] || die "make succeeded but left no $out"
	cp "$out" "$BIN.tmp.$$"
	chmod 755 "$BIN.tmp.$$"
	[[ $("$BIN.tmp.$$" --version 2>&1) == "Kubernetes $K8S_VERSION" ]] || {
		rm -f "$BIN.tmp.$$"
		die "the built binary does not report Kubernetes $K8S_VERSION"
	}
	mv -f "$BIN.tmp.$$" "$BIN"
	echo "$BUILD_RECIPE" >"$BUILD_STAMP"
	size=$(du -m "$BIN" | cut -f 1)
	info "removing the scratch directory $s ($(du -sm "$s" 2>/dev/null | cut -f 1) MB)"
	chmod -R u+w "$s" 2>/dev/null || true
	rm -rf "$s"
	BUILD_SCRATCH=
	echo "kube: built kube-apiserver $K8S_VERSION (Debian $DEB_SRC_PACKAGE ${DEB_VERSION:-?}) into ${BIN/#"$HOME"/\~} ($size MB) in $(fmt_ms $(($(now_ms) - t0))) (make $(fmt_ms "$t_make"))"
}

do_install() {
	lock "$PITAGORA_CACHE/kube-apiserver.lock"
	if binary_ok; then
		local pkgs
		pkgs=$(runtime_packages)
		# shellcheck disable=SC2086 # one package a word
		[[ -z $pkgs ]] || apt_install_noting_etcd $pkgs
		echo "kube: kube-apiserver $K8S_VERSION already built at ${BIN/#"$HOME"/\~}"
		return 0
	fi
	if [[ -e $BIN ]]; then
		info "removing ${BIN/#"$HOME"/\~} (it does not run as kube-apiserver $K8S_VERSION, or was built by an older recipe than $BUILD_RECIPE)"
		rm -f "$BIN" "$BUILD_STAMP"
	fi
	build
}

# --- start -------------------------------------------------------------------------------------
# Certificates and keys, made once per state directory (a month before expiry, made anew).
make_pki() {
	local f ok=1
	for f in ca.crt ca.key server.crt server.key admin.crt admin.key sa.key sa.pub tokens.csv sa.token; do
		[[ -s $PKI/$f ]] || ok=0
	done
	if ((ok)) && openssl x509 -checkend 2592000 -noout -in "$PKI/server.crt" >/dev/null 2>&1 &&
		openssl x509 -checkend 2592000 -noout -in "$PKI/admin.crt" >/dev/null 2>&1; then
		return 0
	fi
	info "making a CA, serving and client certificates and service-account keys in $(rel "$PKI")/"
	local d="$PKI.tmp.$$"
	rm -rf "$d"
	mkdir -p "$STATE"
	mkdir -m 700 "$d"
	# errexit holds inside the subshell only if its status is not tested: test it afterwards.
	local rc=0
	set +e
	(
		set -e
		umask 077
		cd "$d"
		ossl() { # quiet unless it fails
			openssl "$@" 2>openssl.err || {
				cat openssl.err >&2
				return 1
			}
		}
		key() { ossl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1"; }
		cat >req.cnf <<'EOF'
[req]
distinguished_name = dn
prompt = no
[dn]
CN = pitagora-local-ca
[ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign, digitalSignature
subjectKeyIdentifier = hash
[server]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
subjectAltName = IP:127.0.0.1, IP:10.0.0.1, DNS:localhost, DNS:kubernetes, DNS:kubernetes.default, DNS:kubernetes.default.svc, DNS:kubernetes.default.svc.cluster.local
[client]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = clientAuth
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
		key ca.key
		ossl req -x509 -new -config req.cnf -extensions ca -key ca.key -sha256 -days 3650 -out ca.crt
		leaf() { # name subject extensions
			key "$1.key"
			ossl req -new -config req.cnf -key "$1.key" -subj "$2" -out "$1.csr"
			ossl x509 -req -in "$1.csr" -CA ca.crt -CAkey ca.key -set_serial "0x$(openssl rand -hex 16)" \
				-sha256 -days 3650 -extfile req.cnf -extensions "$3" -out "$1.crt"
			rm -f "$1.csr"
		}
		leaf server /CN=kube-apiserver server
		leaf admin "/O=system:masters/CN=admin" client
		key sa.key
		ossl pkey -in sa.key -pubout -out sa.pub
		# token,user,uid,"groups": a static-token user shaped like a ServiceAccount (no RBAC grant)
		openssl rand -hex 24 >sa.token
		printf '%s,system:serviceaccount:%s:%s,%s,"system:serviceaccounts,system:serviceaccounts:%s"\n' \
			"$(cat sa.token)" "$SA_NAMESPACE" "$SA_NAME" pitagora-local-sa "$SA_NAMESPACE" >tokens.csv
		rm -f req.cnf openssl.err
	)
	rc=$?
	set -e
	if ((rc != 0)); then
		rm -rf "$d"
		die "openssl could not make the certificates"
	fi
	rm -rf "$PKI"
	mv "$d" "$PKI"
}

b64() { base64 -w0 <"$1"; }
write_kubeconfig() {
	local port=$1
	(umask 077 && : >"$KUBECONFIG_FILE.tmp")
	cat >"$KUBECONFIG_FILE.tmp" <<EOF
# Made by scripts/kube.sh start for the local kube-apiserver $K8S_VERSION; rewritten at each start.
apiVersion: v1
kind: Config
clusters:
- name: pitagora-local
  cluster:
    server: https://$HOST:$port
    certificate-authority-data: $(b64 "$PKI/ca.crt")
users:
- name: pitagora-admin
  user:
    client-certificate-data: $(b64 "$PKI/admin.crt")
    client-key-data: $(b64 "$PKI/admin.key")
- name: pitagora-sa
  user:
    token: $(cat "$PKI/sa.token")
contexts:
- name: pitagora-local
  context:
    cluster: pitagora-local
    user: pitagora-admin
- name: pitagora-local-sa
  context:
    cluster: pitagora-local
    user: pitagora-sa
current-context: pitagora-local
EOF
	mv -f "$KUBECONFIG_FILE.tmp" "$KUBECONFIG_FILE"
}

# Three distinct free loopback ports (held together while chosen, so they differ).
free_ports() {
	"$PYTHON" -c 'import socket
ss = [socket.socket() for _ in range(3)]
for s in ss:
    s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in ss))
for s in ss:
    s.close()'
}

port_clash() { grep -qiE 'address already in use' "$1" 2>/dev/null; }

# Launches etcd then kube-apiserver on the given ports and waits until /readyz says ok.
# Returns 2 if a port was taken meanwhile (everything launched is stopped again).
launch() {
	local cport=$1 pport=$2 aport=$3 deadline pid
	rm -rf "$STATE/etcd-data"
	: >"$STATE/etcd.log"
	: >"$STATE/apiserver.log"
	LAUNCHED=1
	nohup etcd --name pitagora-local "$(etcd_mark)" \
		--listen-client-urls "http://$HOST:$cport" --advertise-client-urls "http://$HOST:$cport" \
		--listen-peer-urls "http://$HOST:$pport" --initial-advertise-peer-urls "http://$HOST:$pport" \
		--initial-cluster "pitagora-local=http://$HOST:$pport" --initial-cluster-state new \
		--listen-metrics-urls '' --logger zap --log-level warn \
		</dev/null >>"$STATE/etcd.log" 2>&1 &
	pid=$!
	put etcd.pid "$pid"
	put etcd.port "$cport"
	deadline=$(($(now_ms) + ETCD_READY_TIMEOUT_MS))
	until etcd_healthy "$cport"; do
		if ! child_running "$pid"; then
			wait "$pid" 2>/dev/null || true
			if port_clash "$STATE/etcd.log"; then
				stop_pair
				LAUNCHED=0
				return 2
			fi
			log_tail "$STATE/etcd.log"
			die "etcd (pid $pid) exited before it was healthy on port $cport"
		fi
		if (($(now_ms) > deadline)); then
			log_tail "$STATE/etcd.log"
			die "etcd (pid $pid) was not healthy on http://$HOST:$cport within $(fmt_ms "$ETCD_READY_TIMEOUT_MS")"
		fi
		sleep 0.1
	done
	nohup "$BIN" --bind-address="$HOST" --advertise-address="$HOST" --secure-port="$aport" --insecure-port=0 \
		--etcd-servers="http://$HOST:$cport" \
		--client-ca-file="$PKI/ca.crt" "$(api_mark)" --tls-private-key-file="$PKI/server.key" \
		--token-auth-file="$PKI/tokens.csv" --authorization-mode=RBAC \
		--service-account-issuer=https://kubernetes.default.svc.cluster.local \
		--service-account-key-file="$PKI/sa.pub" --service-account-signing-key-file="$PKI/sa.key" \
		--service-cluster-ip-range=10.0.0.0/24 --endpoint-reconciler-type=none \
		--disable-admission-plugins=ServiceAccount --profiling=false \
		</dev/null >>"$STATE/apiserver.log" 2>&1 &
	pid=$!
	put apiserver.pid "$pid"
	put apiserver.port "$aport"
	deadline=$(($(now_ms) + READY_TIMEOUT_MS))
	until ready "$aport"; do
		if ! child_running "$pid"; then
			wait "$pid" 2>/dev/null || true
			if port_clash "$STATE/apiserver.log"; then
				stop_pair
				LAUNCHED=0
				return 2
			fi
			log_tail "$STATE/apiserver.log"
			die "kube-apiserver (pid $pid) exited before it was ready on port $aport"
		fi
		if (($(now_ms) > deadline)); then
			log_tail "$STATE/apiserver.log"
			die "kube-apiserver (pid $pid) did not answer GET https://$HOST:$aport/readyz with ok within $(fmt_ms "$READY_TIMEOUT_MS")"
		fi
		sleep 0.2
	done
}

do_start() {
	local tries=0 t0 t rc ports
	need curl
	mkdir -p "$STATE"
	lock "$STATE/lock"
	if running; then
		echo "kube: reusing the server at https://$HOST:$API_PORT (pid $API_PID; etcd pid $ETCD_PID on port ${ETCD_PORT:-?})"
		return 0
	fi
	if is_proc "$API_PID" "$(api_mark)" || is_proc "$ETCD_PID" "$(etcd_mark)"; then
		info "the recorded server (pid ${API_PID:-?}, port ${API_PORT:-?}; etcd pid ${ETCD_PID:-?}) is not ready; stopping it"
	fi
	stop_pair || die "could not stop the recorded processes"
	do_install >&2
	need etcd
	need openssl
	need "$PYTHON"
	make_pki
	while :; do
		read -r -a ports < <(free_ports) || true
		((${#ports[@]} == 3)) || die "$PYTHON could not find free ports on $HOST"
		t0=$(now_ms)
		rc=0
		launch "${ports[@]}" || rc=$?
		((rc == 0)) && break
		tries=$((tries + 1))
		((tries < 3)) || die "free ports were taken three times before etcd and kube-apiserver could bind them"
		info "a port was taken meanwhile; trying others"
	done
	t=$(($(now_ms) - t0))
	write_kubeconfig "${ports[2]}"
	read_state
	echo "kube: started kube-apiserver $K8S_VERSION at https://$HOST:${ports[2]} (pid $API_PID; etcd pid $ETCD_PID on port ${ports[0]}; ready in $(fmt_ms "$t")); KUBECONFIG=$(rel "$KUBECONFIG_FILE")"
	LAUNCHED=0 # handed over: they outlive this script
}

# --- the other commands ------------------------------------------------------------------------
do_stop() {
	mkdir -p "$STATE"
	lock "$STATE/lock"
	read_state
	local api=0 etcd=0
	is_proc "$API_PID" "$(api_mark)" && api=1
	is_proc "$ETCD_PID" "$(etcd_mark)" && etcd=1
	if ((api == 0 && etcd == 0)); then
		local stale=''
		[[ -n $API_PID$ETCD_PID ]] && stale=" (removed the stale record)"
		clear_state
		rm -rf "$STATE/etcd-data"
		echo "kube: not running$stale"
		return 0
	fi
	stop_pair || die "a process survived KILL (kube-apiserver pid ${API_PID:-?}, etcd pid ${ETCD_PID:-?})"
	echo "kube: stopped the server on port ${API_PORT:-?} (pid ${API_PID:-?}; etcd pid ${ETCD_PID:-?})"
}

do_status() {
	need curl
	if running; then
		echo "https://$HOST:$API_PORT"
		return 0
	fi
	if is_proc "$API_PID" "$(api_mark)"; then
		info "kube-apiserver (pid $API_PID) is alive but https://$HOST:${API_PORT:-?}/readyz does not say ok"
	elif is_proc "$ETCD_PID" "$(etcd_mark)"; then
		info "etcd (pid $ETCD_PID) is alive but kube-apiserver is not"
	else
		info "not running"
	fi
	return 1
}

do_env() {
	need curl
	running || die "the local kube-apiserver is not running; start it with scripts/kube.sh start (or run a command under scripts/with-kube.sh)"
	printf 'export KUBECONFIG=%q\n' "$KUBECONFIG_FILE"
}

cmd=${1:-}
(($# > 0)) && shift
case $cmd in
install | start | stop | status | env) (($# == 0)) || die "$cmd takes no arguments" ;;
esac
case $cmd in
install) do_install ;;
start) do_start ;;
stop) do_stop ;;
status) do_status ;;
env) do_env ;;
-h | --help | help) usage ;;
'')
	usage >&2
	exit 2
	;;
*)
	usage >&2
	die "unknown command: $cmd"
	;;
esac
