# syntax=docker/dockerfile:1
# interest-drift, CPU image: Node 24, onnxruntime-node with its bundled CPU provider, and the
# trained encoder (onnx/artifacts/encoder.onnx + encoder.meta.json) baked in. Runs as uid 10001.
#   docker build -t interest-drift:0.2.0 .
# See k8s/README.md ("Building the images").
ARG NODE_VERSION=24.21.0

FROM node:${NODE_VERSION}-bookworm-slim AS build
WORKDIR /app
# .npmrc skips onnxruntime-node's download of the CUDA provider: the CPU one ships in the package.
COPY package.json package-lock.json .npmrc ./
# npm ci's postinstall applies patches/ (kafkajs fixes, see patches/README.md).
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npx tsc -p tsconfig.build.json \
    && npm prune --omit=dev --no-audit --no-fund

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production
RUN groupadd --system --gid 10001 interest-drift \
    && useradd --system --uid 10001 --gid 10001 --no-create-home --shell /usr/sbin/nologin interest-drift
WORKDIR /app
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY package.json ./
COPY onnx/artifacts/encoder.onnx onnx/artifacts/encoder.meta.json onnx/artifacts/churn-hazard.json ./onnx/artifacts/
USER 10001:10001
EXPOSE 9464
# V8 flags: src/shared/node-flags.ts (a young generation sized for the fetch → commit cycle).
ENTRYPOINT ["node", "--min-semi-space-size=128", "--max-semi-space-size=128", "--scavenger-max-new-space-capacity-mb=256", "dist/src/main.js"]
CMD ["run"]
