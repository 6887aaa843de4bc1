# LOCAL STAND-IN for the official `node:24-bookworm-slim`, built only where no public image
# registry is reachable (CI here). Everywhere else Docker pulls the real image under the same name.
# What the project's Dockerfile relies on is reproduced: Node.js and npm on the PATH, a `node`
# user and group with uid/gid 1000, Debian bookworm underneath.
# Build context: a folder holding `node` (the official Node.js 24 build that scripts/node24.sh
# fetches from the npm registry, integrity checked), `npm/` (this machine's npm, 11 as in the real
# image) and `ca-certificates.crt` (this machine's trust store); build-standins.sh prepares it.
FROM debian:bookworm-slim

COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
# This machine reaches the npm registry through an intercepting proxy whose CA only the host
# trusts: hand the host's bundle to Node so `npm ci` inside builds works here as on the host.
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt

RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
  && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
  && groupadd --gid 1000 node \
  && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
  && node --version && npm --version \
  && case "$(node --version)" in v24.*) ;; *) echo 'the stand-in node:24-bookworm-slim needs Node.js 24' >&2; exit 1 ;; esac

CMD ["node"]
