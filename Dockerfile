# leadfunnel: one image for web (gunicorn), worker and beat (celery) and migrate; the
# process is chosen by the command (see docker-compose.yml). Everything else comes from
# the environment, as described in leadfunnel/settings.py.
FROM python:3.12-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

RUN groupadd --system app \
    && useradd --system --gid app --create-home --home-dir /home/app app

WORKDIR /app

# The lock pins every package; --no-deps installs exactly it without resolving (on purpose:
# django-celery-beat 2.9.0 declares Django<6.1 but works with it, see pyproject.toml).
COPY requirements/base.lock requirements/base.lock
RUN pip install --no-deps -r requirements/base.lock

# One directory per line: `COPY a b ./` would flatten the directories' contents together.
COPY manage.py manage.py
# gunicorn reads it from the working directory: threaded workers (see the file).
COPY gunicorn.conf.py gunicorn.conf.py
COPY leadfunnel leadfunnel
COPY capture capture
COPY scoring scoring
COPY nurture nurture
COPY sales sales
COPY api api
COPY webhooks webhooks
COPY integrations integrations
COPY templates templates
COPY static static

# var/ holds the collected static files (STATIC_ROOT), owned by the user that serves them.
RUN mkdir -p var && chown app:app var
USER app

# Settings need a SECRET_KEY to import; this one exists only for this build step.
RUN SECRET_KEY=build-only-not-secret DEBUG=0 python manage.py collectstatic --noinput

EXPOSE 8000

# sh -c so WEB_CONCURRENCY expands at start; exec so gunicorn is PID 1 and gets SIGTERM.
CMD ["sh", "-c", "exec gunicorn leadfunnel.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-2} --access-logfile -"]
