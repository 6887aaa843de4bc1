#!/usr/bin/env bash
# Builds and tags one image per deployable from the root Dockerfile: mini-ecommerce/<name>:<tag>.
#   scripts/images.sh                 all four, tag "dev"
#   scripts/images.sh gateway         only the named ones
#   IMAGE_TAG=0.1.0 scripts/images.sh another tag (what k8s/overlays/prod pins)
#   DOCKER_BUILD_FLAGS="--network host" scripts/images.sh   extra `docker build` flags
# compose.yaml, k8s/ and deploy/__tests__ read the same names: change them together.
set -Eeuo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

IMAGE_PREFIX="${IMAGE_PREFIX:-mini-ecommerce}"
IMAGE_TAG="${IMAGE_TAG:-dev}"
DOCKER="${DOCKER:-docker}"
read -r -a extra_flags <<< "${DOCKER_BUILD_FLAGS:-}"

# image name | workspace | port (the configSchema PORT default of that workspace)
DEPLOYABLES=(
  "user-service services/user 3001"
  "product-service services/product 3002"
  "order-service services/order 3003"
  "gateway gateway 8080"
)

wanted=("$@")
built=0
for entry in "${DEPLOYABLES[@]}"; do
  read -r name workspace port <<< "$entry"
  if [ "${#wanted[@]}" -gt 0 ] && [[ " ${wanted[*]} " != *" $name "* ]]; then continue; fi
  image="$IMAGE_PREFIX/$name:$IMAGE_TAG"
  echo "==> $image ($workspace, port $port)"
  started=$SECONDS
  "$DOCKER" build "${extra_flags[@]}" \
    --build-arg "WORKSPACE=$workspace" \
    --build-arg "PORT=$port" \
    --label "org.opencontainers.image.title=$name" \
    --tag "$image" \
    --file Dockerfile .
  echo "==> $image built in $((SECONDS - started)) s"
  built=$((built + 1))
done

if [ "$built" -eq 0 ]; then
  echo "images.sh: no deployable named: ${wanted[*]} (known: user-service product-service order-service gateway)" >&2
  exit 1
fi
"$DOCKER" image ls --format '{{.Repository}}:{{.Tag}}  {{.Size}}' | grep "^$IMAGE_PREFIX/" | grep ":$IMAGE_TAG " || true
