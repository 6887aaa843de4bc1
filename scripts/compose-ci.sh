#!/usr/bin/env bash
# The Compose stack for real, as CI runs it (root, on a machine without a running Docker engine):
#   1. installs what is missing with apt-get (docker.io, docker-compose, debootstrap)
#   2. starts a private dockerd whose data root and socket live in a temporary folder
#   3. builds local stand-ins for the public images (no image registry is reachable here;
#      deploy/standins/: debian, node, postgres, nats, redis), under the names the Dockerfile and
#      compose.yaml use
#   4. builds the project's images (npm run images)
#   5. starts compose.yaml with REPLICAS (default 2) of every service behind the gateway on
#      127.0.0.1:8080 (and one NATS JetStream broker, one Redis), waits for /readyz, runs the
#      end-to-end journey (e2e/__tests__/journey.test.ts with E2E_GATEWAY_URL) and the smoke
#      journeys (deploy/smoke-journey.ts, each order confirmed through the broker) several at a
#      time, under rate limits raised for one client address (RATE_LIMIT_*, below)
#   5b. proves the gateway kept its rate-limit counters in Redis (keys mini-rl:*)
#   6. proves the services are stateless: every replica served journey requests (per-container
#      "request completed" log lines, health checks excluded)
#   7. tears everything down (containers, volumes, dockerd, firewall rules, bridges, temp folder),
#      also on failure or timeout.
# With a Docker engine already answering (a developer's machine), it uses that engine, skips the
# stand-ins (real images are pulled) and removes only its own project (mini-ecommerce-ci).
# Settings: COMPOSE_CI_TIMEOUT (s, default 1500), REPLICAS (2), COMPOSE_CI_PORT (8080),
#           COMPOSE_CI_DOCKERD (auto|own), COMPOSE_CI_STANDINS (1 with an own dockerd, else 0).
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# Bound the whole run: on timeout the TERM trap below still tears everything down.
if [ -z "${COMPOSE_CI_BOUNDED:-}" ]; then
  export COMPOSE_CI_BOUNDED=1
  exec timeout --kill-after=90 "${COMPOSE_CI_TIMEOUT:-1500}" bash "$0" "$@"
fi

REPLICAS="${REPLICAS:-2}"
PORT="${COMPOSE_CI_PORT:-8080}"
PROJECT=mini-ecommerce-ci
GATEWAY="http://127.0.0.1:$PORT"
started_all=$SECONDS
phase_started=$SECONDS
timings=()

log() { printf '[compose-ci %s] %s\n' "$(date +%T)" "$*"; }
phase() {
  [ -n "$1" ] && : > "$WORK/step.log"
  if [ -n "${current_phase:-}" ]; then timings+=("$(printf '%-34s %4d s' "$current_phase" $((SECONDS - phase_started)))"); fi
  current_phase="$1"
  phase_started=$SECONDS
  [ -n "$1" ] && log "== $1"
  return 0
}

WORK="$(mktemp -d /tmp/mini-compose-ci.XXXXXX)"
DOCKERD_PID=''
OWN_DOCKERD=0
STACK_UP=0
BRIDGES_BEFORE=''
FORWARD_BEFORE=''

source scripts/compose-lib.sh
COMPOSE=(docker-compose)
compose() { timeout "${COMPOSE_TIMEOUT:-300}" "${COMPOSE[@]}" --project-name "$PROJECT" --file compose.yaml --env-file "$WORK/ci.env" "$@"; }

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  set +e
  local failed_phase="${current_phase:-}"
  phase ''
  if [ "$STACK_UP" = 1 ]; then
    if [ "$rc" != 0 ]; then
      log "failed (exit $rc): last log lines of every container"
      compose ps
      compose logs --no-color --tail=40 2>&1 | tail -n 400
    fi
    log 'compose down (containers, networks, volumes)'
    compose down --volumes --remove-orphans > "$WORK/down.log" 2>&1 || tail -5 "$WORK/down.log"
  fi
  if [ "$OWN_DOCKERD" = 1 ]; then
    log 'stopping dockerd'
    if [ -n "$DOCKERD_PID" ] && kill -0 "$DOCKERD_PID" 2> /dev/null; then
      kill -TERM "$DOCKERD_PID"
      for _ in $(seq 1 60); do kill -0 "$DOCKERD_PID" 2> /dev/null || break; sleep 0.5; done
      kill -KILL "$DOCKERD_PID" 2> /dev/null
    fi
    # Whatever dockerd left (containerd shims) is found by our unique folder, not by name.
    for pid in $(grep -l -- "$WORK" /proc/[0-9]*/cmdline 2> /dev/null | cut -d/ -f3); do
      [ "$pid" != $$ ] && kill -KILL "$pid" 2> /dev/null
    done
    grep -- " $WORK" /proc/mounts | awk '{print $2}' | sort -r | xargs -r -n1 umount -l 2> /dev/null
    # Put the firewall and links back as they were before dockerd touched them.
    if [ -f "$WORK/iptables.before" ]; then
      for table in $(iptables-save | sed -n 's/^\*//p'); do
        grep -qx "\*$table" "$WORK/iptables.before" || { iptables -t "$table" -F; iptables -t "$table" -X; }
      done
      iptables-restore < "$WORK/iptables.before"
    fi
    for link in $(ip -o link show type bridge | awk -F': ' '{print $2}'); do
      case " $BRIDGES_BEFORE " in *" $link "*) ;; *) ip link delete "$link" 2> /dev/null ;; esac
    done
    [ -n "$FORWARD_BEFORE" ] && sysctl -qw "net.ipv4.ip_forward=$FORWARD_BEFORE"
  fi
  # The container logs above run to hundreds of lines: say last what the failing step printed.
  if [ "$rc" != 0 ] && [ -s "$WORK/step.log" ]; then
    log "what the failing step ($failed_phase) printed last:"
    tail -n 15 "$WORK/step.log" | sed 's/^/    /'
  fi
  rm -rf "$WORK"
  if [ "${#timings[@]}" -gt 0 ]; then
    log 'timings:'
    printf '    %s\n' "${timings[@]}"
  fi
  log "finished in $((SECONDS - started_all)) s, exit $rc"
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

phase 'tools'
if [ "${COMPOSE_CI_DOCKERD:-auto}" = auto ] && docker info > /dev/null 2>&1; then
  log "using the Docker engine that is already running ($(docker info --format '{{.ServerVersion}}'))"
  STANDINS="${COMPOSE_CI_STANDINS:-0}"
else
  [ "$(id -u)" = 0 ] || { echo 'compose-ci.sh: starting a private dockerd needs root' >&2; exit 1; }
  OWN_DOCKERD=1
  STANDINS="${COMPOSE_CI_STANDINS:-1}"
fi
missing=()
if [ "$OWN_DOCKERD" = 1 ]; then
  command -v dockerd > /dev/null || missing+=(docker.io)
  [ "$STANDINS" = 1 ] && { command -v debootstrap > /dev/null || missing+=(debootstrap); }
fi
docker compose version > /dev/null 2>&1 || command -v docker-compose > /dev/null || missing+=(docker-compose)
if [ "${#missing[@]}" -gt 0 ]; then
  log "apt-get install ${missing[*]}"
  apt-get update -q > "$WORK/apt.log" 2>&1
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}" >> "$WORK/apt.log" 2>&1 || { tail -20 "$WORK/apt.log" >&2; exit 1; }
fi

if [ "$OWN_DOCKERD" = 1 ]; then
  phase 'start dockerd'
  # The docker.io client matches its engine; keep node, npm and the rest where they are.
  mkdir -p "$WORK/bin" "$WORK/docker/data" "$WORK/docker/exec"
  ln -s /usr/bin/docker "$WORK/bin/docker"
  export PATH="$WORK/bin:$PATH"
  iptables-save > "$WORK/iptables.before"
  BRIDGES_BEFORE="$(ip -o link show type bridge | awk -F': ' '{print $2}' | tr '\n' ' ')"
  FORWARD_BEFORE="$(sysctl -n net.ipv4.ip_forward)"
  dockerd --data-root "$WORK/docker/data" --exec-root "$WORK/docker/exec" --pidfile "$WORK/docker/dockerd.pid" \
    --host "unix://$WORK/docker/docker.sock" --default-ulimit nofile=10000:10000 > "$WORK/dockerd.log" 2>&1 &
  DOCKERD_PID=$!
  export DOCKER_HOST="unix://$WORK/docker/docker.sock"
  for _ in $(seq 1 60); do docker info > /dev/null 2>&1 && break; sleep 1; done
  docker info > /dev/null 2>&1 || { tail -30 "$WORK/dockerd.log" >&2; echo 'dockerd did not start' >&2; exit 1; }
  log "dockerd $(docker info --format '{{.ServerVersion}}') up, data in $WORK/docker"
fi
compose_command
log "compose: ${COMPOSE[*]} $("${COMPOSE[@]}" version --short)"

if [ "$STANDINS" = 1 ]; then
  phase 'stand-in base images'
  bash deploy/standins/build-standins.sh "$WORK/standins"
fi

phase 'project images (npm run images)'
if ! npm run images > "$WORK/images.log" 2>&1; then
  if [ -z "${DOCKER_BUILD_FLAGS:-}" ] && grep -qE 'ENOTFOUND|EAI_AGAIN|ECONNREFUSED|ETIMEDOUT' "$WORK/images.log"; then
    log 'the build containers could not reach the npm registry: retrying with --network host'
    DOCKER_BUILD_FLAGS='--network host' npm run images > "$WORK/images.log" 2>&1 || { tail -40 "$WORK/images.log" >&2; exit 1; }
  else
    tail -40 "$WORK/images.log" >&2
    exit 1
  fi
fi
grep -E '^==> .* built in' "$WORK/images.log"
# Every image runs Node.js 24, the LTS the Dockerfile names (from the stand-in or the real image).
for image in $(sed -n 's/^==> \([^ ]*\) built in .*/\1/p' "$WORK/images.log"); do
  node_version="$(docker run --rm --entrypoint node "$image" --version)"
  case "$node_version" in
    v24.*) log "$image runs Node.js $node_version" ;;
    *) echo "compose-ci.sh: $image runs Node.js $node_version, not 24" >&2; exit 1 ;;
  esac
done
docker image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep -E '^(mini-ecommerce/|node:|postgres:|nats:|redis:)' | sort

phase "compose up (${REPLICAS} replicas per service)"
node -e 'const s = require("node:net").createServer(); s.once("error", () => { console.error(`127.0.0.1:${process.argv[1]} is taken: set COMPOSE_CI_PORT`); process.exit(1); }); s.listen(Number(process.argv[1]), "127.0.0.1", () => s.close());' "$PORT"
fresh_env_from_example .env.example "$WORK/fresh.env"
sed -e "s/^GATEWAY_PUBLISH=.*/GATEWAY_PUBLISH=127.0.0.1:$PORT/" -e "s/^COMPOSE_PROJECT_NAME=.*/COMPOSE_PROJECT_NAME=$PROJECT/" "$WORK/fresh.env" > "$WORK/ci.env"
# Every journey comes from one client address: the smoke journeys alone register SMOKE_RUNS users
# and log in twice as often within a minute or two, and the gateway's defaults allow 10
# registrations and 20 logins per minute per client. Raised, not turned off (0), so every limit
# still counts, in Redis. Compose prefers these exported values to those in ci.env.
export RATE_LIMIT_PER_MINUTE="${RATE_LIMIT_PER_MINUTE:-100000}"
export RATE_LIMIT_LOGIN_PER_MINUTE="${RATE_LIMIT_LOGIN_PER_MINUTE:-10000}"
export RATE_LIMIT_REGISTER_PER_MINUTE="${RATE_LIMIT_REGISTER_PER_MINUTE:-10000}"
log "gateway rate limits per client and minute: $RATE_LIMIT_PER_MINUTE requests, $RATE_LIMIT_LOGIN_PER_MINUTE logins, $RATE_LIMIT_REGISTER_PER_MINUTE registrations"
compose config --quiet
STACK_UP=1
compose up --detach --scale "user-service=$REPLICAS" --scale "product-service=$REPLICAS" --scale "order-service=$REPLICAS"
wait_for_ok "$GATEWAY/readyz" 180
compose ps

E2E_ADMIN_USERNAME="$(sed -n 's/^ADMIN_USERNAME=//p' "$WORK/ci.env")"
E2E_ADMIN_PASSWORD="$(sed -n 's/^ADMIN_PASSWORD=//p' "$WORK/ci.env")"
export E2E_GATEWAY_URL="$GATEWAY" E2E_ADMIN_USERNAME E2E_ADMIN_PASSWORD

if [ -f e2e/__tests__/journey.test.ts ]; then
  phase 'e2e journey (vitest, via :8080)'
  timeout 300 npx vitest run e2e/__tests__/journey.test.ts 2>&1 | tee "$WORK/step.log"
fi

# Many journeys at once: the gateway (and the order service towards products) then open several
# kept-alive connections per upstream, and Docker's DNS hands each new connection a random
# replica. Sequential requests would ride one connection to one replica.
phase 'smoke journeys, 32 at a time'
timeout 300 npx tsx deploy/smoke-journey.ts --url "$GATEWAY" --runs "${SMOKE_RUNS:-64}" --concurrency 32 2>&1 | tee "$WORK/step.log"

# Right after the journeys, while their counters live (a minute per client, 15 minutes for the
# failed logins the e2e journey makes): the gateway counted in Redis, shared by its replicas, not
# in its own memory (its fallback while Redis is away). Asked from inside the container: the
# network is internal and the port not published; redis-cli takes the password from REDISCLI_AUTH.
phase 'rate-limit counters in Redis'
if ! scan="$(compose exec -T redis redis-cli --scan --pattern 'mini-rl:*' 2>&1)"; then
  echo "compose-ci.sh: could not list the rate-limit counters in Redis: $scan" >&2
  exit 1
fi
counters="$(printf '%s\n' "$scan" | grep -c '^mini-rl:' || true)"
if [ "$counters" -eq 0 ]; then
  echo 'compose-ci.sh: Redis holds no rate-limit counter (mini-rl:*) after the journeys, so the gateway counted in memory. What it logged about Redis:' >&2
  compose logs --no-color gateway 2>&1 | grep 'rate-limit counters' | tail -5 >&2 || true
  exit 1
fi
log "Redis holds $counters rate-limit counters, e.g. $(printf '%s\n' "$scan" | grep -m1 '^mini-rl:')"

phase 'replicas share the work'
spread_ok=1
for service in user-service product-service order-service; do
  for id in $(compose ps -q "$service"); do
    name="$(docker inspect --format '{{.Name}}' "$id")"
    # Journey requests only: the health checks of Docker and the gateway would spread anyway.
    count="$(docker logs "$id" 2>&1 | grep '"msg":"request completed"' | grep -cE '"url":"/(users|products|orders)' || true)"
    printf '    %-40s %5d journey requests\n' "${name#/}" "$count"
    if [ "$REPLICAS" -gt 1 ] && [ "$count" -eq 0 ]; then spread_ok=0; fi
  done
done
if [ "$spread_ok" != 1 ]; then
  echo 'compose-ci.sh: a replica served no journey request, so the spread over replicas is not shown' >&2
  exit 1
fi
log "every replica of every service served journey requests against the same databases"

# The saga went through the broker: its stream keeps the events of every journey's order (placed,
# then reserved), so it must hold at least one per smoke journey. Asked from inside the container:
# the broker's network is internal and its monitoring port is not published.
phase 'events went through NATS JetStream'
jsz="$(compose exec -T nats wget -q -O - 'http://127.0.0.1:8222/jsz')"
events="$(node -e 'console.log(JSON.parse(process.argv[1]).messages ?? 0)' "$jsz")"
log "JetStream holds $events events in $(node -e 'console.log(JSON.parse(process.argv[1]).streams ?? 0)' "$jsz") stream(s)"
if [ "$events" -lt "${SMOKE_RUNS:-64}" ]; then
  echo "compose-ci.sh: the broker holds $events events, fewer than one per smoke journey" >&2
  exit 1
fi
phase ''
