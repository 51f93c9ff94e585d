# One image for every Junction process, in two stages: the build stage compiles
# the TypeScript with the dev dependencies (npm run build: tsc into dist/, plus
# the SDL, migrations and supergraph beside it); the runtime stage runs the
# compiled JavaScript with the production dependencies only (no tsx, no
# TypeScript). docker-compose.yml and the Kubernetes manifests give each
# container its command, `node dist/<entry>.js`, from the catalog of processes
# (scripts/catalog.ts); test/build.int.test.ts builds and starts those entries.
ARG NODE_IMAGE=node:22-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /app
# patches/ fixes installed packages (patch-package, run by npm's postinstall).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build

FROM ${NODE_IMAGE} AS runtime

# pg_dump and pg_restore for the backups (the backup process, `node dist/scripts/backup.js`).
# They must be of the same major version as the PostgreSQL server or newer (pg_dump
# refuses a newer server): docker-compose.yml runs postgres:16, so the PostgreSQL 16
# client from the PostgreSQL project's apt repository (PGDG), whatever Debian ships.
ARG PG_MAJOR=16
RUN set -eux; \
    apt-get update; \
    apt-get install -y --no-install-recommends ca-certificates curl; \
    install -d /usr/share/postgresql-common/pgdg; \
    curl -fsSL -o /usr/share/postgresql-common/pgdg/apt.postgresql.org.asc https://www.postgresql.org/media/keys/ACCC4CF8.asc; \
    . /etc/os-release; \
    echo "deb [signed-by=/usr/share/postgresql-common/pgdg/apt.postgresql.org.asc] https://apt.postgresql.org/pub/repos/apt ${VERSION_CODENAME}-pgdg main" > /etc/apt/sources.list.d/pgdg.list; \
    apt-get update; \
    apt-get install -y --no-install-recommends "postgresql-client-${PG_MAJOR}"; \
    apt-get purge -y --auto-remove curl; \
    rm -rf /var/lib/apt/lists/*; \
    pg_dump --version | grep -q " ${PG_MAJOR}\."; \
    pg_restore --version | grep -q " ${PG_MAJOR}\."

# BACKUP_DIR in containers: writable by the node user; mount a volume here
# (docker-compose.yml does) so the dumps outlive the container.
RUN install -d -o node -g node /var/lib/junction/backups
ENV BACKUP_DIR=/var/lib/junction/backups

WORKDIR /app
ENV NODE_ENV=production

# The production dependencies only: no tsx, TypeScript, test runner or drizzle-kit.
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

# The compiled code with its assets; package.json above marks it as ES modules.
COPY --from=build /app/dist ./dist

# The node user of the base image: the processes never need root, nor to write
# here (the backups go to /var/lib/junction/backups).
USER node

EXPOSE 4000
# The gateway by default. Every other process answers /health on its own port:
# set HEALTHCHECK_URL (compose and Kubernetes run their own probes instead).
HEALTHCHECK --interval=10s --timeout=3s --start-period=30s --retries=6 \
  CMD ["node", "-e", "fetch(process.env.HEALTHCHECK_URL || 'http://127.0.0.1:4000/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "dist/gateway/index.js"]
