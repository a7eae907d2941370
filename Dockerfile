# Multi-stage build: compile in the Rust image, run in a slim Debian with only the binary.
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
RUN cargo build --release --locked --bin bridgefund

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home /var/lib/bridgefund --create-home bridgefund
COPY --from=build /src/target/release/bridgefund /usr/local/bin/bridgefund
USER bridgefund
WORKDIR /var/lib/bridgefund
ENV BRIDGEFUND_LISTEN=0.0.0.0:8080 \
    BRIDGEFUND_DATA_DIR=/var/lib/bridgefund/data \
    BRIDGEFUND_LOG_FORMAT=json
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s CMD curl -fsS http://127.0.0.1:8080/ready || exit 1
ENTRYPOINT ["bridgefund"]
CMD ["serve"]
