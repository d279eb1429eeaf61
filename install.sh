#!/usr/bin/env bash
# Pilot's server installer: a fresh Debian 12+ / Ubuntu 22.04+ server to `git push` in one line.
#
#   curl -fsSL <url>/install.sh | sudo bash -s -- --domain example.com --email me@example.com
#   sudo ./install.sh --domain example.com --email me@example.com      # from a checkout
#   sudo ./install.sh --manager ...      # the same, as the manager of a Docker Swarm (docs/swarm.md)
#   sudo ./install.sh --join MANAGER:2377 --token TOKEN --registry-ca-sha256 FP   # adds a server to it
#
# Re-running it upgrades Pilot in place (apps, releases, tokens and data stay).
# `--uninstall` removes the services and files and keeps the data; `--purge` removes the data too.
# The terminal gets one `==>` line per step with its time; everything else goes to the log file
# (/var/log/pilot/install.log), or to the terminal too with -v.
# Every option can also be given in the environment (the name in brackets in --help).
set -euo pipefail

# ---------------------------------------------------------------------------------------------
# Options: flags win over the environment, the environment over the settings of an existing
# installation (re-runs keep them), and those over the defaults.
declare -A GIVEN=()
for variable in PILOT_DOMAIN PILOT_ACME_EMAIL PILOT_DATA_DIR PILOT_PORT PILOT_HTTP_PORT PILOT_HTTPS_PORT PILOT_TLS PILOT_INSTANCE PILOT_NODE_IMAGE PILOT_STATIC_IMAGE PILOT_SCHEDULER PILOT_REGISTRY_IMAGE PILOT_CADDY_IMAGE; do
  [ -z "${!variable:-}" ] || GIVEN[$variable]=1
done
DOMAIN="${PILOT_DOMAIN:-}"
EMAIL="${PILOT_ACME_EMAIL:-}"
SOURCE="${PILOT_SOURCE:-}"
PREFIX="${PILOT_PREFIX:-/opt/pilot}"
DATA_DIR="${PILOT_DATA_DIR:-/var/lib/pilot}"
CONFIG_DIR="${PILOT_CONFIG_DIR:-/etc/pilot}"
PORT="${PILOT_PORT:-3000}"
HTTP_PORT="${PILOT_HTTP_PORT:-80}"
HTTPS_PORT="${PILOT_HTTPS_PORT:-443}"
TLS="${PILOT_TLS:-}"
INSTANCE="${PILOT_INSTANCE:-pilot}"
NODE_IMAGE="${PILOT_NODE_IMAGE:-}"
STATIC_IMAGE="${PILOT_STATIC_IMAGE:-}"
NODE_MAJOR="${PILOT_NODE_MAJOR:-22}"
NPM_MAJOR="${PILOT_NPM_MAJOR:-11}"
NPM_REGISTRY="${PILOT_NPM_REGISTRY:-https://registry.npmjs.org}"
MIN_FREE_GB="${PILOT_MIN_FREE_GB:-3}"
DRY_RUN="${PILOT_DRY_RUN:-0}"
UNINSTALL="${PILOT_UNINSTALL:-0}"
PURGE="${PILOT_PURGE:-0}"
HEALTH_TIMEOUT="${PILOT_INSTALL_HEALTH_TIMEOUT:-180}"
HTTPS_TIMEOUT="${PILOT_INSTALL_HTTPS_TIMEOUT:-30}"
PUBLIC_IP="${PILOT_PUBLIC_IP:-}"
VERBOSE="${PILOT_VERBOSE:-0}"
LOG_FILE="${PILOT_INSTALL_LOG:-/var/log/pilot/install.log}"
# What --uninstall does with the apps' containers: keep (serving, with Caddy) or remove; empty: ask.
APPS_ON_UNINSTALL="${PILOT_UNINSTALL_APPS:-}"
# Swarm (docs/swarm.md): --manager makes this server the cluster's manager; --join adds it to one.
SCHEDULER="${PILOT_SCHEDULER:-}"
REGISTRY_IMAGE="${PILOT_REGISTRY_IMAGE:-}"
CADDY_IMAGE="${PILOT_CADDY_IMAGE:-}"
ADVERTISE_ADDR="${PILOT_ADVERTISE_ADDR:-}"
JOIN="${PILOT_JOIN:-}"
JOIN_TOKEN="${PILOT_JOIN_TOKEN:-}"
REGISTRY="${PILOT_JOIN_REGISTRY:-}"
REGISTRY_CA_SHA256="${PILOT_REGISTRY_CA_SHA256:-}"

usage() {
  cat <<USAGE
Usage: sudo ./install.sh [options]      (or: curl -fsSL URL/install.sh | sudo bash -s -- [options])

Installs or upgrades Pilot on Debian 12+ / Ubuntu 22.04+ (x86-64 or arm64), as root.

Options (environment variable in brackets):
  --domain NAME        apps answer at <app>.NAME, the API at pilot.NAME [PILOT_DOMAIN] (default: localhost)
  --email ADDRESS      contact for ACME certificates [PILOT_ACME_EMAIL]
  --tls MODE           acme, internal or off [PILOT_TLS] (default: internal for localhost/IPs, else acme;
                       acme needs DNS pointing here: the installer checks it first and stops when it does not)
  --public-ip ADDRESS  this server's public address, for the DNS check and records [PILOT_PUBLIC_IP]
                       (default: asked from api.ipify.org, else the first address of this machine)
  --source DIR|URL     Pilot's source: a checkout or a .tar.gz URL [PILOT_SOURCE]
                       (default: the checkout this script is in)
  --prefix DIR         where Pilot is installed [PILOT_PREFIX] (default: /opt/pilot)
  --data-dir DIR       apps, releases, repositories, certificates [PILOT_DATA_DIR] (default: /var/lib/pilot)
  --config-dir DIR     where pilot.env is written [PILOT_CONFIG_DIR] (default: /etc/pilot)
  --port N             API and git over HTTP, on 127.0.0.1 [PILOT_PORT] (default: 3000)
  --http-port N        Caddy's HTTP port [PILOT_HTTP_PORT] (default: 80)
  --https-port N       Caddy's HTTPS port [PILOT_HTTPS_PORT] (default: 443)
  --instance NAME      prefix of Pilot's Docker objects [PILOT_INSTANCE] (default: pilot)
  --node-image IMAGE   base image of the Node buildpack [PILOT_NODE_IMAGE]
  --static-image IMAGE base image of the static buildpack [PILOT_STATIC_IMAGE]
  --node-major N       Node.js major to install when the machine has none >= 20 [PILOT_NODE_MAJOR] (default: 22)
  --npm-major N        npm major to install along, where Node.js comes without one [PILOT_NPM_MAJOR] (default: 11)
  --npm-registry URL   npm registry for Pilot's dependencies [PILOT_NPM_REGISTRY]
  -v, --verbose        print every command's output too (it always goes to the log) [PILOT_VERBOSE=1]
  --log FILE           the full log [PILOT_INSTALL_LOG] (default: /var/log/pilot/install.log)
  --dry-run            print what would be done, change nothing [PILOT_DRY_RUN=1]
  --uninstall          remove Pilot's services and files, keep the data [PILOT_UNINSTALL=1]
  --keep-apps          with --uninstall: the apps' containers and Caddy keep serving their last routes
  --remove-apps        with --uninstall: stop and remove the apps' containers [PILOT_UNINSTALL_APPS=keep|remove]
                       (neither: asked on a terminal, else kept)
  --purge              --uninstall --remove-apps, and also remove the data and Pilot's Docker objects [PILOT_PURGE=1]
  -h, --help           this help

Several servers (Docker Swarm, docs/swarm.md):
  --manager            install Pilot as the manager of a swarm: \`docker swarm init\` when the engine is in
                       none, and PILOT_SCHEDULER=swarm [PILOT_SCHEDULER=swarm]
  --advertise-addr IP  the address the other servers reach this one at (swarm init or join)
                       [PILOT_ADVERTISE_ADDR] (default: Docker's choice)
  --registry-image IMAGE  the image of the registry Pilot runs on the manager [PILOT_REGISTRY_IMAGE]
                       (default: registry:2)
  --caddy-image IMAGE  the image of Caddy's container on the manager; it needs /bin/sh and ip [PILOT_CADDY_IMAGE]
                       (default: caddy:2-alpine)
  --join MANAGER       add this server to the swarm of MANAGER (host:2377) as a node that runs apps; installs
                       Docker, trusts Pilot's registry, joins; no Pilot here [PILOT_JOIN]
                       (\`pilot nodes:join-command\` on the manager prints the whole line)
  --token TOKEN        with --join: the swarm's join token [PILOT_JOIN_TOKEN]
  --registry HOST:PORT with --join: Pilot's registry [PILOT_JOIN_REGISTRY] (default: MANAGER's host, port 5000)
  --registry-ca-sha256 FINGERPRINT
                       with --join: the SHA-256 fingerprint of the registry's CA; the CA the registry presents
                       is trusted only if it matches [PILOT_REGISTRY_CA_SHA256]
USAGE
}

# ---------------------------------------------------------------------------------------------
# Output: fd 3 and 4 are the terminal; once the log is open (open_log), stdout and stderr of
# every command go to the log only (with -v: to the terminal too), and `say` writes to both.
exec 3>&1 4>&2
LOG_OPEN=0
REPORTED=0
trap 'on_exit $?' EXIT
say() {
  printf '%s\n' "$*"
  if [ "$LOG_OPEN" = 1 ] && [ "$VERBOSE" != 1 ]; then printf '%s\n' "$*" >&3; fi
}

open_log() {
  [ "$DRY_RUN" = 1 ] && return
  mkdir -p "$(dirname "$LOG_FILE")"
  # Root's only, and without the join token: it lets any machine join the swarm (and pull its images).
  local shown=() arg hide=0
  for arg in "$@"; do
    if [ "$hide" = 1 ]; then shown+=('***'); hide=0; continue; fi
    case "$arg" in --token) hide=1; shown+=("$arg") ;; --token=*) shown+=('--token=***') ;; *) shown+=("$arg") ;; esac
  done
  (umask 077 && printf '\n# %s install.sh %s\n' "$(date -u +%FT%TZ)" "${shown[*]}" >>"$LOG_FILE")
  chmod 600 "$LOG_FILE"
  if [ "$VERBOSE" = 1 ]; then
    exec > >(tee -a "$LOG_FILE") 2>&1
  else
    exec >>"$LOG_FILE" 2>&1
  fi
  LOG_OPEN=1
}

# A command that failed under set -e says nothing on a quiet terminal: show where and why.
# shellcheck disable=SC2317  # called by the EXIT trap
on_exit() {
  local code="$1"
  [ "$code" = 0 ] || [ "$REPORTED" = 1 ] || report_failure with-log "failed (exit status $code) during: ${STEP_NAME:-start}"
}

# report_failure with-log|alone MESSAGE: with-log shows the log's last lines (a command's output).
report_failure() {
  local show="$1" quiet=0
  shift
  REPORTED=1
  [ "$LOG_OPEN" = 1 ] && [ "$VERBOSE" != 1 ] && quiet=1
  if [ "$quiet" = 1 ] && [ "$show" = with-log ]; then
    { printf '    last lines of the log:\n'; tail -n 25 "$LOG_FILE" | sed 's/^/    | /'; } >&4
  fi
  printf 'install.sh: error: %s\n' "$*" >&2
  if [ "$quiet" = 1 ]; then printf 'install.sh: error: %s\n' "$*" >&4; fi
  if [ "$LOG_OPEN" = 1 ]; then say "    full log: $LOG_FILE"; fi
}

die() {
  report_failure alone "$*"
  exit 1
}

# For a command that failed: its output is in the log.
die_showing_log() {
  report_failure with-log "$*"
  exit 1
}

# One `==>` line per step; the time of the step before it is printed when the next one starts.
STEP_NAME=""
STEP_STARTED=""
INSTALL_STARTED="$EPOCHREALTIME"
step() {
  end_step
  say "==> $*"
  STEP_NAME="$*"
  STEP_STARTED="$EPOCHREALTIME"
}
end_step() {
  [ -n "$STEP_STARTED" ] || return 0
  [ "$DRY_RUN" = 1 ] || say "    took $(seconds_since "$STEP_STARTED")"
  STEP_STARTED=""
}
# "0.4 s", "1 min 42 s": the time since an $EPOCHREALTIME.
seconds_since() {
  local start="${1/./}" now="${EPOCHREALTIME/./}" tenths
  tenths=$(((now - start) / 100000))
  if [ "$tenths" -lt 600 ]; then printf '%d.%d s' $((tenths / 10)) $((tenths % 10)); else printf '%d min %d s' $((tenths / 600)) $((tenths / 10 % 60)); fi
}
note() { say "    $*"; }

# Runs a command, or only says it would with --dry-run.
run() {
  if [ "$DRY_RUN" = 1 ]; then
    note "would run: $*"
  else
    "$@"
  fi
}

# write_file PATH MODE: the content comes on stdin.
write_file() {
  local target="$1" mode="$2" content
  content="$(cat)"
  if [ "$DRY_RUN" = 1 ]; then
    note "would write $target (mode $mode)"
    return
  fi
  mkdir -p "$(dirname "$target")"
  printf '%s\n' "$content" >"$target.tmp"
  chmod "$mode" "$target.tmp"
  mv "$target.tmp" "$target"
}

parse_args() {
  while [ "$#" -gt 0 ]; do
    case "$1" in
      --domain) DOMAIN="${2:?--domain needs a value}"; GIVEN[PILOT_DOMAIN]=1; shift ;;
      --email) EMAIL="${2:?--email needs a value}"; GIVEN[PILOT_ACME_EMAIL]=1; shift ;;
      --tls) TLS="${2:?--tls needs a value}"; GIVEN[PILOT_TLS]=1; shift ;;
      --source) SOURCE="${2:?--source needs a value}"; shift ;;
      --prefix) PREFIX="${2:?--prefix needs a value}"; shift ;;
      --data-dir) DATA_DIR="${2:?--data-dir needs a value}"; GIVEN[PILOT_DATA_DIR]=1; shift ;;
      --config-dir) CONFIG_DIR="${2:?--config-dir needs a value}"; shift ;;
      --port) PORT="${2:?--port needs a value}"; GIVEN[PILOT_PORT]=1; shift ;;
      --http-port) HTTP_PORT="${2:?--http-port needs a value}"; GIVEN[PILOT_HTTP_PORT]=1; shift ;;
      --https-port) HTTPS_PORT="${2:?--https-port needs a value}"; GIVEN[PILOT_HTTPS_PORT]=1; shift ;;
      --instance) INSTANCE="${2:?--instance needs a value}"; GIVEN[PILOT_INSTANCE]=1; shift ;;
      --node-image) NODE_IMAGE="${2:?--node-image needs a value}"; GIVEN[PILOT_NODE_IMAGE]=1; shift ;;
      --static-image) STATIC_IMAGE="${2:?--static-image needs a value}"; GIVEN[PILOT_STATIC_IMAGE]=1; shift ;;
      --node-major) NODE_MAJOR="${2:?--node-major needs a value}"; shift ;;
      --npm-major) NPM_MAJOR="${2:?--npm-major needs a value}"; shift ;;
      --npm-registry) NPM_REGISTRY="${2:?--npm-registry needs a value}"; shift ;;
      --public-ip) PUBLIC_IP="${2:?--public-ip needs a value}"; shift ;;
      -v | --verbose) VERBOSE=1 ;;
      --log) LOG_FILE="${2:?--log needs a value}"; shift ;;
      --dry-run) DRY_RUN=1 ;;
      --uninstall) UNINSTALL=1 ;;
      --keep-apps) APPS_ON_UNINSTALL=keep ;;
      --remove-apps) APPS_ON_UNINSTALL=remove ;;
      --purge) UNINSTALL=1; PURGE=1 ;;
      --manager) SCHEDULER=swarm; GIVEN[PILOT_SCHEDULER]=1 ;;
      --advertise-addr) ADVERTISE_ADDR="${2:?--advertise-addr needs a value}"; shift ;;
      --registry-image) REGISTRY_IMAGE="${2:?--registry-image needs a value}"; GIVEN[PILOT_REGISTRY_IMAGE]=1; shift ;;
      --caddy-image) CADDY_IMAGE="${2:?--caddy-image needs a value}"; GIVEN[PILOT_CADDY_IMAGE]=1; shift ;;
      --join) JOIN="${2:?--join needs the address of the manager}"; shift ;;
      --token) JOIN_TOKEN="${2:?--token needs a value}"; shift ;;
      --registry) REGISTRY="${2:?--registry needs HOST:PORT}"; shift ;;
      --registry-ca-sha256) REGISTRY_CA_SHA256="${2:?--registry-ca-sha256 needs a fingerprint}"; shift ;;
      -h | --help) usage; exit 0 ;;
      *) usage >&2; die "unknown option: $1" ;;
    esac
    shift
  done
  if [ -n "$JOIN" ]; then check_join_args; return; fi
  keep_installed_settings
  DOMAIN="${DOMAIN:-localhost}"
  case "$SCHEDULER" in '' | docker | swarm) ;; *) die "PILOT_SCHEDULER must be docker or swarm, not '$SCHEDULER'" ;; esac
  [ -z "$ADVERTISE_ADDR" ] || is_ip "$ADVERTISE_ADDR" || die "--advertise-addr '$ADVERTISE_ADDR' is not an IP address"
  for number in "$PORT" "$HTTP_PORT" "$HTTPS_PORT" "$NODE_MAJOR" "$NPM_MAJOR" "$MIN_FREE_GB"; do
    [[ "$number" =~ ^[0-9]+$ ]] || die "'$number' is not a number"
  done
  [[ "$DOMAIN" =~ ^[A-Za-z0-9.-]+$ ]] || die "--domain '$DOMAIN' is not a host name"
  case "$TLS" in '' | acme | internal | off) ;; *) die "--tls must be acme, internal or off, not '$TLS'" ;; esac
  [ -z "$PUBLIC_IP" ] || is_ip "$PUBLIC_IP" || die "--public-ip '$PUBLIC_IP' is not an IP address"
  case "$APPS_ON_UNINSTALL" in '' | keep | remove) ;; *) die "PILOT_UNINSTALL_APPS must be keep or remove, not '$APPS_ON_UNINSTALL'" ;; esac
  if [ "$PURGE" = 1 ] && [ "$APPS_ON_UNINSTALL" = keep ]; then die "--purge removes the apps: it cannot go with --keep-apps"; fi
  [ "$PURGE" = 1 ] && APPS_ON_UNINSTALL=remove
  # Chosen now or by the installed settings: an upgrade never stops on DNS it was told to use.
  TLS_CHOSEN=0
  [ -z "$TLS" ] || TLS_CHOSEN=1
  TLS="${TLS:-$(default_tls "$DOMAIN")}"
  if [ "$TLS" = acme ] && is_local_domain "$DOMAIN"; then die "--tls acme cannot get certificates for '$DOMAIN': use --tls internal or off"; fi
}

is_ip() { [[ "$1" =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || "$1" =~ ^[0-9A-Fa-f:]+:[0-9A-Fa-f:]*$ ]]; }
# As src/config.ts: no public certificate exists for these names.
is_local_domain() { [ "$1" = localhost ] || [[ "$1" == *.localhost ]] || is_ip "$1"; }
default_tls() { if is_local_domain "$1"; then echo internal; else echo acme; fi; }

# An upgrade keeps the settings of the installation unless told otherwise: a re-run without the
# first run's flags must not move the apps to another domain or Pilot to an empty data dir.
keep_installed_settings() {
  local file="$CONFIG_DIR/pilot.env" line key value
  [ -r "$file" ] || return 0
  while IFS= read -r line; do
    [[ "$line" =~ ^(PILOT_[A-Z_]+)=(.*)$ ]] || continue
    key="${BASH_REMATCH[1]}"
    value="${BASH_REMATCH[2]}"
    [ -z "${GIVEN[$key]:-}" ] || continue
    case "$key" in
      PILOT_DOMAIN) DOMAIN="$value" ;;
      PILOT_ACME_EMAIL) EMAIL="$value" ;;
      PILOT_DATA_DIR) DATA_DIR="$value" ;;
      PILOT_PORT) PORT="$value" ;;
      PILOT_HTTP_PORT) HTTP_PORT="$value" ;;
      PILOT_HTTPS_PORT) HTTPS_PORT="$value" ;;
      PILOT_TLS) TLS="$value" ;;
      PILOT_INSTANCE) INSTANCE="$value" ;;
      PILOT_NODE_IMAGE) NODE_IMAGE="$value" ;;
      PILOT_STATIC_IMAGE) STATIC_IMAGE="$value" ;;
      PILOT_SCHEDULER) SCHEDULER="$value" ;;
      PILOT_REGISTRY_IMAGE) REGISTRY_IMAGE="$value" ;;
      PILOT_CADDY_IMAGE) CADDY_IMAGE="$value" ;;
    esac
  done <"$file"
}

# ---------------------------------------------------------------------------------------------
# Checks: each failure says what to do.
check_root() {
  [ "$(id -u)" = 0 ] || die "run as root: sudo ./install.sh ... (or curl ... | sudo bash -s -- ...)"
}

check_os() {
  [ -r /etc/os-release ] || die "cannot read /etc/os-release: Pilot supports Debian 12+ and Ubuntu 22.04+"
  local id version major
  # shellcheck source=/dev/null
  id="$(. /etc/os-release && printf '%s' "${ID:-}")"
  # shellcheck source=/dev/null
  version="$(. /etc/os-release && printf '%s' "${VERSION_ID:-0}")"
  major="${version%%.*}"
  case "$id" in
    debian) [ "${major:-0}" -ge 12 ] || die "Debian $version is too old: Pilot needs Debian 12 (bookworm) or newer" ;;
    ubuntu) [ "${major:-0}" -ge 22 ] || die "Ubuntu $version is too old: Pilot needs Ubuntu 22.04 or newer" ;;
    *) die "this is '$id $version': Pilot supports Debian 12+ and Ubuntu 22.04+" ;;
  esac
  note "system: $id $version"
}

ARCH=""
check_arch() {
  case "$(uname -m)" in
    x86_64 | amd64) ARCH=x64 ;;
    aarch64 | arm64) ARCH=arm64 ;;
    *) die "architecture $(uname -m) is not supported: Pilot runs on x86-64 and arm64" ;;
  esac
  note "architecture: $ARCH"
}

# Whether something listens on TCP port $1 (from /proc: works without ss or netstat).
port_listening() {
  local hex
  hex="$(printf '%04X' "$1")"
  local tables=()
  for table in /proc/net/tcp /proc/net/tcp6; do [ -r "$table" ] && tables+=("$table"); done
  awk -v port="$hex" 'FNR > 1 { split($2, local, ":"); if (local[2] == port && $4 == "0A") found = 1 } END { exit !found }' "${tables[@]}"
}

check_ports() {
  if [ -e "$PREFIX/current" ]; then
    note "Pilot is installed: ports $HTTP_PORT/$HTTPS_PORT may be its own Caddy's (upgrade)"
    return
  fi
  local port
  for port in "$HTTP_PORT" "$HTTPS_PORT"; do
    if port_listening "$port"; then
      die "port $port is taken by another program: stop it (e.g. apache2, nginx) or choose --http-port/--https-port"
    fi
  done
  note "ports $HTTP_PORT and $HTTPS_PORT are free"
}

check_disk() {
  local dir free_kb
  for dir in "$(existing_parent "$PREFIX")" "$(existing_parent "$DATA_DIR")" "$(existing_parent /var/lib/docker)"; do
    free_kb="$(df -Pk "$dir" | awk 'NR == 2 { print $4 }')"
    if [ "$free_kb" -lt $((MIN_FREE_GB * 1024 * 1024)) ]; then
      die "only $((free_kb / 1024 / 1024)) GB free on $dir: Pilot needs ${MIN_FREE_GB} GB for itself, images and builds"
    fi
  done
  note "disk: at least ${MIN_FREE_GB} GB free"
}

# ---------------------------------------------------------------------------------------------
# DNS, before anything is installed: ACME gets certificates only for names that point here,
# and without them every HTTPS request fails. Say which records to create, or what else works.
SERVER_IP=""
LOCAL_IPS=""
DNS_READY=1

# This machine's addresses (without iproute2: hostname -I, else the kernel's routing table).
local_addresses() {
  { hostname -I 2>/dev/null || awk '/32 host/ { print prev } { prev = $2 }' /proc/net/fib_trie 2>/dev/null; } | tr ' ' '\n' | grep -v '^127\.\|^::1$\|^$' | sort -u
}

# The address DNS should name: --public-ip, else what the Internet sees, else our first own one.
find_server_address() {
  LOCAL_IPS="$(local_addresses | tr '\n' ' ')"
  if [ -n "$PUBLIC_IP" ]; then SERVER_IP="$PUBLIC_IP"; return; fi
  local seen
  seen="$(curl -fsS --max-time 5 https://api.ipify.org 2>/dev/null || true)"
  if is_ip "$seen"; then SERVER_IP="$seen"; return; fi
  SERVER_IP="$(local_addresses | grep -m1 '^[0-9.]*$' || true)"
  SERVER_IP="${SERVER_IP:-127.0.0.1}"
}

resolve_ipv4() { { getent ahostsv4 "$1" 2>/dev/null || true; } | awk '{ print $1 }' | sort -u | tr '\n' ' ' | sed 's/ $//'; }

points_here() {
  local address
  for address in $1; do
    [ "$address" = "$SERVER_IP" ] && return 0
    [[ " $LOCAL_IPS " == *" $address "* ]] && return 0
  done
  return 1
}

check_dns() {
  find_server_address
  local shown
  shown="$(printf '%s' "$LOCAL_IPS" | awk '{ for (i = 1; i <= NF && i <= 4; i++) printf "%s%s", (i > 1 ? " " : ""), $i; if (NF > 4) printf " and %d more", NF - 4 }')"
  note "this server: $SERVER_IP${shown:+ (addresses of this machine: $shown)}"
  if is_local_domain "$DOMAIN"; then
    note "DNS: none needed for $DOMAIN (answers on this machine only; from elsewhere: --domain $SERVER_IP.sslip.io)"
    return
  fi
  # A name nobody created: only a wildcard record answers for it.
  local probe="dns-check-$RANDOM$RANDOM" name label resolved problems=()
  for name in "pilot.$DOMAIN" "$probe.$DOMAIN"; do
    label="$name"
    [ "$name" = "$probe.$DOMAIN" ] && label="*.$DOMAIN (tried $name)"
    resolved="$(resolve_ipv4 "$name")"
    if [ -z "$resolved" ]; then
      problems+=("$label does not resolve")
    elif ! points_here "$resolved"; then
      problems+=("$label resolves to $resolved, not to this server")
    fi
  done
  if [ "${#problems[@]}" = 0 ]; then
    note "DNS: pilot.$DOMAIN and *.$DOMAIN point at this server"
    return
  fi
  DNS_READY=0
  local problem
  for problem in "${problems[@]}"; do note "DNS: $problem"; done
  print_dns_records
  [ "$TLS" = acme ] || { note "with --tls $TLS, HTTPS does not wait for DNS; other machines reach the apps once these records exist"; return; }
  if [ "$TLS_CHOSEN" = 1 ]; then
    note "--tls acme: certificates come once these records point here; until then HTTPS requests fail"
    return
  fi
  note "ACME (the default for a domain) cannot get certificates until they do: every HTTPS request would fail."
  note "Instead, one of:"
  note "  --tls internal                      HTTPS now, from Pilot's own CA (the end of the install says how to trust it)"
  note "  --domain $SERVER_IP.sslip.io   a name that already points here (with *.$SERVER_IP.sslip.io), with ACME certificates"
  note "  --tls acme                          install now anyway; certificates come once the records point here"
  if [ "$DRY_RUN" = 1 ]; then note "(dry run: a real run stops here)"; return; fi
  die "DNS for $DOMAIN does not point at this server ($SERVER_IP): create the records above and run this again, or choose one of the options above"
}

print_dns_records() {
  note "records to create at the DNS provider of $DOMAIN:"
  note ""
  note "    pilot.$DOMAIN.    A    $SERVER_IP"
  note "    *.$DOMAIN.        A    $SERVER_IP"
  note ""
}

existing_parent() {
  local dir="$1"
  while [ ! -d "$dir" ]; do dir="$(dirname "$dir")"; done
  printf '%s' "$dir"
}

# ---------------------------------------------------------------------------------------------
# Packages, each only when missing.
APT_UPDATED=0
apt_install() {
  if [ "$APT_UPDATED" = 0 ]; then
    run apt-get update -qq
    APT_UPDATED=1
  fi
  run env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"
  note "installed: $*"
}

install_base_tools() {
  local missing=()
  command -v git >/dev/null || missing+=(git)
  command -v curl >/dev/null || missing+=(curl)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  command -v xz >/dev/null || missing+=(xz-utils)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; else note "git, curl and CA certificates are there"; fi
}

install_docker() {
  local fresh=0
  if command -v dockerd >/dev/null; then
    note "Docker engine: $(dockerd --version 2>/dev/null || echo present)"
  else
    apt_install docker.io
    fresh=1
  fi
  # Containers keep running through an engine restart: their addresses never change under Caddy.
  # Every app has a network of its own: /24s from one /16 give 256 of them (Docker's default
  # pools hold about 30).
  # Swarm mode refuses an engine with live-restore: there the swarm restarts tasks elsewhere instead.
  local live_restore=live-restore
  if [ "$SCHEDULER" = swarm ] || [ -n "$JOIN" ]; then live_restore=''; fi
  if [ ! -e /etc/docker/daemon.json ]; then
    pilots_daemon_json "$live_restore" | write_file /etc/docker/daemon.json 0644
    if has_systemd && systemctl is-active --quiet docker; then
      # Address pools apply at the engine's start: a fresh engine runs nothing yet.
      if [ "$fresh" = 1 ]; then run systemctl restart docker; else run systemctl reload docker || true; note "restart Docker once (systemctl restart docker) for its new address pools"; fi
    fi
  else
    if [ -n "$live_restore" ] && ! grep -q '"live-restore"' /etc/docker/daemon.json; then
      note "/etc/docker/daemon.json exists: consider \"live-restore\": true (see docs/guarantees.md)"
    fi
    if ! grep -q '"default-address-pools"' /etc/docker/daemon.json; then
      note "/etc/docker/daemon.json exists: add \"default-address-pools\": [{\"base\": \"10.200.0.0/16\", \"size\": 24}] for more than about 30 apps (each has its own network)"
    fi
  fi
}

# The daemon.json install.sh writes; with live-restore (any first argument) for one host.
pilots_daemon_json() {
  local live_restore=''
  [ -z "${1:-}" ] || live_restore='  "live-restore": true,\n'
  # shellcheck disable=SC2059  # the format is ours, with the optional line in it
  printf "{\n$live_restore  \"default-address-pools\": [{\"base\": \"10.200.0.0/16\", \"size\": 24}]\n}\n"
}

install_caddy() {
  if [ "$SCHEDULER" = swarm ]; then
    # Pilot runs Caddy as a container on the manager (docs/swarm.md): a host Caddy would only
    # compete for ports 80/443 (Debian's package starts caddy.service on them).
    note "Caddy: the container $INSTANCE-caddy (${CADDY_IMAGE:-caddy:2-alpine}), started by Pilot; none on the host"
    return
  fi
  if command -v caddy >/dev/null; then
    note "Caddy: $(caddy version | cut -d' ' -f1)"
    return
  fi
  if [ "$APT_UPDATED" = 0 ]; then run apt-get update -qq; APT_UPDATED=1; fi
  if [ "$DRY_RUN" = 1 ] || apt-cache show caddy >/dev/null 2>&1; then
    apt_install caddy
  else
    # The distribution has none (Ubuntu 22.04): Caddy's own apt repository.
    step "Caddy from its own apt repository"
    apt_install debian-keyring debian-archive-keyring apt-transport-https gnupg
    run sh -c "curl -1sLf 'https://dl.cloudsmith.io/public/caddy/stable/gpg.key' | gpg --batch --yes --dearmor -o /usr/share/keyrings/caddy-stable-archive-keyring.gpg"
    run sh -c "curl -1sLf 'https://dl.cloudsmith.io/public/caddy/stable/debian.deb.txt' > /etc/apt/sources.list.d/caddy-stable.list"
    APT_UPDATED=0
    apt_install caddy
  fi
}

NODE=""
NPM=()
NODE_HOME=""
node_major_of() { "$1" --version 2>/dev/null | sed -E 's/^v([0-9]+).*/\1/'; }

install_node() {
  local candidate
  for candidate in "$PREFIX/runtime/node/bin/node" "$(command -v node || true)"; do
    if [ -n "$candidate" ] && [ -x "$candidate" ] && [ "$(node_major_of "$candidate")" -ge 20 ] 2>/dev/null; then
      use_node "$candidate"
      note "Node.js $("$NODE" --version) at $NODE"
      return
    fi
  done
  # The distribution's, when new enough (Debian 13, Ubuntu 24.04).
  local packaged
  packaged="$(apt-cache policy nodejs 2>/dev/null | awk '/Candidate:/ { print $2 }' | sed -E 's/^[0-9]+://; s/^([0-9]+).*/\1/')"
  if [ "${packaged:-0}" -ge 20 ] 2>/dev/null; then
    apt_install nodejs npm
    use_node "$(command -v node)"
    return
  fi
  step "Node.js $NODE_MAJOR into $PREFIX/runtime (the distribution's is older than 20)"
  if [ "$DRY_RUN" = 1 ]; then
    note "would fetch Node.js $NODE_MAJOR from nodejs.org, or from the npm registry when nodejs.org is unreachable"
    NODE="$PREFIX/runtime/node/bin/node"
    NPM=("$NODE" "$PREFIX/runtime/node/lib/node_modules/npm/bin/npm-cli.js")
    return
  fi
  node_from_nodejs_org || node_from_npm_registry || die "could not download Node.js $NODE_MAJOR from nodejs.org nor from $NPM_REGISTRY"
}

use_node() {
  NODE="$1"
  NODE_HOME="$(cd "$(dirname "$NODE")/.." && pwd)"
  # node-gyp compiles against these headers (it cannot download them on every network).
  [ -f "$NODE_HOME/include/node/node.h" ] || NODE_HOME=""
  local home
  home="$(cd "$(dirname "$NODE")/.." && pwd)"
  if [ -f "$home/lib/node_modules/npm/bin/npm-cli.js" ]; then
    NPM=("$NODE" "$home/lib/node_modules/npm/bin/npm-cli.js")
  elif [ -f "$PREFIX/runtime/npm/bin/npm-cli.js" ]; then
    NPM=("$NODE" "$PREFIX/runtime/npm/bin/npm-cli.js")
  else
    NPM=("$(command -v npm || echo npm)")
  fi
}

node_from_nodejs_org() {
  local base="https://nodejs.org/dist/latest-v${NODE_MAJOR}.x" file sums
  sums="$(curl -fsSL --max-time 30 "$base/SHASUMS256.txt" 2>/dev/null)" || return 1
  file="$(printf '%s\n' "$sums" | awk -v arch="linux-$ARCH.tar.xz" '$2 ~ arch { print $2; exit }')"
  [ -n "$file" ] || return 1
  local tmp
  tmp="$(mktemp -d)" || return 1
  curl -fsSL --max-time 600 -o "$tmp/$file" "$base/$file" || { rm -rf "$tmp"; return 1; }
  (cd "$tmp" && printf '%s\n' "$sums" | grep " $file\$" | sha256sum -c - >/dev/null) || { rm -rf "$tmp"; return 1; }
  # Called in an `a || b` list, where set -e does not apply: every step checks itself.
  rm -rf "$PREFIX/runtime/node" && mkdir -p "$PREFIX/runtime/node" || return 1
  tar -xJf "$tmp/$file" -C "$PREFIX/runtime/node" --strip-components=1 || { rm -rf "$tmp"; return 1; }
  rm -rf "$tmp"
  use_node "$PREFIX/runtime/node/bin/node"
  note "Node.js $("$NODE" --version) from nodejs.org"
}

# Official Node builds are republished in the npm registry (node-linux-<arch>), without npm.
node_from_npm_registry() {
  local package="node-linux-$ARCH" versions version npm_version
  versions="$(curl -fsSL --max-time 60 -H 'Accept: application/vnd.npm.install-v1+json' "$NPM_REGISTRY/$package")" || return 1
  version="$(printf '%s' "$versions" | grep -o "\"${NODE_MAJOR}\\.[0-9]*\\.[0-9]*\":" | tr -d '":' | sort -V | tail -1)"
  [ -n "$version" ] || return 1
  rm -rf "$PREFIX/runtime/node" "$PREFIX/runtime/npm" && mkdir -p "$PREFIX/runtime/node" "$PREFIX/runtime/npm" || return 1
  curl -fsSL --max-time 600 "$NPM_REGISTRY/$package/-/$package-$version.tgz" | tar -xz -C "$PREFIX/runtime/node" --strip-components=1 || return 1
  # npm's major is pinned: from 12 on, npm blocks install scripts (better-sqlite3 needs its own).
  versions="$(curl -fsSL --max-time 60 -H 'Accept: application/vnd.npm.install-v1+json' "$NPM_REGISTRY/npm")" || return 1
  npm_version="$(printf '%s' "$versions" | grep -o "\"${NPM_MAJOR}\\.[0-9]*\\.[0-9]*\":" | tr -d '":' | sort -V | tail -1)"
  [ -n "$npm_version" ] || return 1
  curl -fsSL --max-time 600 "$NPM_REGISTRY/npm/-/npm-$npm_version.tgz" | tar -xz -C "$PREFIX/runtime/npm" --strip-components=1 || return 1
  use_node "$PREFIX/runtime/node/bin/node"
  note "Node.js $("$NODE" --version) and npm $npm_version from $NPM_REGISTRY"
}

# ---------------------------------------------------------------------------------------------
# Pilot itself: staged in a new release directory, built, pruned, then switched to atomically.
RELEASE_DIR=""
install_pilot() {
  local source="$SOURCE"
  if [ -z "$source" ]; then
    local here=""
    # Piped into bash (curl ... | bash) there is no checkout around the script: --source is needed.
    if [ -f "${BASH_SOURCE[0]:-}" ]; then here="$(cd "$(dirname "${BASH_SOURCE[0]}")" 2>/dev/null && pwd)" || here=""; fi
    if [ -z "$here" ] || [ ! -f "$here/package.json" ]; then
      die "no --source given and this script is not in a Pilot checkout: pass --source DIR|URL"
    fi
    source="$here"
  fi
  RELEASE_DIR="$PREFIX/releases/$(date -u +%Y%m%d%H%M%S)"
  step "Pilot from $source into $RELEASE_DIR"
  run mkdir -p "$RELEASE_DIR"
  if [[ "$source" =~ ^https?:// ]]; then
    run sh -c "curl -fsSL '$source' | tar -xz -C '$RELEASE_DIR' --strip-components=1"
  else
    [ -f "$source/package.json" ] || die "$source is not a Pilot checkout (no package.json)"
    run tar -C "$source" --exclude=./node_modules --exclude=./dist --exclude=./.git -cf "$RELEASE_DIR.tar" .
    run tar -C "$RELEASE_DIR" -xf "$RELEASE_DIR.tar"
    run rm -f "$RELEASE_DIR.tar"
  fi
  build_pilot
  run ln -sfn "$RELEASE_DIR" "$PREFIX/current.new"
  run mv -T "$PREFIX/current.new" "$PREFIX/current"
}

npm_in_release() {
  run env -C "$RELEASE_DIR" npm_config_registry="$NPM_REGISTRY" npm_config_update_notifier=false npm_config_fund=false \
    npm_config_audit=false ${NODE_HOME:+npm_config_nodedir="$NODE_HOME"} PATH="$(dirname "$NODE"):$PATH" "${NPM[@]}" "$@"
}

build_pilot() {
  step "building Pilot (with dev dependencies, then pruned to production ones)"
  if ! npm_in_release ci --no-audit --no-fund; then
    # No prebuilt better-sqlite3 for this Node and machine: compile it.
    step "no prebuilt better-sqlite3 for this Node: build tools (python3, make, g++), then npm ci again"
    apt_install python3 make g++
    npm_in_release ci --no-audit --no-fund || die_showing_log "npm ci failed in $RELEASE_DIR: see the log"
  fi
  if [ "$DRY_RUN" != 1 ] && ! (cd "$RELEASE_DIR" && "$NODE" -e "new (require('better-sqlite3'))(':memory:')" 2>/dev/null); then
    step "better-sqlite3 has no binary for this Node: compiling it"
    apt_install python3 make g++
    npm_in_release rebuild better-sqlite3 || die_showing_log "better-sqlite3 could not be compiled: see the log"
  fi
  npm_in_release run build || die_showing_log "npm run build failed in $RELEASE_DIR"
  npm_in_release prune --omit=dev || die_showing_log "npm prune failed in $RELEASE_DIR"
}

# ---------------------------------------------------------------------------------------------
# Settings: written once, then only the options given now are changed.
ENV_FILE=""
set_env() {
  local key="$1" value="$2"
  if [ "$DRY_RUN" = 1 ]; then
    note "would set $key in $ENV_FILE"
    return
  fi
  if grep -q "^$key=" "$ENV_FILE" 2>/dev/null; then
    local rest
    rest="$(grep -v "^$key=" "$ENV_FILE")"
    printf '%s\n%s=%s\n' "$rest" "$key" "$value" >"$ENV_FILE.tmp"
    mv "$ENV_FILE.tmp" "$ENV_FILE"
  else
    printf '%s=%s\n' "$key" "$value" >>"$ENV_FILE"
  fi
  chmod 0600 "$ENV_FILE"
}

write_settings() {
  ENV_FILE="$CONFIG_DIR/pilot.env"
  step "settings in $ENV_FILE (mode 0600)"
  if [ "$DRY_RUN" != 1 ]; then
    mkdir -p "$CONFIG_DIR" && chmod 0700 "$CONFIG_DIR"
    [ -e "$ENV_FILE" ] || printf '# Pilot settings (README: Configuration). Re-running install.sh keeps what it is not told.\n' >"$ENV_FILE"
    chmod 0600 "$ENV_FILE"
  fi
  set_env PILOT_DATA_DIR "$DATA_DIR"
  set_env PILOT_DOMAIN "$DOMAIN"
  set_env PILOT_PORT "$PORT"
  set_env PILOT_BIND 127.0.0.1
  set_env PILOT_HTTP_PORT "$HTTP_PORT"
  set_env PILOT_HTTPS_PORT "$HTTPS_PORT"
  set_env PILOT_INSTANCE "$INSTANCE"
  [ -z "$EMAIL" ] || set_env PILOT_ACME_EMAIL "$EMAIL"
  set_env PILOT_TLS "$TLS"
  [ -z "$NODE_IMAGE" ] || set_env PILOT_NODE_IMAGE "$NODE_IMAGE"
  [ -z "$STATIC_IMAGE" ] || set_env PILOT_STATIC_IMAGE "$STATIC_IMAGE"
  [ -z "$SCHEDULER" ] || set_env PILOT_SCHEDULER "$SCHEDULER"
  [ -z "$REGISTRY_IMAGE" ] || set_env PILOT_REGISTRY_IMAGE "$REGISTRY_IMAGE"
  [ -z "$CADDY_IMAGE" ] || set_env PILOT_CADDY_IMAGE "$CADDY_IMAGE"
  # In swarm mode Caddy is a container Pilot runs on the manager (docs/swarm.md), not caddy.service.
  if has_systemd && [ "$SCHEDULER" != swarm ]; then set_env PILOT_CADDY_ADMIN "unix/$DATA_DIR/caddy/admin.sock"; fi
  run mkdir -p "$DATA_DIR"
  run chmod 0700 "$DATA_DIR"
}

write_commands() {
  step "commands: /usr/local/bin/pilot and /usr/local/bin/pilot-server"
  write_file /usr/local/bin/pilot 0755 <<EOF
#!/bin/sh
# The pilot CLI (installed by install.sh). As root it needs no login: it reads the settings in $CONFIG_DIR.
PILOT_CONFIG_DIR="\${PILOT_CONFIG_DIR:-$CONFIG_DIR}" exec "$NODE" "$PREFIX/current/dist/cli/main.js" "\$@"
EOF
  write_file /usr/local/bin/pilot-server 0755 <<EOF
#!/bin/sh
# Pilot's server, with the installed settings (install.sh). Also: pilot-server backup|restore FILE.
set -a
. "$CONFIG_DIR/pilot.env"
set +a
# As npm start runs it (package.json), for an idle control plane under 80 MB (bench/RESULTS.md): the bundle,
# a young generation of 2 MB, and two malloc arenas, not one per thread, each keeping what it freed.
export MALLOC_ARENA_MAX="\${MALLOC_ARENA_MAX:-2}"
exec "$NODE" --max-semi-space-size=2 "$PREFIX/current/dist/server/main.mjs" "\$@"
EOF
}

# ---------------------------------------------------------------------------------------------
# Services: systemd units where systemd runs, else a small supervisor.
has_systemd() { [ -d /run/systemd/system ]; }

start_services() {
  if has_systemd; then start_with_systemd; else start_with_supervisor; fi
}

start_with_systemd() {
  step "services: docker, caddy (Pilot's routes) and pilot under systemd"
  run systemctl enable --now docker
  if [ "$SCHEDULER" = swarm ]; then
    # Pilot runs Caddy as a container on the manager, on the apps' overlays: a host Caddy would
    # take its ports 80/443 and load the routes rendered for the container.
    if [ -e "$CADDY_DROPIN" ] || systemctl is-active --quiet caddy 2>/dev/null || systemctl is-enabled --quiet caddy 2>/dev/null; then
      note "swarm mode: stopping and disabling the host's caddy.service (it held ports $HTTP_PORT/$HTTPS_PORT); the container $INSTANCE-caddy serves them now"
    fi
    run systemctl disable --now caddy 2>/dev/null || true
    run rm -f "$CADDY_DROPIN"
  else
    caddy_under_systemd
  fi
  write_pilot_unit
  run systemctl daemon-reload
  if [ "$SCHEDULER" = swarm ]; then run systemctl enable pilot; else run systemctl enable caddy pilot; restart_caddy_if_changed; fi
  run systemctl restart pilot
}

# Debian's caddy.service becomes Pilot's Caddy: it reads the Caddyfile Pilot renders.
CADDY_DROPIN=/etc/systemd/system/caddy.service.d/pilot.conf
CADDY_DROPIN_BEFORE=''
caddy_under_systemd() {
  local caddyfile="$DATA_DIR/caddy/Caddyfile"
  if [ ! -e "$caddyfile" ]; then
    printf '{\n\tadmin unix/%s/caddy/admin.sock\n\thttp_port %s\n\thttps_port %s\n}\n' "$DATA_DIR" "$HTTP_PORT" "$HTTPS_PORT" | write_file "$caddyfile" 0600
  fi
  CADDY_DROPIN_BEFORE="$(cat "$CADDY_DROPIN" 2>/dev/null || true)"
  write_file "$CADDY_DROPIN" 0644 <<EOF
# Written by Pilot's install.sh: Caddy serves the routes Pilot renders and loads.
[Service]
User=root
Group=root
# Its CA, certificates and keys under Pilot's data dir: pilot-server backup takes them along.
Environment=XDG_DATA_HOME=$DATA_DIR/caddy/data XDG_CONFIG_HOME=$DATA_DIR/caddy/config
ExecStart=
ExecStart=$(command -v caddy || echo /usr/bin/caddy) run --environ --config $caddyfile --adapter caddyfile
ExecReload=
ExecReload=$(command -v caddy || echo /usr/bin/caddy) reload --config $caddyfile --adapter caddyfile --force
EOF
}

# A Caddy restart cuts every app's connections: on an upgrade only when its unit changed.
restart_caddy_if_changed() {
  if [ "$(cat "$CADDY_DROPIN" 2>/dev/null || true)" != "$CADDY_DROPIN_BEFORE" ] || ! systemctl is-active --quiet caddy; then
    run systemctl restart caddy
  fi
}

write_pilot_unit() {
  write_file /etc/systemd/system/pilot.service 0644 <<EOF
# Written by Pilot's install.sh.
[Unit]
Description=Pilot, a git-push PaaS
After=network-online.target docker.service caddy.service
Wants=network-online.target
Requires=docker.service

[Service]
# As npm start runs it (package.json; pilot.env may override): bench/RESULTS.md, control plane memory.
Environment=MALLOC_ARENA_MAX=2
EnvironmentFile=$CONFIG_DIR/pilot.env
ExecStart=$NODE --max-semi-space-size=2 $PREFIX/current/dist/server/main.mjs
Restart=always
RestartSec=2
# Deploys get PILOT_SHUTDOWN_SECONDS (60) to finish; the apps keep running either way.
TimeoutStopSec=90
KillMode=mixed

[Install]
WantedBy=multi-user.target
EOF
}

SUPERVISOR_PID_FILE=/run/pilot-supervisor.pid
start_with_supervisor() {
  step "services: no systemd here; a supervisor restarts dockerd and Pilot when they die"
  write_file "$PREFIX/bin/pilot-supervisor" 0755 <<EOF
#!/usr/bin/env bash
# Written by Pilot's install.sh for machines without systemd: keeps dockerd and Pilot running.
#   pilot-supervisor start|stop|status    (start it at boot: /etc/rc.local, cron @reboot, ...)
set -euo pipefail
PID_FILE=$SUPERVISOR_PID_FILE
LOG_DIR=/var/log/pilot
mkdir -p "\$LOG_DIR"

# kill -0 also succeeds on a zombie: an exited process whose parent (an init that does not reap,
# as in many containers) never collected it. Stopping must not wait for those.
alive() { [ -r "/proc/\$1/stat" ] && ! awk '{ exit \$3 != "Z" }' "/proc/\$1/stat"; }

ensure_docker() {
  docker version >/dev/null 2>&1 && return
  echo "\$(date -u +%FT%TZ) starting dockerd" >>"\$LOG_DIR/supervisor.log"
  setsid dockerd --host unix:///var/run/docker.sock >>"\$LOG_DIR/dockerd.log" 2>&1 </dev/null &
  for _ in \$(seq 1 60); do docker version >/dev/null 2>&1 && return; sleep 1; done
}

supervise() {
  local delay=1
  trap 'kill -TERM "\${child:-0}" 2>/dev/null; wait "\${child:-0}" 2>/dev/null; exit 0' TERM INT
  while true; do
    ensure_docker
    local started=\$SECONDS
    /usr/local/bin/pilot-server >>"\$LOG_DIR/pilot.log" 2>&1 &
    child=\$!
    wait "\$child" || true
    echo "\$(date -u +%FT%TZ) Pilot exited; starting it again in \${delay} s" >>"\$LOG_DIR/supervisor.log"
    # Back off while it keeps dying at once; a Pilot that ran a while restarts quickly.
    if [ \$((SECONDS - started)) -gt 60 ]; then delay=1; fi
    sleep "\$delay"
    delay=\$((delay < 30 ? delay * 2 : 30))
  done
}

case "\${1:-}" in
  start)
    if [ -f "\$PID_FILE" ] && alive "\$(cat "\$PID_FILE")"; then echo "already running"; exit 0; fi
    setsid "\$0" run >>"\$LOG_DIR/supervisor.log" 2>&1 </dev/null &
    echo \$! >"\$PID_FILE"
    ;;
  run) supervise ;;
  stop)
    if [ -f "\$PID_FILE" ]; then
      pid="\$(cat "\$PID_FILE")"
      kill -TERM "\$pid" 2>/dev/null || true
      # Pilot lets running deploys finish (PILOT_SHUTDOWN_SECONDS), then exits.
      for _ in \$(seq 1 1000); do alive "\$pid" || break; sleep 0.1; done
      rm -f "\$PID_FILE"
    fi
    ;;
  status)
    if [ -f "\$PID_FILE" ] && alive "\$(cat "\$PID_FILE")"; then echo "running (pid \$(cat "\$PID_FILE"))"; else echo "stopped"; exit 3; fi
    ;;
  *) echo "usage: \$0 start|stop|status" >&2; exit 2 ;;
esac
EOF
  run "$PREFIX/bin/pilot-supervisor" stop
  # Once Pilot is stopped: it would start its Caddy again.
  if [ "$SCHEDULER" = swarm ]; then stop_pilots_own_caddy; fi
  run "$PREFIX/bin/pilot-supervisor" start
  note "no systemd: to start Pilot at boot, run '$PREFIX/bin/pilot-supervisor start' from /etc/rc.local or a @reboot cron job"
}

# Without systemd a single-host Pilot starts Caddy itself, and that Caddy runs on after Pilot
# stops (apps never depend on the Pilot process). In swarm mode it would hold ports 80/443, where
# the container $INSTANCE-caddy must listen: an existing install becoming a manager stops it.
# kill -0 also succeeds on a zombie (its parent gone, an init that does not reap): the state says.
pid_running() { [ -r "/proc/$1/stat" ] && ! awk '{ exit $3 != "Z" }' "/proc/$1/stat"; }

stop_pilots_own_caddy() {
  local pid_file="$DATA_DIR/caddy/caddy.pid" pid
  [ -f "$pid_file" ] || return 0
  pid="$(cat "$pid_file")"
  if [ -n "$pid" ] && pid_running "$pid"; then
    note "swarm mode: stopping the Caddy the single-host Pilot ran on the host (pid $pid, ports $HTTP_PORT/$HTTPS_PORT); the container $INSTANCE-caddy serves them now"
    run kill -TERM "$pid"
    if [ "$DRY_RUN" != 1 ]; then
      for _ in $(seq 1 100); do pid_running "$pid" || break; sleep 0.1; done
      if pid_running "$pid"; then kill -KILL "$pid" 2>/dev/null || true; fi
    fi
  fi
  run rm -f "$pid_file"
}

wait_for_health() {
  step "waiting for Pilot's /health (up to ${HEALTH_TIMEOUT} s)"
  [ "$DRY_RUN" = 1 ] && { note "would wait for http://127.0.0.1:$PORT/health"; return; }
  local deadline=$((SECONDS + HEALTH_TIMEOUT)) answer=""
  while [ "$SECONDS" -lt "$deadline" ]; do
    answer="$(curl -fsS --max-time 5 "http://127.0.0.1:$PORT/health" 2>/dev/null)" && { note "Pilot answers: $answer"; return; }
    sleep 0.2
  done
  printf '%s\n' "last lines of Pilot's log:"
  if has_systemd; then journalctl -u pilot -n 30 --no-pager || true; else tail -n 30 /var/log/pilot/pilot.log || true; fi
  die_showing_log "Pilot did not become healthy within ${HEALTH_TIMEOUT} s: see Pilot's log in $LOG_FILE"
}

CA_FILE=""
HTTPS_WORKS=0
HTTPS_PROBLEM=""
# Pilot's /health says nothing about certificates: ask for it over HTTPS, as a client would.
check_https() {
  [ "$TLS" = off ] && return
  step "checking HTTPS at https://pilot.$DOMAIN$(port_suffix)"
  if [ "$TLS" = internal ]; then CA_FILE="$(local_ca_file)"; fi
  if [ "$TLS" = acme ] && [ "$DNS_READY" = 0 ]; then
    HTTPS_PROBLEM="ACME cannot get a certificate for pilot.$DOMAIN until its DNS record points here ($SERVER_IP)"
    note "HTTPS does not work yet: $HTTPS_PROBLEM"
    return
  fi
  local deadline=$((SECONDS + HTTPS_TIMEOUT)) args=(-sS -o /dev/null --max-time 10 --resolve "pilot.$DOMAIN:$HTTPS_PORT:127.0.0.1")
  while [ "$SECONDS" -lt "$deadline" ]; do
    # Caddy makes its CA at its first certificate: wait for the file before trusting it.
    if [ -z "$CA_FILE" ] || [ -s "$CA_FILE" ]; then
      if HTTPS_PROBLEM="$(curl "${args[@]}" ${CA_FILE:+--cacert "$CA_FILE"} "https://pilot.$DOMAIN$(port_suffix)/health" 2>&1)"; then
        HTTPS_WORKS=1
        note "HTTPS works (certificate from $([ "$TLS" = internal ] && echo "Pilot's own CA" || echo ACME))"
        return
      fi
    else
      HTTPS_PROBLEM="Caddy has not created its CA at $CA_FILE"
    fi
    sleep 1
  done
  local caddy_log="$DATA_DIR/caddy/caddy.log or journalctl -u caddy"
  [ "$SCHEDULER" != swarm ] || caddy_log="docker logs $INSTANCE-caddy"
  note "HTTPS does not work yet: ${HTTPS_PROBLEM:-no answer} (Caddy's log: $caddy_log)"
}

# Caddy's local CA: under the data dir for the host's Caddy; in swarm mode on the volume of its
# container (/data there: Pilot gives it XDG_DATA_HOME=/data).
local_ca_file() {
  local data="$DATA_DIR/caddy/data"
  if [ "$SCHEDULER" = swarm ]; then
    data="$(docker volume inspect -f '{{.Mountpoint}}' "$INSTANCE-caddy-data" 2>/dev/null || true)"
    [ -n "$data" ] || data="/var/lib/docker/volumes/$INSTANCE-caddy-data/_data"
  fi
  printf '%s/caddy/pki/authorities/local/root.crt' "$data"
}

port_suffix() {
  if [ "$TLS" = off ]; then [ "$HTTP_PORT" = 80 ] || printf ':%s' "$HTTP_PORT"; else [ "$HTTPS_PORT" = 443 ] || printf ':%s' "$HTTPS_PORT"; fi
}

# The SHA-256 fingerprint of a PEM certificate, as `openssl x509 -fingerprint -sha256` prints it.
fingerprint() { sed '/-----/d' "$1" | base64 -d | sha256sum | cut -d' ' -f1 | tr 'a-f' 'A-F' | sed 's/../&:/g; s/:$//'; }

print_summary() {
  local scheme=https token_file="$DATA_DIR/admin-token" api
  [ "$TLS" = off ] && scheme=http
  api="$scheme://pilot.$DOMAIN$(port_suffix)"
  end_step
  say ""
  if [ "$TLS" != off ] && [ "$HTTPS_WORKS" = 0 ]; then
    say "==> Pilot is running, but HTTPS does not work yet ($(seconds_since "$INSTALL_STARTED"); log: $LOG_FILE)"
    note "$HTTPS_PROBLEM"
  else
    say "==> Pilot is running ($(seconds_since "$INSTALL_STARTED"); log: $LOG_FILE)"
  fi
  note "server:      $SERVER_IP"
  note "API:         $api/api/v1   (health: http://127.0.0.1:$PORT/health)"
  if [ "$DNS_READY" = 0 ]; then print_dns_records; fi
  if [ "$FIRST_INSTALL" = 1 ] && [ -r "$token_file" ]; then
    note "admin token (shown once; also in $token_file, mode 0600):"
    say ""
    say "        $(cat "$token_file")"
    say ""
  else
    note "admin token: unchanged (in $token_file)"
  fi
  note "CLI here:    pilot (as root, no login needed)"
  if [ "$TLS" = internal ]; then print_trust "$api"; fi
  note "the CLI on your computer (Node.js 20+; one file, no dependencies):"
  say ""
  say "        curl -fsSL $api/cli/install.sh | sh && pilot login $api"
  say ""
  note "deploy an app from its repository on your computer (with the CLI, logged in with the token):"
  say ""
  say "        pilot git:remote -a <app> && git push pilot main"
  say ""
  note "or with git alone (it asks for a password: give the token; the user name is ignored):"
  say ""
  say "        git remote add pilot $api/<app>.git && git push pilot main"
  say ""
  note "the app then answers at $scheme://<app>.$DOMAIN$(port_suffix)"
  if [ "$SCHEDULER" = swarm ]; then
    note "more servers (Docker Swarm): this line prints what to run on each new one (the install.sh --join line"
    note "appears once Pilot's registry runs, a few seconds after the first start):"
    say ""
    say "        pilot nodes:join-command"
    say ""
  fi
}

# Internal TLS: clients trust Pilot's CA only when told to; one command per client.
print_trust() {
  # Printed for the user's shell to expand.
  # shellcheck disable=SC2016
  local api="$1" saved='$HOME/pilot-ca.crt'
  note "Pilot's CA (--tls internal): $CA_FILE"
  if [ -s "$CA_FILE" ]; then note "  SHA-256 fingerprint: $(fingerprint "$CA_FILE")"; fi
  note "on each computer that talks to Pilot or its apps: download it, compare the fingerprint, trust it:"
  say ""
  say "        curl -fsSk $api/ca.crt -o $saved && openssl x509 -noout -fingerprint -sha256 -in $saved"
  say "        git config --global http.$api/.sslCAInfo $saved"
  say "        curl --cacert $saved $api/health"
  say "        export NODE_EXTRA_CA_CERTS=$saved      # Node.js and the pilot CLI"
  say "        export CURL_CA_BUNDLE=$saved           # curl in this shell (the CLI's install below)"
  say ""
  note "(until then clients say: 'unable to get local issuer certificate' (curl, Node), 'server certificate verification failed' (git))"
}

# ---------------------------------------------------------------------------------------------
uninstall() {
  step "uninstalling Pilot (data in $DATA_DIR is $([ "$PURGE" = 1 ] && echo removed || echo kept))"
  local docker_up=0 apps=()
  if command -v docker >/dev/null && docker version >/dev/null 2>&1; then
    docker_up=1
    mapfile -t apps < <(docker ps -q --filter "label=pilot.instance=$INSTANCE")
  fi
  choose_apps_on_uninstall "${#apps[@]}"
  step "stopping Pilot (running deploys finish first, up to PILOT_SHUTDOWN_SECONDS)"
  if has_systemd; then
    run systemctl disable --now pilot || true
    run rm -f /etc/systemd/system/pilot.service
    # Kept apps stay reachable: Caddy keeps serving Pilot's last routes.
    if [ "$APPS_ON_UNINSTALL" = remove ]; then run rm -f /etc/systemd/system/caddy.service.d/pilot.conf; fi
    run systemctl daemon-reload
    if [ "$APPS_ON_UNINSTALL" = remove ]; then run systemctl restart caddy || true; fi
  elif [ -x "$PREFIX/bin/pilot-supervisor" ]; then
    run "$PREFIX/bin/pilot-supervisor" stop
  fi
  # The Caddy Pilot started itself (without systemd) runs on after Pilot: it goes with the apps.
  if [ "$APPS_ON_UNINSTALL" = remove ] && [ -f "$DATA_DIR/caddy/caddy.pid" ]; then
    run kill -TERM "$(cat "$DATA_DIR/caddy/caddy.pid")" 2>/dev/null || true
  fi
  step "removing Pilot's files$([ "$APPS_ON_UNINSTALL" = remove ] && echo " and the apps' containers")"
  if [ "$APPS_ON_UNINSTALL" = remove ] && [ "$docker_up" = 1 ]; then
    local containers=()
    mapfile -t containers < <(docker ps -aq --filter "label=pilot.instance=$INSTANCE")
    [ "${#containers[@]}" -eq 0 ] || { run docker rm -f "${containers[@]}" >/dev/null; note "removed ${#containers[@]} container(s) of the apps"; }
  fi
  run rm -rf "$PREFIX" "$CONFIG_DIR" /usr/local/bin/pilot /usr/local/bin/pilot-server
  if [ "$PURGE" = 1 ]; then
    if [ "$docker_up" = 1 ]; then
      local ids=()
      mapfile -t ids < <(docker images -q --filter "reference=$INSTANCE/*" | sort -u)
      [ "${#ids[@]}" -eq 0 ] || run docker rmi -f "${ids[@]}" >/dev/null
      mapfile -t ids < <(docker volume ls -q --filter "label=pilot.instance=$INSTANCE")
      [ "${#ids[@]}" -eq 0 ] || run docker volume rm "${ids[@]}" >/dev/null
      mapfile -t ids < <(docker network ls -q --filter "label=pilot.instance=$INSTANCE")
      [ "${#ids[@]}" -eq 0 ] || run docker network rm "${ids[@]}" >/dev/null
    fi
    run rm -rf "$DATA_DIR"
  fi
  list_left_behind "$docker_up"
  end_step
  say "==> done"
}

# Kept or removed: asked on a terminal (even under curl | bash, through /dev/tty), else kept.
choose_apps_on_uninstall() {
  local running="$1" answer=""
  [ -z "$APPS_ON_UNINSTALL" ] || return 0
  if [ "$running" -gt 0 ] && [ "$DRY_RUN" != 1 ] && { exec 5<>/dev/tty; } 2>/dev/null; then
    printf '    %s app container(s) are running. Keep them serving (Caddy keeps their routes) or remove them? [keep/remove] ' "$running" >&5
    read -r answer <&5 || true
    exec 5>&-
  fi
  case "$answer" in
    r | remove) APPS_ON_UNINSTALL=remove ;;
    *) APPS_ON_UNINSTALL=keep ;;
  esac
  note "apps: $([ "$APPS_ON_UNINSTALL" = keep ] && echo "kept running (--remove-apps removes them)" || echo removed)"
}

list_left_behind() {
  local docker_up="$1" names=""
  step "left on this machine"
  if [ "$docker_up" = 1 ]; then
    names="$(docker ps --filter "label=pilot.instance=$INSTANCE" --format '{{.Names}}' | tr '\n' ' ')"
    [ -z "$names" ] || note "running app containers: ${names% } (served by Caddy from $DATA_DIR/caddy/Caddyfile until it stops; remove: install.sh --uninstall --remove-apps)"
    local images volumes networks
    images="$(docker images -q --filter "reference=$INSTANCE/*" | sort -u | wc -l)"
    volumes="$(docker volume ls -q --filter "label=pilot.instance=$INSTANCE" | wc -l)"
    networks="$(docker network ls -q --filter "label=pilot.instance=$INSTANCE" | wc -l)"
    [ "$images$volumes$networks" = 000 ] || note "Docker: $images image(s) $INSTANCE/*, $volumes volume(s), $networks network(s) labelled pilot.instance=$INSTANCE (--purge removes them)"
  fi
  [ -e "$DATA_DIR" ] && note "data: $DATA_DIR (database, repositories, certificates, admin token; --purge removes it)"
  [ -e "$(dirname "$LOG_FILE")" ] && note "logs: $(dirname "$LOG_FILE")"
  note "packages: git, Docker and Caddy stay installed (apt-get remove them if nothing else needs them)"
}

# ---------------------------------------------------------------------------------------------
# Several servers: a Docker Swarm whose manager runs Pilot (docs/swarm.md).

check_join_args() {
  [ "$SCHEDULER" != swarm ] || [ -z "${GIVEN[PILOT_SCHEDULER]:-}" ] || die "--manager and --join exclude each other: a manager runs Pilot, a joined server runs apps' tasks"
  [ -n "$JOIN_TOKEN" ] || die "--join needs --token: \`pilot nodes:join-command\` on the manager prints the whole line"
  [[ "$JOIN_TOKEN" =~ ^SWMTKN-[A-Za-z0-9-]+$ ]] || die "--token '$JOIN_TOKEN' is not a swarm join token (SWMTKN-...)"
  [[ "$JOIN" == *:* ]] || JOIN="$JOIN:2377"
  [[ "$JOIN" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "--join '$JOIN' is not HOST:PORT of the manager (e.g. 10.0.0.5:2377)"
  REGISTRY="${REGISTRY:-${JOIN%:*}:5000}"
  [[ "$REGISTRY" =~ ^[A-Za-z0-9.-]+:[0-9]+$ ]] || die "--registry '$REGISTRY' is not HOST:PORT"
  [ -n "$REGISTRY_CA_SHA256" ] || die "--join needs --registry-ca-sha256: the fingerprint of Pilot's registry CA (\`pilot nodes:join-command\` prints it)"
  REGISTRY_CA_SHA256="$(normal_fingerprint "$REGISTRY_CA_SHA256")"
  [[ "$REGISTRY_CA_SHA256" =~ ^[0-9A-F]{64}$ ]] || die "--registry-ca-sha256 is not a SHA-256 fingerprint (64 hex digits, colons allowed)"
  [ -z "$ADVERTISE_ADDR" ] || is_ip "$ADVERTISE_ADDR" || die "--advertise-addr '$ADVERTISE_ADDR' is not an IP address"
}

# AB:cd:... and abcd... alike: upper-case hex digits only.
normal_fingerprint() { printf '%s' "$1" | tr -d ': ' | tr 'a-f' 'A-F'; }

# The engine answers: started when it does not yet (systemd, else dockerd in the background).
ensure_docker_running() {
  docker version >/dev/null 2>&1 && return
  if has_systemd; then
    run systemctl enable --now docker
  else
    run sh -c 'mkdir -p /var/log/pilot && setsid dockerd --host unix:///var/run/docker.sock >>/var/log/pilot/dockerd.log 2>&1 </dev/null &'
  fi
  [ "$DRY_RUN" = 1 ] && return
  local deadline=$((SECONDS + 60))
  while ! docker version >/dev/null 2>&1; do
    [ "$SECONDS" -lt "$deadline" ] || die_showing_log "the Docker engine did not start within 60 s (see /var/log/pilot/dockerd.log or journalctl -u docker)"
    sleep 0.5
  done
}

swarm_state() { docker info --format '{{.Swarm.LocalNodeState}}' 2>/dev/null || echo unknown; }

# An engine with live-restore cannot be in a swarm (Docker refuses it). A single-host install
# turned it on in the daemon.json it wrote: that one install.sh changes itself (a server growing
# from one host to several); anyone else's file is theirs to change.
check_no_live_restore() {
  [ "$DRY_RUN" = 1 ] && return
  [ "$(docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)" != true ] && return
  if [ "$(cat /etc/docker/daemon.json 2>/dev/null)" = "$(pilots_daemon_json live-restore)" ]; then
    note "swarm mode refuses live-restore, which the single-host install turned on in /etc/docker/daemon.json: turning it off and restarting Docker (the apps' containers restart with it)"
    pilots_daemon_json | write_file /etc/docker/daemon.json 0644
    restart_docker
    [ "$(docker info --format '{{.LiveRestoreEnabled}}' 2>/dev/null)" != true ] && return
  fi
  die "the Docker engine has live-restore on, which swarm mode refuses: remove \"live-restore\" from /etc/docker/daemon.json, restart Docker (systemctl restart docker), and run this again"
}

restart_docker() {
  if has_systemd; then
    run systemctl restart docker
  else
    local pid
    pid="$(cat /var/run/docker.pid 2>/dev/null || true)"
    [ -z "$pid" ] || kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 60))
    while [ -n "$pid" ] && pid_running "$pid"; do
      [ "$SECONDS" -lt "$deadline" ] || die "the Docker engine (pid $pid) did not stop within 60 s"
      sleep 0.2
    done
  fi
  ensure_docker_running
}

init_swarm() {
  step "Docker Swarm: this server is the manager"
  ensure_docker_running
  check_no_live_restore
  [ "$DRY_RUN" = 1 ] && { note "would run: docker swarm init${ADVERTISE_ADDR:+ --advertise-addr $ADVERTISE_ADDR} (unless the engine is in a swarm)"; return; }
  case "$(swarm_state)" in
    active)
      [ "$(docker info --format '{{.Swarm.ControlAvailable}}')" = true ] || die "this engine is a worker of a swarm: run --manager on a manager, or \`docker swarm leave\` first"
      note "the engine already manages a swarm: kept" ;;
    inactive)
      docker swarm init ${ADVERTISE_ADDR:+--advertise-addr "$ADVERTISE_ADDR"} || die_showing_log "docker swarm init failed: with several addresses, choose one with --advertise-addr"
      note "swarm created (docker swarm init)" ;;
    locked) die "the swarm is locked: \`docker swarm unlock\`, then run this again" ;;
    *) die "the engine's swarm is '$(swarm_state)': wait until it is active or inactive, then run this again" ;;
  esac
}

# --join: a server that only runs apps' tasks: Docker, the registry's CA, the swarm. What could be
# wrong in the line (the CA's fingerprint, the token) is found before anything stays changed.
join_swarm_as_node() {
  step "checks"
  check_os
  check_arch
  step "packages"
  # A node needs no git, Node.js or Caddy: only Docker, and openssl to read the registry's CA.
  local missing=()
  command -v openssl >/dev/null || missing+=(openssl)
  [ -e /etc/ssl/certs/ca-certificates.crt ] || missing+=(ca-certificates)
  if [ "${#missing[@]}" -gt 0 ]; then apt_install "${missing[@]}"; fi
  # Before Docker: a registry whose CA is not the one given stops the join with nothing installed.
  check_registry_ca
  step "Docker"
  install_docker
  ensure_docker_running
  check_no_live_restore
  step "joining the swarm of $JOIN"
  if [ "$DRY_RUN" = 1 ]; then
    note "would install the CA of $REGISTRY (SHA-256 $REGISTRY_CA_SHA256) into $(registry_ca_file)"
    note "would run: docker swarm join${ADVERTISE_ADDR:+ --advertise-addr $ADVERTISE_ADDR} --token $JOIN_TOKEN $JOIN (unless the engine is in a swarm)"
    end_step
    say "==> dry run done"
    return
  fi
  if [ "$(swarm_state)" = active ]; then
    end_step
    say "==> the engine is in a swarm already (node $(docker info --format '{{.Swarm.NodeID}}')): nothing changed; \`docker swarm leave\` first to join another"
    rm -f "$REGISTRY_CA_SEEN"
    return
  fi
  local trusted_before=0
  [ -e "$(registry_ca_file)" ] && trusted_before=1
  trust_registry
  join_or_explain "$trusted_before"
  end_step
  say ""
  say "==> this server is a node of the swarm ($(seconds_since "$INSTALL_STARTED"); log: $LOG_FILE)"
  note "on the manager, \`pilot nodes\` lists it; apps' tasks come here as the swarm places them"
  if ! has_systemd; then note "no systemd: start dockerd at boot yourself (e.g. from /etc/rc.local)"; fi
}

registry_ca_file() { printf '/etc/docker/certs.d/%s/ca.crt' "$REGISTRY"; }

# The CA the registry presents (the last certificate of its chain), kept in REGISTRY_CA_SEEN only
# if its fingerprint is the one given.
REGISTRY_CA_SEEN=""
check_registry_ca() {
  step "checking Pilot's registry at $REGISTRY"
  [ "$DRY_RUN" = 1 ] && { note "would read the CA $REGISTRY presents and compare it with SHA-256 $REGISTRY_CA_SHA256"; return; }
  local chain ca seen
  chain="$(openssl s_client -connect "$REGISTRY" -showcerts </dev/null 2>/dev/null)" || true
  ca="$(printf '%s\n' "$chain" | awk '/-----BEGIN CERTIFICATE-----/ { block = "" } { block = block $0 "\n" } /-----END CERTIFICATE-----/ { last = block } END { printf "%s", last }')"
  [ -n "$ca" ] || die "no TLS answer from the registry at $REGISTRY: is Pilot running on the manager, and TCP ${REGISTRY##*:} open from here? Nothing was changed"
  REGISTRY_CA_SEEN="$(mktemp)"
  printf '%s' "$ca" >"$REGISTRY_CA_SEEN"
  seen="$(normal_fingerprint "$(fingerprint "$REGISTRY_CA_SEEN")")"
  if [ "$seen" != "$REGISTRY_CA_SHA256" ]; then
    rm -f "$REGISTRY_CA_SEEN"
    die "the registry at $REGISTRY presents a CA with SHA-256 $seen, not the $REGISTRY_CA_SHA256 given: not trusted, not joined, nothing installed (wrong address, or someone in between)"
  fi
  note "its CA is the one given (SHA-256 $REGISTRY_CA_SHA256)"
}

# Docker pulls from the registry over TLS once its CA is under certs.d, without a restart.
trust_registry() {
  local file
  file="$(registry_ca_file)"
  if cmp -s "$REGISTRY_CA_SEEN" "$file"; then
    note "Pilot's registry is trusted already: $file"
  else
    mkdir -p "$(dirname "$file")"
    mv "$REGISTRY_CA_SEEN" "$file.tmp"
    chmod 0644 "$file.tmp"
    mv "$file.tmp" "$file"
    note "trusted Pilot's registry: $file"
  fi
  rm -f "$REGISTRY_CA_SEEN"
}

# join_or_explain TRUSTED_BEFORE: a refused join takes back the CA this run installed.
join_or_explain() {
  local output
  if output="$(docker swarm join ${ADVERTISE_ADDR:+--advertise-addr "$ADVERTISE_ADDR"} --token "$JOIN_TOKEN" "$JOIN" 2>&1)"; then
    note "$output"
    return
  fi
  printf '%s\n' "$output"
  # A join that timed out goes on in the background: stopped, as the failure says.
  [ "$(swarm_state)" = inactive ] || docker swarm leave --force || true
  local left="the registry's CA was trusted before this run: kept"
  if [ "$1" = 0 ]; then
    rm -f "$(registry_ca_file)"
    rmdir "$(dirname "$(registry_ca_file)")" 2>/dev/null || true
    left="the CA trusted above is removed again"
  fi
  case "$output" in
    *"valid join token"* | *"does not match"*)
      die "the manager at $JOIN refused the token (docker: ${output##*desc = }): it is wrong or was rotated; \`pilot nodes:join-command\` on the manager prints the current line. Not joined; $left" ;;
    *) die_showing_log "docker swarm join failed: is $JOIN reachable from here (TCP 2377, 7946 and UDP 4789, 7946) and the token current (pilot nodes:join-command)? Not joined; $left" ;;
  esac
}

FIRST_INSTALL=0
main() {
  parse_args "$@"
  [ "$DRY_RUN" = 1 ] && say "==> dry run: nothing will be changed"
  check_root
  open_log "$@"
  if [ "$UNINSTALL" = 1 ]; then uninstall; return; fi
  if [ -n "$JOIN" ]; then join_swarm_as_node; return; fi
  step "checks"
  check_os
  check_arch
  check_ports
  check_disk
  check_dns
  [ -e "$DATA_DIR/pilot.db" ] || FIRST_INSTALL=1
  if [ "$FIRST_INSTALL" = 1 ]; then note "first install"; else note "upgrade: apps, releases, tokens and data stay"; fi
  [ "$DRY_RUN" = 1 ] || note "full log: $LOG_FILE$([ "$VERBOSE" = 1 ] || echo " (-v prints it here too)")"
  step "packages"
  install_base_tools
  install_docker
  [ "$SCHEDULER" != swarm ] || init_swarm
  install_caddy
  install_node
  install_pilot
  write_settings
  write_commands
  start_services
  wait_for_health
  [ "$DRY_RUN" = 1 ] && { end_step; say "==> dry run done"; return; }
  check_https
  cleanup_old_releases
  print_summary
}

# Keeps the current release and the one before (to go back by hand: ln -sfn ... current).
cleanup_old_releases() {
  local old
  old="$(find "$PREFIX/releases" -mindepth 1 -maxdepth 1 -type d | sort | head -n -2)"
  [ -z "$old" ] || printf '%s\n' "$old" | xargs rm -rf
}

# Nothing after this line is read: a script edited while it runs must not run its new lines.
main "$@"; exit
