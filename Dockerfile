# syntax=docker/dockerfile:1
# The one `thv` binary (CLI, registry server, operator) on a distroless base, as a non-root user.
#   docker build -t ghcr.io/thv-registry/thv-registry:0.1.0 .
# The build stage uses the toolchain pinned in rust-toolchain.toml; Cargo.lock is used as is (--locked).

FROM rust:1.95.0-bookworm AS build
WORKDIR /src
COPY . .
# Registry and build caches survive between builds (BuildKit); the binary is copied out of the cache mount.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p thv-cli --bin thv \
    && install -D -m 0755 target/release/thv /out/thv

# glibc and libgcc only: TLS is rustls, SQLite is compiled in, Git is gix (pure Rust).
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /out/thv /usr/local/bin/thv
USER 65532:65532
ENTRYPOINT ["/usr/local/bin/thv"]
