#!/usr/bin/env bash
# Makes sure a NATS server with JetStream listens on 127.0.0.1:4222 (CI's event-bus tests need one):
# nothing to do when one answers; otherwise installs Debian's nats-server if missing and starts it.
set -euo pipefail
listening() { (exec 3<>/dev/tcp/127.0.0.1/4222) 2>/dev/null; }
if listening; then
  echo "ensure-nats: a NATS server already listens on 127.0.0.1:4222"
  exit 0
fi
if ! command -v nats-server >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nats-server >/dev/null
fi
store=$(mktemp -d /tmp/ci-nats-XXXXXX)
nats-server -a 127.0.0.1 -p 4222 -js -sd "$store" -l "$store/nats.log" &
for _ in $(seq 1 50); do
  if listening; then
    echo "ensure-nats: started nats-server (pid $!) on 127.0.0.1:4222, store $store"
    exit 0
  fi
  sleep 0.2
done
echo "ensure-nats: nats-server did not start; see $store/nats.log" >&2
exit 1
