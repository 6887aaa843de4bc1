# shellcheck shell=bash
# Sourced by scripts/compose-*.sh: the Compose command to use, .env, and waiting for the gateway.

# `docker compose` (v2 plugin) when present, else `docker-compose` (v1, e.g. Debian's package).
compose_command() {
  if docker compose version > /dev/null 2>&1; then
    COMPOSE=(docker compose)
  elif command -v docker-compose > /dev/null 2>&1; then
    COMPOSE=(docker-compose)
  else
    echo 'Docker Compose is not installed: install the docker compose plugin or docker-compose' >&2
    return 1
  fi
}

# Compose reads .env for compose.yaml's variables; start from the marked development values.
ensure_env() {
  if [ ! -f .env ]; then
    cp .env.example .env
    echo 'created .env from .env.example (development values: edit .env before exposing anything)'
  fi
}

# The gateway's URL on this machine, from GATEWAY_PUBLISH in the given env file.
gateway_url() {
  local publish
  publish="$(sed -n 's/^GATEWAY_PUBLISH=//p' "${1:-.env}" | tail -1)"
  publish="${publish:-127.0.0.1:8080}"
  case "$publish" in
    *:*) ;;
    *) publish="127.0.0.1:$publish" ;;
  esac
  local host="${publish%:*}" port="${publish##*:}"
  if [ "$host" = 0.0.0.0 ] || [ -z "$host" ]; then host=127.0.0.1; fi
  echo "http://$host:$port"
}

# Polls URL until it answers 200, for at most SECONDS_LIMIT seconds.
wait_for_ok() {
  local url="$1" limit="${2:-180}"
  node -e '
    const [url, limit] = [process.argv[1], Number(process.argv[2]) * 1000];
    const started = Date.now();
    (async () => {
      for (;;) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
          if (res.status === 200) return console.log(`${url} answered 200 after ${Math.round((Date.now() - started) / 1000)} s`);
        } catch {}
        if (Date.now() - started > limit) {
          console.error(`${url} did not answer 200 within ${limit / 1000} s`);
          process.exit(1);
        }
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  ' "$url" "$limit"
}
