# A dedicated image for the flowlog forwarder in IBM Cloud Code Engine.
#
# `flowlog setup` builds it with a Code Engine build (source: --source-repo, default package.json `repository`) into
# your Container Registry namespace and pins the job to the image digest (docs/setup.md §3). To push it yourself:
#
#   docker build -t us.icr.io/<namespace>/flowlog:<version> .
#   docker push us.icr.io/<namespace>/flowlog:<version>
#   flowlog setup --image us.icr.io/<namespace>/flowlog@sha256:<digest>
#
# The entrypoint is `flowlog`; setup gives the job its arguments (`forward --follow --source cos://<bucket> --sink …`)
# and its configuration through the secret and config map it creates (no config file inside the image).

FROM node:20-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY bin ./bin
COPY src ./src
RUN npm run build && npm prune --omit=dev

FROM node:20-slim
ENV NODE_ENV=production \
    FLOWLOG_HOME=/tmp/flowlog
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/bin ./bin
COPY --from=build /app/oclif.manifest.json ./oclif.manifest.json
USER node
ENTRYPOINT ["node", "/app/bin/run.js"]
CMD ["forward", "--follow"]
