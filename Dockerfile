# gaitstream services (pipeline worker, station simulators, alert API and dispatcher, feedback
# screens, session reports): one image,
# the command picks the role.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml setup.py README.md requirements.lock ./
COPY deploy/fence_urllib3.py ./deploy/
COPY gaitstream ./gaitstream
COPY pipelines ./pipelines
COPY services ./services
COPY schemas ./schemas
# The locked runtime versions (hashes checked), then the project without resolving again.
# urllib3-future (niquests <- grafana-client) would overwrite urllib3 at every start: fenced.
RUN pip install --require-hashes -r requirements.lock && python deploy/fence_urllib3.py requirements.lock \
    && pip install --no-deps . && useradd --system --uid 10001 --home-dir /var/lib/gaitstream --create-home gaitstream \
    && install -d -o gaitstream -g gaitstream -m 700 /reports
USER gaitstream
# Faust keeps its table state here (recovered from Kafka changelogs after a restart anyway).
ENV GAITSTREAM_PIPELINE_DATADIR=/var/lib/gaitstream/faust
# The alert API (`gaitstream alerts serve`) listens here.
EXPOSE 8088
ENTRYPOINT ["gaitstream"]
CMD ["--help"]
