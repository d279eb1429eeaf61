# The baseline of bench/next-app.ts: a hand-written multi-stage Dockerfile for a Next.js app with
# `output: 'standalone'`, in the shape of Next.js's own Docker example (deps, builder, runner).
# NODE_IMAGE is Pilot's node image (PILOT_NODE_IMAGE), so only the way the image is built differs.
ARG NODE_IMAGE
FROM ${NODE_IMAGE} AS base

# Dependencies only when the manifest or the lockfile changed.
FROM base AS deps
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci

FROM base AS builder
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY . .
ENV NEXT_TELEMETRY_DISABLED=1
RUN npm run build

# The standalone server and the files it traced, with public/ and .next/static beside it.
# The image has no useradd: a numeric user, as the example's `nextjs` user, not root.
FROM base AS runner
WORKDIR /app
ENV NODE_ENV=production NEXT_TELEMETRY_DISABLED=1 PORT=3000 HOSTNAME=0.0.0.0
COPY --from=builder /app/public ./public
COPY --from=builder --chown=1001:1001 /app/.next/standalone ./
COPY --from=builder --chown=1001:1001 /app/.next/static ./.next/static
USER 1001:1001
EXPOSE 3000
CMD ["node", "server.js"]
