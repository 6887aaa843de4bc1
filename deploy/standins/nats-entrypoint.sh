#!/bin/sh
# Entrypoint of the LOCAL STAND-IN nats image, doing what the official image's
# docker-entrypoint.sh does: when the first argument is a flag (or there is none), run
# nats-server with the arguments; else run the command given.
set -e

if [ "$#" -eq 0 ] || [ "${1#-}" != "$1" ]; then
  set -- nats-server "$@"
fi

exec "$@"
