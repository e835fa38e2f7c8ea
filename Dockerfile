# exorun image: one image for every role (up, scheduler, worker, simulate); the command picks it.
FROM node:24-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY packages ./packages
COPY src ./src
# `npm ci` runs the prepare script (tsc build); dev dependencies are pruned afterwards.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:24-bookworm-slim
WORKDIR /app
ENV NODE_ENV=production
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# The simulator workspace package (`exorun simulate`, `cloud: simulated`): node_modules links to it.
COPY --from=build /app/packages/simulator/package.json ./packages/simulator/package.json
COPY --from=build /app/packages/simulator/dist ./packages/simulator/dist
COPY package.json jobs.yaml ./
COPY schema ./schema
# Named volumes start with the ownership of these folders, so the unprivileged user can write.
RUN mkdir -p /config/outputs /sim /app/.exorun && chown -R node:node /config /sim /app/.exorun
USER node
ENTRYPOINT ["node", "dist/cli/main.js"]
CMD ["up"]
