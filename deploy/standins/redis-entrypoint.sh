#!/bin/sh
# Entrypoint of the LOCAL STAND-IN redis image, doing what the official image's
# docker-entrypoint.sh does: when the first argument is a flag or a *.conf file, run redis-server
# with the arguments; redis-server started as root owns the working folder (/data) and drops to
# the redis user; the umask becomes 0077 unless one was set; anything else runs as given.
# Like the official image it reads no password variable: compose.yaml and k8s/ pass --requirepass.
set -e

if [ "${1#-}" != "$1" ] || [ "${1%.conf}" != "$1" ]; then
  set -- redis-server "$@"
fi

if [ "$1" = redis-server ] && [ "$(id -u)" = 0 ]; then
  find . \! -user redis -exec chown redis '{}' +
  exec setpriv --reuid=redis --regid=redis --init-groups "$0" "$@"
fi

if [ "$(umask)" = 0022 ]; then
  umask 0077
fi

exec "$@"
