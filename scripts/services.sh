#!/bin/sh
# Install and check the external services skyweave's tests and network runs use.
# Today: Debian's nats-server (2.9.x; JetStream with -js -sd DIR). Idempotent and quiet:
# prints one line per service saying what it did. Runs as root, or through sudo when available.
set -eu

say() { printf 'services: %s\n' "$*"; }

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo -n "$@"
    else
        say "need root to run: $*" >&2
        return 1
    fi
}

if command -v nats-server >/dev/null 2>&1; then
    say "nats-server present: $(command -v nats-server) ($(nats-server --version 2>/dev/null || echo 'version unknown'))"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        say "nats-server missing and apt-get not available; install nats-server 2.9+ and put it on PATH" >&2
        exit 1
    fi
    say "installing nats-server with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway" >&2
    log="$(mktemp)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nats-server >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"; say "apt-get install nats-server failed" >&2; exit 1
    fi
    rm -f "$log"
    # Debian's package starts a system service on install; skyweave starts its own servers.
    if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet nats-server 2>/dev/null; then
        as_root systemctl disable --now nats-server >/dev/null 2>&1 || true
    fi
    if ! command -v nats-server >/dev/null 2>&1; then
        say "nats-server install failed: binary not on PATH after apt-get install" >&2
        exit 1
    fi
    say "installed nats-server: $(command -v nats-server) ($(nats-server --version 2>/dev/null || echo 'version unknown'))"
fi

# Check: the binary supports JetStream.
if ! nats-server --help 2>&1 | grep -q -- '--jetstream'; then
    say "nats-server found but has no JetStream support (need 2.2+)" >&2
    exit 1
fi
say "nats-server JetStream support: ok"
