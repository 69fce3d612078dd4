# One image for every Tsunagaru service; the compose file picks the command (docs/deploy.md).
#
# Stages: `build` installs every dependency and compiles the TypeScript (npm run build: <package>/dist and
# dist/); `deps` installs the production dependencies alone; the runtime stage takes the two, the
# console's static files and what the services need at run time (openssl, tini), and nothing else: no
# compiler, no test tools, no TypeScript sources. test/dockerfile.test.ts checks this file.
#
# Node 24, an LTS line (maintained until April 2028). CI runs the tests on Node 20; the code uses nothing
# that differs between 20, 22 and 24 (README, "Node versions"). Bump the patch version with Node's
# security releases.
ARG NODE_IMAGE=node:24.11.1-bookworm-slim

# The workspace manifests and the lockfile, for both installs below.
FROM ${NODE_IMAGE} AS manifests
WORKDIR /app
COPY package.json package-lock.json ./
COPY firmware-contracts/package.json firmware-contracts/
COPY broker/package.json broker/
COPY edge-agent/package.json edge-agent/
COPY ingest/package.json ingest/
COPY simulators/package.json simulators/
COPY dashboards/package.json dashboards/

FROM manifests AS build
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
RUN npm run build

FROM manifests AS deps
RUN npm ci --omit=dev --no-audit --no-fund

FROM ${NODE_IMAGE}
# openssl: the single node generates a development TLS certificate in DATA_DIR/tls when none is given
# (scripts/start-tls.ts). tini: PID 1 that passes docker's SIGTERM on to node and reaps what it leaves.
RUN apt-get update \
  && apt-get install -y --no-install-recommends openssl tini \
  && rm -rf /var/lib/apt/lists/*
WORKDIR /app
ENV NODE_ENV=production
# Our packages resolve to their compiled dist/ under this condition (their package.json "exports"); without
# it they would resolve to src/*.ts, which this image does not hold. Set here, so every node in the image
# (the services, the health probe, `docker compose exec … node dist/scripts/devices.js`) gets it.
ENV NODE_OPTIONS=--conditions=tsunagaru-compiled
# Manifests and node_modules (hoisted, and nested where versions differ) from the production install.
COPY --from=deps /app ./
COPY --from=build /app/dist dist
COPY --from=build /app/firmware-contracts/dist firmware-contracts/dist
COPY --from=build /app/broker/dist broker/dist
COPY --from=build /app/edge-agent/dist edge-agent/dist
COPY --from=build /app/edge-agent/register-maps edge-agent/register-maps
COPY --from=build /app/ingest/dist ingest/dist
COPY --from=build /app/ingest/console ingest/console
# ChirpStack and Sparkplug mapping files (CHIRPSTACK_MAPPINGS_DIR, SPARKPLUG_MAPPINGS_DIR default to them).
COPY --from=build /app/ingest/mappings ingest/mappings
COPY --from=build /app/simulators/dist simulators/dist
COPY --from=build /app/simulators/scenarios simulators/scenarios
# A fresh named volume takes the owner of the directory it is mounted on, so /data (and the shared registry
# under it) must exist and belong to node here, or the ingest cannot write its journal and registry there.
RUN mkdir -p /data/registry && chown -R node:node /data
USER node
EXPOSE 1883 8080 8883
# The API's public health (status only). The broker-only services probe MQTT instead (docker-compose.yml).
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 CMD ["node", "dist/scripts/healthcheck.js"]
# Two malloc arenas for what node and DuckDB allocate outside V8's heap and DuckDB's buffers (docs/deploy.md,
# Memory): glibc's default of 8 per core kept ~90 MiB more of a city's ingest.
ENV MALLOC_ARENA_MAX=2
ENTRYPOINT ["/usr/bin/tini", "--"]
# Broker + ingest in one process (docker-compose.yml, single-node): the journal-before-PUBACK configuration.
CMD ["node", "--max-old-space-size=1536", "--heap-growing-percent=50", "dist/scripts/start.js"]
