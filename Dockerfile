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
RUN npm ci --no-audit --no-fund
COPY . .
USER node
