# One image for every Junction service; docker-compose.yml gives each container
# its command (node --import tsx <entry>). TypeScript runs as is under tsx.
FROM node:22-slim

WORKDIR /app
ENV NODE_ENV=production

# Dependencies first, so a source change does not reinstall them. Only the
# runtime ones: tsx is among them; compilers, test runner and drizzle-kit are not.
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm cache clean --force

COPY . .

# The node user of the base image: the services never need root, nor to write here.
USER node

EXPOSE 4000
CMD ["node", "--import", "tsx", "gateway/index.ts"]
