# The showctl controller. OBS Studio is not in here: it runs on the broadcast PC, and the
# controller reaches it at SHOWCTL_OBS_URL. No secret is baked in: tokens and the OBS
# password come at run time from the environment or from files (*_FILE, Compose secrets).
#   docker build -t showctl .
#   docker run -e SHOWCTL_OBS_URL=ws://BROADCAST-PC:4455 \
#     -e SHOWCTL_DIRECTOR_TOKEN_FILE=/run/secrets/director_token ... showctl
# pinned: the Python the tests ran with, on Debian 12; for a digest pin as well, see
# docs/deploy.md ("Pinned builds")
FROM python:3.11.7-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# an unprivileged user that owns only the state directory (the as-run journal)
RUN groupadd --system --gid 10001 showctl \
    && useradd --system --uid 10001 --gid showctl --home-dir /srv/showctl \
       --no-create-home --shell /usr/sbin/nologin showctl \
    && mkdir -p /srv/showctl /var/lib/showctl \
    && chown showctl:showctl /var/lib/showctl

WORKDIR /srv/showctl

# libsrt: the program feed to OBS over SRT (control/guests/srt.py loads it)
RUN apt-get update && apt-get install -y --no-install-recommends libsrt1.5-gnutls=1.5.1-1+deb12u2 \
    && rm -rf /var/lib/apt/lists/*

# the locked dependencies first (the slow layer): exactly the versions and files in
# requirements.lock, each checked against its sha256; then the package without resolving
# anything again; then the show's files
COPY requirements.lock ./
RUN pip install --no-cache-dir --require-hashes --no-deps -r requirements.lock
COPY pyproject.toml README.md ./
COPY control ./control
RUN pip install --no-cache-dir --no-deps --no-build-isolation . \
    && rm -rf build ./*.egg-info
COPY config/show.yaml config/rundown.schema.json ./config/
COPY rundown ./rundown
COPY overlays ./overlays

# the controller listens on every interface inside the container; Compose publishes it
ENV SHOWCTL_HTTP_HOST=0.0.0.0 \
    SHOWCTL_HTTP_PORT=8080 \
    SHOWCTL_STATE_DIR=/var/lib/showctl

USER 10001:10001
VOLUME ["/var/lib/showctl"]
EXPOSE 8080

# /healthz is open and says only "ok": the controller's HTTP server answers
HEALTHCHECK --interval=10s --timeout=3s --start-period=10s --retries=3 \
    CMD ["python", "-c", "import os, ssl, urllib.request; tls = bool(os.environ.get('SHOWCTL_TLS_CERT_FILE')); urllib.request.urlopen(('https' if tls else 'http') + '://127.0.0.1:' + os.environ.get('SHOWCTL_HTTP_PORT', '8080') + '/healthz', timeout=2, context=ssl._create_unverified_context() if tls else None)"]

# `showctl run` without the terminal UI; the rundown is the last argument (Compose passes
# the one to run: a file of the image's rundown/ or a mounted one).
ENTRYPOINT ["showctl"]
CMD ["run", "--no-terminal", "rundown/nye-of-science-2023.yaml"]
