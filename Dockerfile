# One Dockerfile, one image per deployable (see docs/deploy.md for why):
#   docker build --build-arg WORKSPACE=services/user --build-arg PORT=3001 -t mini-ecommerce/user-service:dev .
# scripts/images.sh builds all four with the right arguments. Nothing here is tied to one CPU
# architecture: native modules come as npm's per-platform prebuilt packages, so
# `docker buildx build --platform linux/amd64,linux/arm64` builds both.
# No `# syntax=` line on purpose: the classic builder and BuildKit both read this file, and
# neither has to fetch a frontend image first.

# Node.js 24, the supported LTS (Node 20 reached its end of life in April 2026).
ARG NODE_IMAGE=node:24-bookworm-slim

# ---- 1. build: every dependency (dev included), then compile the deployable with tsc -b ----
FROM ${NODE_IMAGE} AS build
WORKDIR /app
# Manifests first, so the dependency layer is reused until a package.json or the lockfile changes.
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY services/user/package.json services/user/
COPY services/product/package.json services/product/
COPY services/order/package.json services/order/
COPY gateway/package.json gateway/
# --ignore-scripts: nothing the images need runs an install script (native modules are prebuilt
# per platform), and it keeps the real image's npm and the one in CI's stand-in behaving the same.
RUN npm ci --ignore-scripts --no-audit --no-fund --no-update-notifier
COPY tsconfig.base.json ./
COPY packages/shared packages/shared
COPY services services
COPY gateway gateway
# Everything above is identical for the four images, so building all four installs once.
# From here on only this deployable matters: compile it (and what it references), keep its
# JavaScript and its migrations.
ARG WORKSPACE
RUN test -n "$WORKSPACE" && npx tsc -b "$WORKSPACE" && test -f "$WORKSPACE/dist/main.js" \
  && mkdir -p "/out/$WORKSPACE" "/out/packages/shared" \
  && cp -r packages/shared/package.json packages/shared/dist packages/shared/migrations /out/packages/shared/ \
  && cp -r "$WORKSPACE/package.json" "$WORKSPACE/dist" "/out/$WORKSPACE/" \
  && if [ -d "$WORKSPACE/migrations" ]; then cp -r "$WORKSPACE/migrations" "/out/$WORKSPACE/"; fi \
  && find /out -name '*.tsbuildinfo' -delete \
  && find /out -name '*.d.ts' -delete && find /out -name '*.d.ts.map' -delete

# ---- 2. deps: production dependencies of this one workspace (and @mini/shared), nothing else ----
FROM ${NODE_IMAGE} AS deps
WORKDIR /app
COPY package.json package-lock.json ./
COPY packages/shared/package.json packages/shared/
COPY services/user/package.json services/user/
COPY services/product/package.json services/product/
COPY services/order/package.json services/order/
COPY gateway/package.json gateway/
ARG WORKSPACE
# (npm's cache stays behind in this stage: the runtime stage copies /app only.)
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund --no-update-notifier --workspace "$WORKSPACE"

# ---- 3. runtime: Node, production node_modules, compiled JavaScript; runs as the non-root node user ----
FROM ${NODE_IMAGE} AS runtime
ARG WORKSPACE
ARG PORT
ENV NODE_ENV=production \
    PORT=${PORT}
WORKDIR /app
# node_modules (root and any nested per workspace) and the manifests the workspace links need.
COPY --from=deps /app ./
COPY --from=build /out ./
WORKDIR /app/${WORKSPACE}
# Files stay owned by root: the process can read its code but not change it.
# uid/gid 1000 is the `node` user of the official image; numeric so Kubernetes can check runAsNonRoot.
USER 1000:1000
EXPOSE ${PORT}
# Docker's health is readiness (the service answers and its database does): Compose's
# `depends_on: condition: service_healthy` waits on it. No curl in the image: Node's fetch does it.
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# The V8 flags of SERVICE_NODE_OPTIONS in scripts/stack.ts (why: there); a deployment may set its own.
ENV NODE_OPTIONS=--max-semi-space-size=2
# node itself is PID 1 (no npm in between), so SIGTERM reaches the graceful shutdown in serve().
CMD ["node", "dist/main.js"]
