# A dedicated image for the flowlog forwarder in IBM Cloud Code Engine.
#
#   docker build -t icr.io/<namespace>/flowlog:<version> .
#   docker push icr.io/<namespace>/flowlog:<version>
#   flowlog setup --image icr.io/<namespace>/flowlog:<version>
#
# The entrypoint is `flowlog`; setup gives the job its arguments (`forward --follow --source cos://<bucket> --sink …`)
# and its configuration through the secret and config map it creates (no config file inside the image).
# Without --image, setup uses the public node:20 image and `npx -y flowlog@<version>` instead.

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
