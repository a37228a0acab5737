# syntax=docker/dockerfile:1
# One image for every service; the command chooses the process (see deploy/compose.yaml, deploy/k8s):
#   seller-support serve                              the embedded system (default)
#   python -m services.requests.kafka_main api        requests HTTP API + timer loop
#   python -m services.requests.kafka_main relay      outbox relay -> seller-support.requests.v1
#   python -m services.requests.kafka_main upstream   orders.v1 + shipments.v1 consumer
#   python -m services.ledger.main                    ledger API + consumer
#   python -m services.ratings.main                   ratings API + consumer
#   python -m services.notifications.main             notifications API + consumer + e-mail
# Build: docker build -t seller-support .

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

# --- build: a virtual environment with the project and its dependencies ---------------------------
FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PYTHONDONTWRITEBYTECODE=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY services ./services
RUN pip install --upgrade pip && pip install . && python -m compileall -q /opt/venv

# --- runtime: the venv only, as an unprivileged user ----------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="seller-support" \
      org.opencontainers.image.description="Event-sourced seller support: requests, ledger, ratings, notifications" \
      org.opencontainers.image.licenses="Apache-2.0"
# DejaVu Sans: the case dossier sets every script with it (services/requests/attachments/dossier.py).
RUN apt-get update && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
RUN groupadd --system --gid 10001 app \
    && useradd --system --uid 10001 --gid app --home-dir /home/app --create-home app \
    && mkdir -p /var/lib/seller-support && chown app:app /var/lib/seller-support
COPY --from=build /opt/venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    SUPPORT_HOST=0.0.0.0 \
    SUPPORT_PORT=8000 \
    SUPPORT_METRICS_HOST=0.0.0.0 \
    SUPPORT_DATA_DIR=/var/lib/seller-support \
    SUPPORT_LOG_LEVEL=INFO
WORKDIR /home/app
USER 10001:10001
# 8000: HTTP API, /healthz, /readyz, /metrics; 9100: /healthz, /readyz, /metrics of relay/upstream
EXPOSE 8000 9100
CMD ["seller-support", "serve"]
