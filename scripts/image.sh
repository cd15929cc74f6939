#!/usr/bin/env bash
# The controller's OCI image without a container daemon (issue 14): the same image the Dockerfile
# describes (one binary at /pitagora, user 65532, no shell), written as an OCI archive with
# umoci and GNU tar. Works offline: instead of pulling gcr.io/distroless/cc-debian12 it copies
# from this (Debian bookworm) machine exactly what the binary needs: the shared libraries `ldd`
# lists plus the dynamic loader, the CA bundle (the AWS SDK's rustls client reads the system
# trust roots), /etc/passwd and /etc/group with `nonroot` (65532), /tmp and /home/nonroot.
#
#   scripts/image.sh [--binary PATH] [--out FILE]
#     --binary PATH   package this binary (default: `cargo build --release --locked`, then
#                     $CARGO_TARGET_DIR/release/pitagora)
#     --out FILE      the OCI archive to write (default:
#                     $PITAGORA_CACHE/image/pitagora-<version>.oci.tar)
# Prints the archive's path, then its manifest digest, one per line on stdout; progress goes to
# stderr. The image inside is tagged <version> (Cargo.toml), which the Deployment runs as
# pitagora:<version>.
#
# Load or push it (skopeo, which scripts/tools.sh installs, converts without a daemon):
#   skopeo copy oci-archive:FILE docker-archive:/tmp/pitagora.tar:pitagora:0.1.0
#   docker load -i /tmp/pitagora.tar                      # or: kind load image-archive /tmp/pitagora.tar
#                                                         # or: minikube image load /tmp/pitagora.tar
#   podman load -i FILE                                   # podman reads the OCI archive directly
#   skopeo copy oci-archive:FILE docker://REGISTRY/pitagora:0.1.0     # push to a registry
#
# Reproducible: every timestamp is SOURCE_DATE_EPOCH (default: the commit time of HEAD), owners
# are numeric 0:0 (65532 for /home/nonroot), modes are fixed, entries sorted, no history dates
# but that one; the same binary and the same host files (libraries, CA bundle) give the same
# layer, manifest digest and archive bytes. Labels: org.opencontainers.image.revision (HEAD,
# or PITAGORA_REVISION), .version, .created, .source (PITAGORA_SOURCE, else the `origin`
# remote's URL when there is one). A tree with uncommitted changes is warned about: the image is
# then not reproducible from the commit.
#
# Needs umoci and skopeo (scripts/tools.sh install), GNU tar, ldd and git; not root (owners are
# set in the archive, not on disk).
set -euo pipefail
caller_dir=$PWD
cd "$(dirname "$0")/.."
# shellcheck source=scripts/env.sh
. scripts/env.sh

info() { printf 'image: %s\n' "$*" >&2; }
die() {
	info "$*"
	exit 1
}
usage() { die "usage: scripts/image.sh [--binary PATH] [--out FILE]"; }

binary="" out=""
while (($#)); do
	case "$1" in
	--binary) (($# >= 2)) || usage; binary=$2; shift 2 ;;
	--binary=*) binary=${1#*=}; shift ;;
	--out) (($# >= 2)) || usage; out=$2; shift 2 ;;
	--out=*) out=${1#*=}; shift ;;
	-h | --help) sed -n '2,/^set -euo/{/^set -euo/d;s/^# \{0,1\}//;p}' "$0" >&2; exit 0 ;;
	*) usage ;;
	esac
done

# Relative paths are the caller's, not the repository's.
[[ -z $binary || $binary == /* ]] || binary=$caller_dir/$binary
[[ -z $out || $out == /* ]] || out=$caller_dir/$out

for tool in umoci skopeo; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing: run scripts/tools.sh install"
done
for tool in tar ldd git sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool is missing"
done
tar --version 2>/dev/null | grep -q 'GNU tar' || die "GNU tar is needed (--sort, --pax-option)"

version=$(awk -F'"' '/^version *=/ { print $2; exit }' Cargo.toml)
[[ -n $version ]] || die "no version in Cargo.toml"
revision=${PITAGORA_REVISION:-$(git rev-parse HEAD 2>/dev/null)} ||
	die "not a git checkout: set PITAGORA_REVISION and SOURCE_DATE_EPOCH"
epoch=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct HEAD)}
[[ $epoch =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be seconds since the epoch, not '$epoch'"
created=$(date -u -d "@$epoch" +%Y-%m-%dT%H:%M:%SZ)
source_url=${PITAGORA_SOURCE:-$(git config --get remote.origin.url 2>/dev/null || true)}
if [[ -z ${PITAGORA_REVISION:-} ]] && [[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]]; then
	info "warning: the tree has uncommitted changes; the image is labelled $revision but is not built from it"
fi

case $(uname -m) in
x86_64) arch=amd64 ;;
aarch64) arch=arm64 ;;
*) die "unsupported machine $(uname -m)" ;;
esac

if [[ -z $binary ]]; then
	info "building the release binary (cargo build --release --locked)"
	cargo build --release --locked >&2
	binary=$CARGO_TARGET_DIR/release/pitagora
fi
[[ -f $binary && -x $binary ]] || die "no executable binary at $binary"
out=${out:-$PITAGORA_CACHE/image/pitagora-$version.oci.tar}
mkdir -p "$(dirname "$out")"

work=$(mktemp -d "${TMPDIR:-/tmp}/pitagora-image.XXXXXX")
trap 'rm -rf "$work"' EXIT
umask 022
root=$work/rootfs
mkdir -p "$root"

# The files of the one layer. Modes are set explicitly (not inherited from the host or umask).
stage_dir() { install -d -m "$1" "$root$2"; }
stage_file() { # mode, source, path in the image (the source's content, symlinks followed)
	install -d -m 0755 "$root$(dirname "$3")"
	install -m "$1" "$2" "$root$3"
}
stage_file 0755 "$binary" /pitagora

# Shared libraries: exactly what the dynamic loader resolves for this binary, at the paths it
# resolves them to (the loader's default directories, so no ld.so.cache is needed), and the
# loader itself at the binary's PT_INTERP path. A static binary needs none.
if libs=$(ldd "$binary" 2>&1); then
	while read -r lib; do
		[[ -n $lib ]] && stage_file 0755 "$lib" "$lib"
	done < <(awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' <<<"$libs")
	[[ -n $(find "$root" -name 'ld-linux*' -o -name 'ld-*.so*') ]] || die "ldd listed no dynamic loader: $libs"
elif grep -Eq 'not a dynamic executable|statically linked' <<<"$libs"; then
	info "static binary: no shared libraries"
else
	die "ldd $binary failed: $libs"
fi

ca=/etc/ssl/certs/ca-certificates.crt
[[ -s $ca ]] || die "no CA bundle at $ca (apt-get install ca-certificates)"
stage_file 0644 "$ca" "$ca"
printf '%s\n' 'root:x:0:0:root:/root:/sbin/nologin' \
	'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
	'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' >"$work/passwd"
printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' >"$work/group"
printf '%s\n' 'passwd: files' 'group: files' 'hosts: files dns' >"$work/nsswitch.conf"
stage_file 0644 "$work/passwd" /etc/passwd
stage_file 0644 "$work/group" /etc/group
stage_file 0644 "$work/nsswitch.conf" /etc/nsswitch.conf
stage_dir 1777 /tmp
stage_dir 0755 /home
stage_dir 0700 /home/nonroot

# The layer: sorted entries, one mtime, numeric owners, no atime/ctime/xattrs. Everything is
# root's except /home/nonroot, appended with its own owner.
tar_flags=(--format=posix --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime
	--sort=name --mtime="@$epoch" --numeric-owner --no-acls --no-xattrs --no-selinux)
mapfile -t top < <(cd "$root" && find . -mindepth 1 -maxdepth 1 -printf '%P\n' | LC_ALL=C sort)
tar -C "$root" "${tar_flags[@]}" --owner=0 --group=0 --exclude=home/nonroot -cf "$work/layer.tar" "${top[@]}"
tar -C "$root" "${tar_flags[@]}" --owner=65532 --group=65532 --no-recursion -rf "$work/layer.tar" home/nonroot

# The image: one layer, the config the Dockerfile's runtime stage has, created at the commit time.
layout=$work/layout
image=$layout:$version
umoci init --layout "$layout"
umoci new --image "$image"
umoci raw add-layer --image "$image" --history.created "$created" \
	--history.created_by "scripts/image.sh (rootfs: pitagora, its shared libraries, CA bundle, nonroot user)" \
	"$work/layer.tar"
labels=(--config.label "org.opencontainers.image.title=pitagora"
	--config.label "org.opencontainers.image.version=$version"
	--config.label "org.opencontainers.image.revision=$revision"
	--config.label "org.opencontainers.image.created=$created"
	--config.label "org.opencontainers.image.licenses=Apache-2.0")
[[ -n $source_url ]] && labels+=(--config.label "org.opencontainers.image.source=$source_url")
umoci config --image "$image" --no-history --created "$created" --architecture "$arch" --os linux \
	--config.user 65532:65532 --config.workingdir /home/nonroot \
	--config.entrypoint /pitagora --config.cmd run \
	--config.env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
	--config.env SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \
	"${labels[@]}"
umoci gc --layout "$layout"

# The archive: the layout directory as a tar (what skopeo's oci-archive: transport reads), with
# the same fixed metadata, written beside the destination and renamed into place.
chmod -R u=rwX,go=rX "$layout"
tar -C "$layout" "${tar_flags[@]}" --owner=0 --group=0 -cf "$out.tmp" oci-layout index.json blobs
mv -f "$out.tmp" "$out"
# A reader other than the writer: skopeo must see one image with this config.
skopeo inspect --config "oci-archive:$out" >/dev/null || die "skopeo cannot read $out"

digest=$(awk -F'"' '{ for (i = 1; i < NF; i++) if ($i == "digest") { print $(i + 2); exit } }' "$layout/index.json")
info "wrote $out (pitagora:$version, manifest $digest, revision $revision)"
printf '%s\n%s\n' "$out" "$digest"
