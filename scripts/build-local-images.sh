#!/usr/bin/env bash
# Builds Pilot's base images without any registry, from this machine's own binaries:
#   a Node image (a debootstrapped Debian bookworm root + host node, npm and corepack), which
#   behaves like node:NN-bookworm-slim: a complete glibc, so prebuilt native modules (SWC,
#   esbuild, rolldown, sharp) load; and a static image (host caddy, busybox for sh).
# Both carry the host CA bundle and NODE_EXTRA_CA_CERTS, so npm inside builds trusts the
# network's TLS proxy, and the Node image sets what corepack needs behind that proxy. Those
# settings belong to these local test images only, never to users' builds.
# The bookworm root is also the "fresh machine" of test/e2e/install.test.ts (one debootstrap).
# Idempotent: an image whose inputs did not change is kept. Prints the PILOT_*_IMAGE lines.
set -euo pipefail

PREFIX="${PILOT_LOCAL_IMAGE_PREFIX:-pilot-local}"
CA_BUNDLE="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
NODE_BIN="$(readlink -f "$(command -v node)")"
NODE_MAJOR="$("$NODE_BIN" -p 'process.versions.node.split(".")[0]')"
NPM_DIR="$(dirname "$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")")"
CADDY_BIN="$(readlink -f "$(command -v caddy)")"
BUSYBOX_BIN="$(command -v busybox || true)"
SCRIPT_HASH="$(sha256sum "$0" | cut -c1-12)"

die() { echo "build-local-images: $*" >&2; exit 1; }
[ -n "$BUSYBOX_BIN" ] || die "busybox is missing: apt-get install -y busybox-static"
[ -f "$CA_BUNDLE" ] || die "no CA bundle at $CA_BUNDLE"
docker version >/dev/null 2>&1 || die "no Docker engine answers"

# Copies a binary and every library it links into the root file system.
copy_with_libraries() {
  local binary="$1" root="$2"
  install -D -m 0755 "$binary" "$root$binary"
  ldd "$binary" | grep -o '/[^ ]*' | while read -r lib; do
    [ -e "$lib" ] && install -D -m 0755 "$(readlink -f "$lib")" "$root$lib"
  done
}

base_root() {
  local root="$1"
  mkdir -p "$root"/{bin,usr/bin,etc/ssl/certs,tmp,root,app,srv}
  chmod 1777 "$root/tmp"
  install -m 0755 "$BUSYBOX_BIN" "$root/bin/busybox"
  for applet in $("$BUSYBOX_BIN" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  ln -sf /bin/env "$root/usr/bin/env"
  cp "$CA_BUNDLE" "$root/etc/ssl/certs/ca-certificates.crt"
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
}

# Whether IMAGE exists, labelled with KEY (the hash of its inputs); says so when it does.
image_up_to_date() {
  local image="$1" key="$2"
  [ "$(docker image inspect -f '{{index .Config.Labels "pilot.local-image.key"}}' "$image" 2>/dev/null || true)" = "$key" ] || return 1
  echo "build-local-images: $image is up to date" >&2
}

# Builds IMAGE from the root made by FUNCTION unless an image with the same KEY exists.
build_image() {
  local image="$1" key="$2" fill="$3"; shift 3
  image_up_to_date "$image" "$key" && return
  local root
  root="$(mktemp -d)"
  trap 'rm -rf "$root"' RETURN
  base_root "$root"
  "$fill" "$root"
  tar -C "$root" -c . | docker import "$@" --change "LABEL pilot.local-image.key=$key" - "$image" >/dev/null
  echo "build-local-images: built $image" >&2
}

debian_mirror() {
  local file uri
  for file in /etc/apt/sources.list.d/debian.sources /etc/apt/sources.list; do
    [ -f "$file" ] || continue
    uri="$(grep -m1 -oP '^(URIs:\s*|deb\s+)\K\S+' "$file" || true)"
    [ -n "$uri" ] && { echo "$uri"; return; }
  done
  echo http://deb.debian.org/debian
}

# A plain Debian bookworm (minbase), as a fresh server or node:NN-bookworm-slim starts from.
ensure_bookworm() {
  docker image inspect "$BOOKWORM_IMAGE" >/dev/null 2>&1 && return
  command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
  local root
  root="$(mktemp -d)"
  debootstrap --variant=minbase bookworm "$root" "$(debian_mirror)" >/dev/null 2>&1 \
    || { rm -rf "$root"; die "debootstrap of bookworm failed"; }
  tar -C "$root" -c . | docker import - "$BOOKWORM_IMAGE" >/dev/null
  rm -rf "$root"
  echo "build-local-images: built $BOOKWORM_IMAGE" >&2
}

# The Node image: bookworm + the host's node (same Debian, same glibc), npm and corepack.
build_node_image() {
  local key="$1"
  image_up_to_date "$NODE_IMAGE" "$key" && return
  local context
  context="$(mktemp -d)"
  trap 'rm -rf "$context"' RETURN
  mkdir -p "$context/root/usr/bin" "$context/root/usr/lib/node_modules" "$context/root/etc/ssl/certs"
  install -m 0755 "$NODE_BIN" "$context/root/usr/bin/node"
  cp -a "$NPM_DIR/npm" "$context/root/usr/lib/node_modules/npm"
  ln -s ../lib/node_modules/npm/bin/npm-cli.js "$context/root/usr/bin/npm"
  ln -s ../lib/node_modules/npm/bin/npx-cli.js "$context/root/usr/bin/npx"
  if [ -d "$NPM_DIR/corepack" ]; then
    cp -a "$NPM_DIR/corepack" "$context/root/usr/lib/node_modules/corepack"
    ln -s ../lib/node_modules/corepack/dist/corepack.js "$context/root/usr/bin/corepack"
  fi
  cp "$CA_BUNDLE" "$context/root/etc/ssl/certs/ca-certificates.crt"
  cat >"$context/Dockerfile" <<DOCKERFILE
FROM $BOOKWORM_IMAGE
COPY root/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \\
    SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt HOME=/root \\
    COREPACK_INTEGRITY_KEYS=0 COREPACK_NPM_REGISTRY=$NPM_REGISTRY
LABEL pilot.local-image.key=$key
CMD ["node"]
DOCKERFILE
  docker build -q -t "$NODE_IMAGE" "$context" >/dev/null 2>"$context/build.log" \
    || { cat "$context/build.log" >&2; die "docker build of $NODE_IMAGE failed"; }
  echo "build-local-images: built $NODE_IMAGE" >&2
}

fill_static() {
  copy_with_libraries "$CADDY_BIN" "$1"
  [ "$CADDY_BIN" = /usr/bin/caddy ] || ln -s "$CADDY_BIN" "$1/usr/bin/caddy"
  return 0
}

COMMON_ENV=(--change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' --change "ENV NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt"
  --change 'ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt')
NODE_IMAGE="$PREFIX/node:$NODE_MAJOR"
STATIC_IMAGE="$PREFIX/static:latest"
BOOKWORM_IMAGE="$PREFIX/bookworm-fresh:latest"
# Corepack fetches pnpm and yarn from the npm registry this machine reaches.
NPM_REGISTRY="$(npm config get registry 2>/dev/null | sed 's#/*$##')"

ensure_bookworm
build_node_image "$SCRIPT_HASH-$("$NODE_BIN" --version)-$(npm --version 2>/dev/null)-$(docker image inspect -f '{{.Id}}' "$BOOKWORM_IMAGE" | cut -c8-19)"
build_image "$STATIC_IMAGE" "$SCRIPT_HASH-$(caddy version | cut -d' ' -f1)" fill_static \
  "${COMMON_ENV[@]}" --change 'ENV HOME=/tmp' --change 'ENV XDG_DATA_HOME=/tmp/caddy-data' \
  --change 'ENV XDG_CONFIG_HOME=/tmp/caddy-config' --change 'CMD ["caddy", "version"]'

echo "PILOT_NODE_IMAGE=$NODE_IMAGE"
echo "PILOT_STATIC_IMAGE=$STATIC_IMAGE"
