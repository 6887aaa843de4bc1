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
  # Without an engine, Compose v1 answers with a long Python traceback: say it in one line instead.
  if ! docker version --format '{{.Server.Version}}' > /dev/null 2>&1; then
    echo "No Docker engine answers${DOCKER_HOST:+ at DOCKER_HOST=$DOCKER_HOST}: start Docker (or point DOCKER_HOST at one), then run this again" >&2
    return 1
  fi
}

# Compose reads .env for compose.yaml's variables. A new .env is .env.example with every value
# marked dev-only replaced by a fresh random one: the services run with NODE_ENV=production,
# which refuses the committed dev-only values (deploy/lib/compose-file.ts does the same for the checks).
# SIGNING_KEY_ENCRYPTION_KEY is no password but an AES key: 32 random bytes in base64.
fresh_env_from_example() {
  node -e '
    const { readFileSync, writeFileSync } = require("node:fs");
    const { randomBytes } = require("node:crypto");
    const text = readFileSync(process.argv[1], "utf8")
      .replace(/^SIGNING_KEY_ENCRYPTION_KEY=dev-only-[A-Za-z0-9._~-]*/m, () => "SIGNING_KEY_ENCRYPTION_KEY=" + randomBytes(32).toString("base64"))
      .replace(/=dev-only-[A-Za-z0-9._~-]*/g, () => "=" + randomBytes(24).toString("hex"));
    writeFileSync(process.argv[2], text, { mode: 0o600 });
  ' "$1" "$2"
}

# An .env made before a setting existed (REDIS_PASSWORD, say) lacks it, and compose.yaml's
# ${VAR:?} would stop there: append the lines of .env.example whose key .env does not have,
# values marked dev-only replaced by fresh random ones as above. Values already in .env stay.
add_missing_env() {
  node -e '
    const { readFileSync, appendFileSync } = require("node:fs");
    const { randomBytes } = require("node:crypto");
    const keyOf = (line) => /^\s*([A-Za-z_][A-Za-z0-9_]*)=/.exec(line)?.[1];
    const present = new Set(readFileSync(process.argv[2], "utf8").split("\n").map(keyOf).filter(Boolean));
    const missing = readFileSync(process.argv[1], "utf8").split("\n").filter((line) => keyOf(line) && !present.has(keyOf(line)));
    if (missing.length > 0) {
      const lines = missing.map((line) => line.trim()
        .replace(/^SIGNING_KEY_ENCRYPTION_KEY=dev-only-[A-Za-z0-9._~-]*/, () => "SIGNING_KEY_ENCRYPTION_KEY=" + randomBytes(32).toString("base64"))
        .replace(/=dev-only-[A-Za-z0-9._~-]*/, () => "=" + randomBytes(24).toString("hex")));
      appendFileSync(process.argv[2], `\n# Added from .env.example (fresh values for the dev-only ones)\n${lines.join("\n")}\n`);
      console.log(`added to .env from .env.example: ${missing.map(keyOf).join(", ")}`);
    }
  ' "$1" "$2"
}

ensure_env() {
  if [ ! -f .env ]; then
    fresh_env_from_example .env.example .env
    echo 'created .env from .env.example with fresh random passwords (the admin password is in .env)'
  else
    add_missing_env .env.example .env
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

# Polls URL until it answers 200, for at most SECONDS_LIMIT seconds. The deadline timer also
# keeps Node alive: a fetch whose connection a proxy resets can otherwise leave nothing pending,
# and Node would exit 0 without an answer.
wait_for_ok() {
  local url="$1" limit="${2:-180}"
  node -e '
    const [url, limit] = [process.argv[1], Number(process.argv[2]) * 1000];
    const started = Date.now();
    setTimeout(() => {
      console.error(`${url} did not answer 200 within ${limit / 1000} s`);
      process.exit(1);
    }, limit);
    (async () => {
      for (;;) {
        try {
          const res = await fetch(url, { signal: AbortSignal.timeout(3000) });
          if (res.status === 200) {
            console.log(`${url} answered 200 after ${Math.round((Date.now() - started) / 1000)} s`);
            process.exit(0);
          }
        } catch {}
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
  ' "$url" "$limit"
}
