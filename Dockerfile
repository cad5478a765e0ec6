# The dipwatch image: worker, replay, alerts and topic init (docker-compose.yml).
FROM python:3.11-slim AS build
WORKDIR /src
COPY pyproject.toml README.md ./
COPY schemas ./schemas
COPY folds ./folds
COPY streams ./streams
COPY infra ./infra
COPY alerts ./alerts
COPY query ./query
COPY replay ./replay
COPY dipwatch ./dipwatch
COPY bench ./bench
RUN pip wheel --no-cache-dir --wheel-dir /wheels .

FROM python:3.11-slim
RUN useradd --system --uid 10001 --create-home --home-dir /var/lib/dipwatch dipwatch
COPY --from=build /wheels /wheels
RUN pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels
USER dipwatch
WORKDIR /var/lib/dipwatch
ENV PYTHONUNBUFFERED=1 DIPWATCH_DATA_DIR=/var/lib/dipwatch
EXPOSE 6066
CMD ["dipwatch", "worker"]
