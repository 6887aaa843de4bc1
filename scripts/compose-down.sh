#!/usr/bin/env bash
# npm run compose:down [-- -v]   stops and removes the stack; -v also deletes the volumes (databases, NATS streams).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/compose-lib.sh
compose_command
ensure_env
"${COMPOSE[@]}" down --remove-orphans "$@"
