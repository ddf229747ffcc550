# ordo container image.
#
#   docker build -t ordo .
#   docker run --rm -p 8080:8080 -e DATABASE_URL=postgres://user:pass@db:5432/ordo ordo
#   docker run --rm -e DATABASE_URL=... ordo migrate
#
# The build needs no database: sqlx's query macros read the committed .sqlx/
# offline data (SQLX_OFFLINE=true).

# --- build ------------------------------------------------------------------
FROM rust:1-bookworm AS builder

# SAML signatures: samael links xmlsec1-openssl and libxml2; its bindgen step needs libclang.
RUN apt-get update \
 && apt-get install -y --no-install-recommends pkg-config libssl-dev libxmlsec1-dev libxml2-dev libclang1-14 libclang-common-14-dev \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /src
COPY . .
ENV SQLX_OFFLINE=true
RUN cargo build --release --locked \
 && cp target/release/ordo /usr/local/bin/ordo

# --- run ----------------------------------------------------------------------
FROM debian:bookworm-slim

RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates libssl3 libxmlsec1 libxmlsec1-openssl libxml2 libxslt1.1 \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --home-dir /app --shell /usr/sbin/nologin ordo

WORKDIR /app
COPY --from=builder /usr/local/bin/ordo /usr/local/bin/ordo
COPY config/ /app/config/

USER ordo
EXPOSE 8080
ENV ORDO_BIND=0.0.0.0:8080
ENTRYPOINT ["/usr/local/bin/ordo"]
CMD ["serve"]
