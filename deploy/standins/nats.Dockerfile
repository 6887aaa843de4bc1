# LOCAL STAND-IN for the official `nats:2.9-alpine`, built only where no public image registry is
# reachable (CI here). Everywhere else Docker pulls the real image under the same name.
# The base `mini-ecommerce-standin/nats-rootfs:2.9` is Debian bookworm with Debian's nats-server
# (2.9.10) and wget installed (build-standins.sh builds it with debootstrap): Debian, not Alpine,
# underneath. What the project relies on is reproduced: the official image's entrypoint (flags as
# the first argument run nats-server with them), its default command and configuration (client
# port 4222, monitoring port 8222), nats-server in /usr/local/bin, a `wget` for the health check
# (BusyBox's in the real image), running as root as the real image does.
FROM mini-ecommerce-standin/nats-rootfs:2.9

COPY nats-server.conf /etc/nats/nats-server.conf
COPY nats-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
  && ln -s /usr/sbin/nats-server /usr/local/bin/nats-server \
  && nats-server --version \
  && wget --version > /dev/null

EXPOSE 4222 8222 6222
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["nats-server", "--config", "/etc/nats/nats-server.conf"]
