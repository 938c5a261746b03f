# mldock in a container: `make image`, then see the README ("In a container").
# Plain `docker build` syntax only (no BuildKit-only features); checked by `make check-dockerfile`.
#
# Base pinned by digest: the multi-platform index of python:3.11-slim-bookworm (Python 3.11.16)
# as Docker Hub published it in Sept.-Oct. 2026 (not pulled where this file was written:
# no Docker daemon there).  To move to a newer base, take the digest from
#   docker buildx imagetools inspect python:3.11-slim-bookworm    (the "Digest:" line)
#   or: crane digest python:3.11-slim-bookworm
# and replace it below in one reviewed commit.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm@sha256:a36c24f9cbdf4fd0f52d67f0823eeac19c2028c637cecc392d97f980d4fec56b

# ---- builder: uv from PyPI installs the locked set (uv.lock) into /app/.venv -----------------
FROM ${PYTHON_IMAGE} AS builder
ARG UV_VERSION=0.13.9
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    UV_NO_CACHE=1 \
    UV_LINK_MODE=copy \
    UV_COMPILE_BYTECODE=1 \
    UV_PYTHON_DOWNLOADS=never \
    UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install "uv==${UV_VERSION}"
WORKDIR /app
# dependencies first (a layer that changes only with the lock), then mldock itself
COPY pyproject.toml uv.lock README.md ./
RUN uv sync --frozen --no-dev --no-install-project
COPY pipeline ./pipeline
RUN uv sync --frozen --no-dev --no-editable

# ---- test: the dev extras and Debian's docker-registry; runs the test suite ------------------
#   docker build --target test -t mldock-test . && \
#   docker run --rm -v /path/to/shared:/shared:ro mldock-test
FROM builder AS test
RUN apt-get update \
    && apt-get install -y --no-install-recommends docker-registry \
    && rm -rf /var/lib/apt/lists/*
RUN uv sync --frozen --no-dev --no-editable --extra dev
# the whole checkout (less .dockerignore): tests read taxonomy/, notebooks/, scripts/, Dockerfile
COPY . .
RUN useradd --create-home --uid 10001 mldock && chown -R mldock /app
USER 10001
ENV PATH=/app/.venv/bin:$PATH \
    MLDOCK_HOME=/app \
    MLDOCK_REPLICATION=/shared/ease2022
ENTRYPOINT ["pytest"]

# ---- runtime: mldock as a non-root user; data/ and reports/ on the /data volume --------------
FROM ${PYTHON_IMAGE} AS runtime
ARG VCS_REF=unknown
ARG VCS_URL=""
LABEL org.opencontainers.image.title="mldock" \
      org.opencontainers.image.description="Re-runnable reproduction of the EASE 2022 study of ML projects on Docker" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.version="0.1.0" \
      org.opencontainers.image.source="${VCS_URL}" \
      org.opencontainers.image.revision="${VCS_REF}"
RUN useradd --create-home --uid 10001 mldock \
    && mkdir -p /data/data /data/reports \
    && chown -R mldock /data
WORKDIR /app
COPY --from=builder /app/.venv ./.venv
COPY pyproject.toml README.md CITATION.cff ./
COPY taxonomy ./taxonomy
COPY notebooks ./notebooks
COPY targets ./targets
# The project root is /app (code, taxonomy/, notebooks/, targets/); its data/ and reports/ live on /data.
# Mount a named volume there (it starts with both folders), or a host folder in which
# data/ and reports/ already exist.
RUN ln -s /data/data /app/data \
    && ln -s /data/reports /app/reports \
    && chown -h mldock /app/data /app/reports \
    && chown mldock /app
ENV PATH=/app/.venv/bin:$PATH \
    MLDOCK_HOME=/app \
    MLDOCK_REPLICATION=/replication \
    PYTHONUNBUFFERED=1 \
    MPLBACKEND=Agg
USER 10001
VOLUME ["/data"]
ENTRYPOINT ["mldock"]
CMD ["--help"]
