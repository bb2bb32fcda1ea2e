# syntax=docker/dockerfile:1
# netscaler-certsync: the operator, and the NITRO simulator used by the kind e2e run.
#
# Stage 1 builds a virtual environment from the wheels on the package index (every dependency
# ships binary wheels, so no compiler is needed); stage 2 copies only that environment onto a
# clean slim Python, without pip. The image runs as UID/GID 65532 with a read-only root
# filesystem: the only writable path it needs is /tmp (an emptyDir in the Helm chart).
#   docker build -t netscaler-certsync:dev .        (or: make image)

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY operator ./operator
# Compile once here: at run time the root filesystem is read-only and bytecode cannot be cached.
RUN pip install --no-compile . \
 && pip uninstall --yes pip \
 && python -m compileall -q -j 0 /opt/venv/lib

FROM ${PYTHON_IMAGE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="netscaler-certsync" \
      org.opencontainers.image.description="Kubernetes operator deploying TLS certificates from Secrets to NetScaler (Citrix ADC) through NITRO" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.source="https://github.com/netscaler-certsync/netscaler-certsync" \
      org.opencontainers.image.documentation="https://github.com/netscaler-certsync/netscaler-certsync/blob/main/docs/install.md"
# The base image's own pip and setuptools are build tools: the final image does not need them.
RUN python -m pip uninstall --yes pip setuptools wheel 2>/dev/null || true \
 && rm -rf /root/.cache
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/tmp \
    TMPDIR=/tmp
# Numeric, so Kubernetes can verify runAsNonRoot without an /etc/passwd entry.
USER 65532:65532
WORKDIR /tmp
EXPOSE 8080 9090
ENTRYPOINT ["netscaler-certsync"]
CMD ["run"]
