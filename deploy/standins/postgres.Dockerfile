# LOCAL STAND-IN for the official `postgres:15-bookworm`, built only where no public image
# registry is reachable (CI here). Everywhere else Docker pulls the real image under the same name.
# The base `mini-ecommerce-standin/postgres-rootfs:15` is Debian bookworm with Debian's
# postgresql-15 package installed (scripts/compose-ci.sh builds it with debootstrap). What the
# project relies on is reproduced: POSTGRES_USER / POSTGRES_PASSWORD / POSTGRES_DB on first start,
# PGDATA, the `postgres` user with uid/gid 999, pg_isready on the PATH, port 5432.
FROM mini-ecommerce-standin/postgres-rootfs:15

ENV PG_MAJOR=15 \
    PGDATA=/var/lib/postgresql/data \
    LANG=C.UTF-8 \
    PATH=/usr/lib/postgresql/15/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

COPY postgres-entrypoint.sh /usr/local/bin/docker-entrypoint.sh
RUN chmod 0755 /usr/local/bin/docker-entrypoint.sh \
  && mkdir -p "$PGDATA" /var/run/postgresql \
  && chown -R postgres:postgres /var/lib/postgresql /var/run/postgresql \
  && chmod 3777 /var/run/postgresql \
  && test "$(id -u postgres)" = 999

VOLUME /var/lib/postgresql/data
ENTRYPOINT ["docker-entrypoint.sh"]
STOPSIGNAL SIGINT
EXPOSE 5432
CMD ["postgres"]
