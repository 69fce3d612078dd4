# One image for every Tsunagaru service; the compose file picks the command.
FROM node:20-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json tsconfig.json tsconfig.base.json ./
COPY firmware-contracts/package.json firmware-contracts/
COPY broker/package.json broker/
COPY edge-agent/package.json edge-agent/
COPY ingest/package.json ingest/
COPY simulators/package.json simulators/
COPY dashboards/package.json dashboards/
# --include=dev: NODE_ENV=production would leave out tsx, which every compose command runs (npx tsx …).
RUN npm ci --include=dev --no-audit --no-fund
COPY . .
# A fresh named volume takes the owner of the directory it is mounted on, so /data (and the shared registry
# under it) must exist and belong to node here, or the ingest cannot write its journal and registry there.
RUN mkdir -p /data/registry && chown -R node:node /data
USER node
