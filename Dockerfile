# syntax=docker/dockerfile:1
# One image, two commands: `node lib/src/api/server.js` (api) and `node lib/src/worker/main.js` (worker).

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY migrations ./migrations
# Compiles to lib/ and prebuilds the workflow bundle, so workers start without bundling.
RUN npm run build

FROM node:20-bookworm-slim AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    WORKFLOW_BUNDLE_PATH=/app/lib/workflow-bundle.js
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /app/lib ./lib
COPY package.json ./
USER node
EXPOSE 3000
CMD ["node", "lib/src/api/server.js"]
