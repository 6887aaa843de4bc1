#!/usr/bin/env bash
# npm run compose:logs [-- service...]   follows the logs (JSON lines, one per request).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
source scripts/compose-lib.sh
compose_command
ensure_env
exec "${COMPOSE[@]}" logs --follow --tail=200 "$@"
