# The controller's image (issue 14), for users with Docker; scripts/image.sh builds the same image
# (binary, user, entrypoint, labels; its libraries come from the build machine instead of the
# distroless base) without a daemon, as an OCI archive. Needs BuildKit (Docker >= 23's default).
#
#   docker build -t pitagora:0.1.0 \
#     --build-arg REVISION="$(git rev-parse HEAD)" \
#     --build-arg SOURCE_DATE_EPOCH="$(git log -1 --format=%ct)" .
#
# Reproducible from the commit: the toolchain is pinned (rust 1.95, the crate's rust-version),
# the dependencies by Cargo.lock (--locked), the build paths are fixed (/src, /usr/local/cargo),
# and with SOURCE_DATE_EPOCH BuildKit dates the config and history at the commit (add
# `--output type=docker,rewrite-timestamp=true`, BuildKit >= 0.13, for the layers' file times).
# Both bases are pinned by tag only: pinning them by digest (FROM ...:tag@sha256:...) is the
# release step that protects against upstream rebuilding a tag.

# Builder: Debian bookworm, the same glibc (2.36) as the runtime base, so the binary's glibc
# symbol versions are all present at run time.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
COPY benches ./benches
# The cache mounts keep the crate registry and target/ between builds; they never reach an image
# layer. The release profile (fat LTO, one codegen unit) is Cargo.toml's.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked --bin pitagora \
    && install -m 0755 target/release/pitagora /pitagora

# Runtime: distroless "cc" = glibc, libgcc_s (Rust's unwinder) and the CA bundle that the AWS
# SDK's rustls client reads (rustls-native-certs: /etc/ssl/certs/ca-certificates.crt); the
# :nonroot tag runs as uid/gid 65532 (the Deployment's runAsUser). No shell, no package manager:
# `kubectl exec` has nothing to run, which is the point.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /pitagora /pitagora
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
ENTRYPOINT ["/pitagora"]
# The controller; manifests/deployment.yaml passes `run` and its flags as args.
CMD ["run"]
# Last, so changing them rebuilds nothing. VERSION is Cargo.toml's (tests/operating/image.rs checks it).
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG SOURCE=
LABEL org.opencontainers.image.title="pitagora" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.source="${SOURCE}" \
      org.opencontainers.image.licenses="Apache-2.0"
