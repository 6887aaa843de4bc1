# LOCAL STAND-IN for the official `redis:7-alpine`, built only where no public image registry is
# reachable (CI here). Everywhere else Docker pulls the real image under the same name.
# The base `mini-ecommerce-standin/redis-rootfs:7` is Debian bookworm with Debian's redis-server
# installed (7.0.15, the package this machine runs; build-standins.sh builds it with debootstrap):
# Debian, not Alpine, underneath. What the project relies on is reproduced: the official image's
# entrypoint (flags as the first argument run redis-server with them), its default command, the
# `redis` user with uid 999 and gid 1000, the working folder /data, port 6379, redis-server and
# redis-cli in /usr/local/bin, and `sh` and `grep` for the health check (BusyBox's in the real
# image). One difference: the official binary is built with protected-mode off by default,
# Debian's keeps it on; it only matters for a server without a password, and this project always
# sets one (--requirepass).
FROM mini-ecommerce-standin/redis-rootfs:7

COPY redis-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
  && ln -s /usr/bin/redis-server /usr/local/bin/redis-server \
  && ln -s /usr/bin/redis-cli /usr/local/bin/redis-cli \
  && mkdir /data \
  && chown redis:redis /data \
  && test "$(id -u redis)" = 999 \
  && test "$(id -g redis)" = 1000 \
  && redis-server --version | grep -q ' v=7\.0\.' \
  && redis-cli --version

VOLUME /data
WORKDIR /data
EXPOSE 6379
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["redis-server"]
