#!/bin/sh
# Install and check the external services skyweave's tests and network runs use.
# Today: Debian's nats-server (2.9.x; JetStream with -js -sd DIR), Debian's PostgreSQL (with PostGIS
# where its package installs) for the journal's tests, chromium, asterix-decoder. Idempotent and quiet:
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

# Debian's PostgreSQL (and PostGIS where its package installs): the journal's PostgreSQL back end,
# tested against a throw-away server the tests start themselves (tests/support/postgres.py runs
# initdb and pg_ctl from /usr/lib/postgresql/*/bin as the package's 'postgres' user).
pg_bin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k4 -n | tail -n 1; }
if [ -n "$(pg_bin)" ] && [ -x "$(pg_bin)/initdb" ]; then
    say "postgresql present: $(pg_bin)"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        say "postgresql missing and apt-get not available; the PostgreSQL journal tests will skip" >&2
    else
        say "installing postgresql with apt-get"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway" >&2
        log="$(mktemp)"
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends postgresql >"$log" 2>&1; then
            cat "$log" >&2; rm -f "$log"; say "apt-get install postgresql failed" >&2; exit 1
        fi
        rm -f "$log"
        # Debian's package starts a system cluster on install; skyweave's tests start their own.
        if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet postgresql 2>/dev/null; then
            as_root systemctl disable --now postgresql >/dev/null 2>&1 || true
        elif command -v pg_lsclusters >/dev/null 2>&1; then
            pg_lsclusters -h 2>/dev/null | while read -r ver name _port status _rest; do
                [ "$status" = "online" ] && as_root pg_ctlcluster "$ver" "$name" stop >/dev/null 2>&1 || true
            done
        fi
        if [ -z "$(pg_bin)" ]; then
            say "postgresql install failed: no /usr/lib/postgresql/*/bin after apt-get install" >&2
            exit 1
        fi
        say "installed postgresql: $(pg_bin)"
    fi
fi
if [ -n "$(pg_bin)" ]; then
    pgver="$(basename "$(dirname "$(pg_bin)")")"
    if ls /usr/share/postgresql/"$pgver"/extension/postgis.control >/dev/null 2>&1; then
        say "postgis present for PostgreSQL $pgver"
    elif command -v apt-get >/dev/null 2>&1; then
        log="$(mktemp)"
        if as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "postgresql-$pgver-postgis-3" >"$log" 2>&1; then
            say "installed postgis: postgresql-$pgver-postgis-3"
        else
            say "postgis did not install (postgresql-$pgver-postgis-3); the journal keeps positions as plain lat/lon/alt columns" >&2
        fi
        rm -f "$log"
    else
        say "postgis missing; the journal keeps positions as plain lat/lon/alt columns"
    fi
fi

# Debian's chromium: the headless browser the web view's tests drive (Playwright with
# executable_path; no browser download).
if command -v chromium >/dev/null 2>&1; then
    say "chromium present: $(command -v chromium)"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        say "chromium missing and apt-get not available; install Debian's chromium package" >&2
        exit 1
    fi
    say "installing chromium with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway" >&2
    log="$(mktemp)"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >"$log" 2>&1; then
        cat "$log" >&2; rm -f "$log"; say "apt-get install chromium failed" >&2; exit 1
    fi
    rm -f "$log"
    say "installed chromium: $(command -v chromium)"
fi

# asterix-decoder (GPL, a test oracle of skyweave.interop's ASTERIX codecs; never imported by the
# package): compiled from source against Debian's libexpat1-dev, into the project's virtualenv.
VENV_PY="${VENV:-.venv}/bin/python"
if ! dpkg -s libexpat1-dev >/dev/null 2>&1 || ! command -v g++ >/dev/null 2>&1; then
    if command -v apt-get >/dev/null 2>&1; then
        say "installing libexpat1-dev and g++ with apt-get"
        as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null 2>&1 || say "apt-get update failed; trying the install anyway" >&2
        log="$(mktemp)"
        if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends libexpat1-dev g++ >"$log" 2>&1; then
            cat "$log" >&2; rm -f "$log"; say "apt-get install libexpat1-dev g++ failed" >&2; exit 1
        fi
        rm -f "$log"
    else
        say "libexpat1-dev or g++ missing and apt-get not available; the asterix-decoder oracle tests will skip" >&2
    fi
fi
if [ -x "$VENV_PY" ]; then
    if "$VENV_PY" -c "import asterix" >/dev/null 2>&1; then
        say "asterix-decoder present in $VENV_PY"
    else
        say "building asterix-decoder into $VENV_PY (pip, from source)"
        log="$(mktemp)"
        if ! "$VENV_PY" -m pip install -q --disable-pip-version-check "asterix-decoder>=0.7.11,<0.8" >"$log" 2>&1; then
            cat "$log" >&2; rm -f "$log"; say "pip install asterix-decoder failed" >&2; exit 1
        fi
        rm -f "$log"
        say "installed asterix-decoder: $("$VENV_PY" -c 'import asterix; print(asterix.__version__)')"
    fi
fi
