# Indaba: a small image that runs `indaba run` as a non-root user.
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
COPY migrations ./migrations
RUN pip install --no-cache-dir --prefix=/install .

FROM python:3.11-slim
ENV PYTHONUNBUFFERED=1 \
    INDABA_HTTP_HOST=0.0.0.0 \
    INDABA_HTTP_PORT=8000 \
    INDABA_DATA_DIR=/data \
    INDABA_PROMPTS_DIR=/app/prompts
# Pango and a font for WeasyPrint, which prints the meetings' posters.
RUN apt-get update && apt-get install -y --no-install-recommends \
      libpango-1.0-0 libpangoft2-1.0-0 fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/*
COPY --from=build /install /usr/local
COPY prompts /app/prompts
COPY migrations /app/migrations
RUN useradd --create-home --uid 10001 indaba && mkdir -p /data && chown indaba /data
USER indaba
WORKDIR /app
VOLUME ["/data"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD python -c "import os, urllib.request; urllib.request.urlopen(f'http://127.0.0.1:{os.environ.get(\"INDABA_HTTP_PORT\", \"8000\")}/healthz', timeout=4)"
ENTRYPOINT ["indaba"]
CMD ["run", "--migrate", "--no-console"]
