# One image for every Junction service; docker-compose.yml gives each container
# its command (node --import tsx <entry>). TypeScript runs as is under tsx.
FROM node:22-slim

# pg_dump and pg_restore for the backups (workers, `npm run backup`). They must be
# of the same major version as the PostgreSQL server or newer (pg_dump refuses a
# newer server): docker-compose.yml runs postgres:16, so the PostgreSQL 16 client
# from the PostgreSQL project's apt repository (PGDG), whatever Debian ships.
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

# Dependencies first, so a source change does not reinstall them. Only the
# runtime ones: tsx is among them; compilers, test runner and drizzle-kit are not.
# patches/ fixes installed packages (patch-package, run by npm's postinstall).
COPY package.json package-lock.json ./
COPY patches ./patches
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .

# The node user of the base image: the services never need root, nor to write
# here (the workers write their backups to /var/lib/junction/backups).
USER node

EXPOSE 4000
CMD ["node", "--import", "tsx", "gateway/index.ts"]
