#!/usr/bin/env bash
# npm run compose:up [-- extra `up` flags, e.g. --scale product-service=2]
# Builds the images (SKIP_BUILD=1 skips that), starts the stack detached, waits for the gateway.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/compose-lib.sh
compose_command
ensure_env

if [ "${SKIP_BUILD:-0}" != 1 ]; then
  IMAGE_TAG="$(sed -n 's/^IMAGE_TAG=//p' .env | tail -1)"
  IMAGE_TAG="${IMAGE_TAG:-dev}" bash scripts/images.sh
fi
"${COMPOSE[@]}" up -d --remove-orphans "$@"

url="$(gateway_url .env)"
if ! wait_for_ok "$url/readyz" "${COMPOSE_WAIT_SECONDS:-180}"; then
  "${COMPOSE[@]}" ps
  "${COMPOSE[@]}" logs --tail=40
  exit 1
fi
echo "Mini eCommerce is up: $url (API reference: $url/docs). Logs: npm run compose:logs; stop: npm run compose:down"
