# One image for every Koppel service; the command picks the service:
#   docker run koppel serve orders      (or: koppel migrate, koppel sandbox eaccounting, ...)
# Build stage: resolve nothing, install exactly what uv.lock says (no dev tools).
FROM python:3.11-slim AS build
ENV UV_COMPILE_BYTECODE=1 UV_LINK_MODE=copy UV_PROJECT_ENVIRONMENT=/app/.venv
RUN pip install --no-cache-dir uv==0.13.9
WORKDIR /src
COPY pyproject.toml uv.lock ./
COPY libs ./libs
COPY services ./services
RUN uv sync --frozen --no-dev --all-packages --no-editable

# Runtime stage: the virtual environment only, run as an unprivileged user.
FROM python:3.11-slim AS runtime
RUN groupadd --system --gid 10001 koppel \
    && useradd --system --uid 10001 --gid koppel --home-dir /app --shell /usr/sbin/nologin koppel
COPY --from=build --chown=koppel:koppel /app/.venv /app/.venv
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1 KOPPEL_DATA_DIR=/tmp/koppel
USER 10001:10001
WORKDIR /app
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=2).status == 200 else 1)"
ENTRYPOINT ["koppel"]
CMD ["serve", "gateway", "--host", "0.0.0.0", "--port", "8000"]
