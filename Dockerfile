# The ml-inference-app image: one static server binary and one artifact on scratch.
#
# MODEL is the artifact to serve, a path inside the build context (put your own under models/;
# .dockerignore lets that folder in). MODEL_NAME, MODEL_VERSION and MODEL_SHA256 label the
# image with what it serves; `cargo run -p harness -- image --artifact FILE` fills them in.
# TOOLCHAIN names the compiler of the binary (the Rust image by default; the harness passes
# the host's `rustc -V` and where it comes from).
# The defaults are the reference wine-quality model's.
#
# BINARY chooses where the binary comes from:
#   builder  (default) compile it here, natively for the platform built, in the pinned
#            official Rust image (needs a registry);
#   prebuilt copy PREBUILT (target/x86_64-unknown-linux-gnu/release/server by default) from
#            the build context, built on the host with -C target-feature=+crt-static (pulls
#            nothing; see README).
# BuildKit builds only the stages the final one needs. The legacy builder builds every stage
# up to the target, so the offline path is also a target of its own, `prebuilt-image`, placed
# before the builder stage.
#
# No `# syntax=` line: it would make BuildKit pull a frontend image.

ARG BINARY=builder
ARG RUST_IMAGE=docker.io/library/rust:1.95.0-slim-bookworm

# The metadata every variant of the image carries.
FROM scratch AS runtime
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=1970-01-01T00:00:00Z
ARG MODEL=fixtures/models/wine-quality.json
ARG MODEL_NAME=wine-quality
ARG MODEL_VERSION=1.0.0
ARG MODEL_SHA256=b4f9d26340ecf0ab5ac1a08c1e4c043049c32dfd6c6f233e5bcd017ed7f8652f
ARG RUST_IMAGE
ARG TOOLCHAIN="${RUST_IMAGE}"
LABEL org.opencontainers.image.title="ml-inference-app" \
      org.opencontainers.image.description="Logistic-regression inference over HTTP: a simple JSON API and the Open Inference Protocol (V2)" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="MIT OR Apache-2.0" \
      org.opencontainers.image.source="https://github.com/ml-inference-app/ml-inference-app" \
      ml-inference-app.model.name="${MODEL_NAME}" \
      ml-inference-app.model.version="${MODEL_VERSION}" \
      ml-inference-app.model.sha256="${MODEL_SHA256}" \
      ml-inference-app.build.toolchain="${TOOLCHAIN}"
COPY ${MODEL} /model.json
COPY LICENSE-MIT LICENSE-APACHE THIRD-PARTY-NOTICES.md licenses/glibc.md /
ENV MODEL_PATH=/model.json
USER 65532:65532
EXPOSE 8000
HEALTHCHECK --interval=5s --timeout=2s --start-period=5s --retries=3 CMD ["/server", "healthcheck"]
ENTRYPOINT ["/server"]

# Offline: the host-built static binary for the platform built.
FROM runtime AS prebuilt-image
ARG PREBUILT=target/x86_64-unknown-linux-gnu/release/server
COPY ${PREBUILT} /server

FROM ${RUST_IMAGE} AS builder
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
WORKDIR /src
COPY . .
# Paths are remapped as the harness remaps them on the host: the binary does not depend on
# where it was built.
# The target is the Rust image's own host (x86_64 or aarch64 glibc), so the same stage builds
# natively on either architecture.
RUN target="$(rustc -vV | sed -n 's/^host: //p')" \
 && RUSTFLAGS="-C target-feature=+crt-static --remap-path-prefix=/usr/local/cargo=/cargo" \
    cargo build --locked --release -p server --bin server --target "$target" \
 && cp "target/$target/release/server" /server

FROM prebuilt-image AS prebuilt

FROM ${BINARY} AS binary

# Default target: the binary from whichever source BINARY names.
FROM runtime AS image
COPY --from=binary /server /server
