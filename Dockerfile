# One image for every Assetry process; the command picks the role (see compose.yaml):
#   web:    python -m assetry serve --env prod --single-port --frontend-port 3000 --backend-host 0.0.0.0
#   worker: python -m assetry worker --health-port 8081
# Settings come from the environment (README: "Running in production"); nothing secret is baked in.
FROM python:3.11-slim-bookworm

# curl for the healthchecks; npm only to fetch the bun binary Reflex builds the frontend with.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl npm \
    && rm -rf /var/lib/apt/lists/* \
    && pip install --no-cache-dir "uv>=0.9" \
    && useradd --create-home --uid 10001 assetry

WORKDIR /app
ENV UV_PROJECT_ENVIRONMENT=/app/.venv \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    PATH="/app/.venv/bin:/app/tools/node_modules/.bin:$PATH" \
    REFLEX_USE_SYSTEM_BUN=1 \
    PYTHONUNBUFFERED=1 \
    DATA_DIR=/data

# Dependencies first (their layers outlive code changes): Python from uv.lock, bun from npm.
COPY pyproject.toml uv.lock ./
RUN uv sync --frozen --no-dev
COPY tools/package.json tools/package-lock.json tools/
RUN npm ci --prefix tools --no-audit --no-fund --loglevel=error

COPY --chown=assetry:assetry . .
# Compile the app and install the frontend's packages (from reflex.lock) now, not at every start.
# Its throwaway DATA_DIR keeps the local keys a build would make out of the image.
RUN DATA_DIR=/tmp/build-data reflex export --frontend-only --no-zip --loglevel warning \
    && rm -rf /tmp/build-data \
    && mkdir -p /data \
    && chown -R assetry:assetry /app /data

USER assetry
EXPOSE 3000 8081
CMD ["python", "-m", "assetry", "serve", "--env", "prod", "--single-port", "--frontend-port", "3000", \
     "--backend-host", "0.0.0.0", "--loglevel", "warning"]
