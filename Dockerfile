# One image for the web server, the Celery worker and beat (production: MySQL + Redis).
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DATA_DIR=/data

RUN apt-get update \
 && apt-get install -y --no-install-recommends default-libmysqlclient-dev pkg-config gcc \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt requirements-mysql.txt ./
RUN pip install -r requirements-mysql.txt

COPY . .
RUN groupadd --system modelhub && useradd --system --gid modelhub --home /app modelhub \
 && mkdir -p /data && chown modelhub:modelhub /data \
 && SECRET_KEY=build-only DATA_DIR=/tmp/build STATIC_ROOT=/app/staticfiles \
    python manage.py collectstatic --noinput --verbosity 0 \
 && rm -rf /tmp/build
ENV STATIC_ROOT=/app/staticfiles

USER modelhub
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["uvicorn", "modelhub.asgi:application", "--host", "0.0.0.0", "--port", "8000", "--workers", "4", "--lifespan", "on"]
