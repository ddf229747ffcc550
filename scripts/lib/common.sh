# shellcheck shell=bash
# Shared helpers for ordo's scripts. Source it, do not run it:
#
#   source "$(dirname "$0")/lib/common.sh"
#
# Works as root and as a normal user on Debian 12. Everything here talks to
# 127.0.0.1 only; PostgreSQL clusters made here are private (own data dir, own
# port, trust auth on loopback) and never touch a system cluster on 5432.

# Repository root (this file lives in scripts/lib/).
ORDO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export ORDO_ROOT

# --------------------------------------------------------------------------
# Messages
# --------------------------------------------------------------------------

# log MSG...: a progress line on stderr, prefixed with the script's name.
log() { printf '[%s] %s\n' "$(basename "$0")" "$*" >&2; }

# die MSG...: print an error and exit 1.
die() {
    printf '[%s] ERROR: %s\n' "$(basename "$0")" "$*" >&2
    exit 1
}

# is_root: true when running as uid 0.
is_root() { [ "$(id -u)" -eq 0 ]; }

# --------------------------------------------------------------------------
# Debian packages
# --------------------------------------------------------------------------

_APT_UPDATED=0

# _apt_installed PKG: true when PKG is installed according to dpkg.
_apt_installed() {
    dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# need_apt PKG...: make sure the Debian packages are installed.
# As root: `apt-get update` (once per script run, only when something is
# missing) and `apt-get install`. As a normal user: print the exact command
# to run and exit 1. Waits for a dpkg lock held by another apt up to 10 min.
need_apt() {
    local missing=() pkg
    for pkg in "$@"; do
        _apt_installed "$pkg" || missing+=("$pkg")
    done
    [ "${#missing[@]}" -eq 0 ] && return 0

    if ! is_root; then
        printf '[%s] ERROR: missing Debian packages: %s\n' "$(basename "$0")" "${missing[*]}" >&2
        printf '[%s] Install them with:\n\n    sudo apt-get install -y --no-install-recommends %s\n\n' \
            "$(basename "$0")" "${missing[*]}" >&2
        exit 1
    fi

    local apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
    export DEBIAN_FRONTEND=noninteractive
    if [ "$_APT_UPDATED" -eq 0 ]; then
        log "apt-get update (missing: ${missing[*]})"
        local try
        for try in 1 2 3; do
            if apt-get "${apt_opts[@]}" update -qq; then
                break
            fi
            [ "$try" -eq 3 ] && die "apt-get update failed"
            log "apt-get update failed (try $try), retrying in 10 s"
            sleep 10
        done
        _APT_UPDATED=1
    fi
    log "apt-get install ${missing[*]}"
    apt-get "${apt_opts[@]}" install -y -qq --no-install-recommends "${missing[@]}" \
        || die "apt-get install ${missing[*]} failed"
}

# build_deps: the system packages needed to build the crate and to run its
# tests and demo (the PostgreSQL server).
build_deps() {
    local pkgs=(pkg-config libssl-dev postgresql)
    # SAML signatures (samael links xmlsec1-openssl and libxml2; its bindgen build step needs libclang).
    pkgs+=(libxmlsec1-dev libxml2-dev libclang1-14 libclang-common-14-dev)
    need_apt "${pkgs[@]}"
}

# --------------------------------------------------------------------------
# Ports
# --------------------------------------------------------------------------

# free_port: print a TCP port that is free on 127.0.0.1 right now.
free_port() {
    python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()'
}

# port_is_free PORT: true when nothing listens on 127.0.0.1:PORT (nor on the
# wildcard address, which would make our bind fail too).
port_is_free() {
    python3 - "$1" <<'EOF'
import socket, sys
s = socket.socket()
try:
    s.bind(("127.0.0.1", int(sys.argv[1])))
except OSError:
    sys.exit(1)
finally:
    s.close()
EOF
}

# wait_tcp HOST PORT TIMEOUT_S: wait until a TCP connect succeeds.
wait_tcp() {
    python3 - "$1" "$2" "$3" <<'EOF'
import socket, sys, time
host, port, deadline = sys.argv[1], int(sys.argv[2]), time.time() + float(sys.argv[3])
while time.time() < deadline:
    try:
        socket.create_connection((host, port), timeout=1).close()
        sys.exit(0)
    except OSError:
        time.sleep(0.1)
sys.exit(1)
EOF
}

# --------------------------------------------------------------------------
# Private PostgreSQL clusters
# --------------------------------------------------------------------------

# pg_bindir: the newest installed PostgreSQL server's bin directory (Debian
# keeps initdb/pg_ctl there, not on PATH).
pg_bindir() {
    local d
    # shellcheck disable=SC2012 # fixed Debian paths, no odd names
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
    [ -n "$d" ] || die "no PostgreSQL server found under /usr/lib/postgresql (apt-get install postgresql)"
    printf '%s\n' "$d"
}

# pg_datadir REQUESTED: the directory the cluster really lives in.
# Normally REQUESTED itself (made absolute). As root the server runs as the
# `postgres` user, which must be able to traverse every parent directory; when
# it cannot (e.g. a checkout under /root, mode 700) the cluster goes to
# /var/tmp/ordo-pg-<hash of REQUESTED>/data instead — the same place every
# time, so pg_start/pg_stop/pg_destroy agree.
pg_datadir() {
    local req parent
    req="$(realpath -m -- "$1")"
    if ! is_root; then
        printf '%s\n' "$req"
        return
    fi
    parent="$(dirname -- "$req")"
    # Look for the nearest existing ancestor, and ask whether postgres reaches it.
    while [ ! -d "$parent" ]; do parent="$(dirname -- "$parent")"; done
    if (cd / && runuser -u postgres -- test -x "$parent") 2>/dev/null; then
        printf '%s\n' "$req"
    else
        printf '/var/tmp/ordo-pg-%s/data\n' "$(printf '%s' "$req" | sha256sum | cut -c1-12)"
    fi
}

# _pg_owner DATADIR: the user the server runs as when we are root: the owner
# of an existing data dir (unless that is root), else `postgres`.
_pg_owner() {
    local owner=postgres
    if [ -d "$1" ]; then
        owner="$(stat -c %U -- "$1")"
        [ "$owner" = root ] && owner=postgres
    fi
    printf '%s\n' "$owner"
}

# _pg_as DATADIR CMD...: run CMD as the cluster's user (itself when not root).
# cd / first so a server never inherits an unreadable working directory.
_pg_as() {
    local datadir="$1"
    shift
    if is_root; then
        (cd / && runuser -u "$(_pg_owner "$datadir")" -- "$@")
    else
        (cd / && "$@")
    fi
}

# pg_running DATADIR: true when the cluster in DATADIR (requested path) runs.
pg_running() {
    local datadir bindir
    datadir="$(pg_datadir "$1")"
    [ -f "$datadir/PG_VERSION" ] || return 1
    bindir="$(pg_bindir)"
    _pg_as "$datadir" "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1
}

# pg_port DATADIR: the port a running cluster listens on (from postmaster.pid).
pg_port() {
    local datadir
    datadir="$(pg_datadir "$1")"
    sed -n 4p "$datadir/postmaster.pid" 2>/dev/null
}

# pg_start DATADIR PORT [fast]: create (initdb, once) and start a private
# cluster in DATADIR listening on 127.0.0.1:PORT only, unix socket in the data
# dir, log in DATADIR/server.log, superuser `postgres` with trust auth.
# With a third argument `fast`: fsync, synchronous_commit and full_page_writes
# off — for throwaway test clusters only, never for data you keep.
# If the cluster already runs, it is left alone (check pg_port for its port).
# Sets PG_DATADIR to the directory really used (see pg_datadir).
pg_start() {
    local req="$1" port="$2" mode="${3:-}"
    local bindir datadir
    bindir="$(pg_bindir)"
    datadir="$(pg_datadir "$req")"
    # shellcheck disable=SC2034 # for the caller
    PG_DATADIR="$datadir"

    if [ "$datadir" != "$(realpath -m -- "$req")" ]; then
        log "the postgres user cannot reach $(dirname -- "$(realpath -m -- "$req")"); cluster placed in $datadir instead"
    fi

    if pg_running "$req"; then
        log "PostgreSQL in $datadir already runs on port $(pg_port "$req")"
        return 0
    fi

    # Data dir: ours (or the postgres user's when we are root), mode 700.
    if [ ! -d "$datadir" ]; then
        mkdir -p -- "$datadir"
        chmod 700 -- "$datadir"
        if is_root; then
            chown postgres:postgres -- "$datadir"
            # The /var/tmp fallback's own parent must be traversable too.
            chmod 755 -- "$(dirname -- "$datadir")"
        fi
    elif is_root && [ ! -f "$datadir/PG_VERSION" ] && [ "$(stat -c %U -- "$datadir")" = root ]; then
        # An empty dir someone made as root: hand it to postgres for initdb.
        chown postgres:postgres -- "$datadir"
        chmod 700 -- "$datadir"
    fi

    if [ ! -f "$datadir/PG_VERSION" ]; then
        local locale=C
        locale -a 2>/dev/null | grep -qix 'c.utf-\?8' && locale=C.UTF-8
        log "initdb $datadir (locale $locale)"
        # Output goes to a file beside the data dir (initdb wants the dir empty).
        if ! _pg_as "$datadir" "$bindir/initdb" -D "$datadir" --auth=trust -U postgres \
            --encoding=UTF8 --locale="$locale" >"$datadir.initdb.log" 2>&1; then
            cat -- "$datadir.initdb.log" >&2 || true
            die "initdb failed for $datadir"
        fi
        rm -f -- "$datadir.initdb.log"
        # Our settings live in ordo.conf, rewritten at every start; postgresql.conf
        # only includes it (values in ordo.conf win: it comes last).
        printf "\n# ordo's per-start settings (written by scripts/lib/common.sh)\ninclude_if_exists = 'ordo.conf'\n" |
            _pg_as "$datadir" tee -a "$datadir/postgresql.conf" >/dev/null
    fi

    # Unix socket in the data dir, unless the path would exceed the 107-byte
    # limit: then no unix socket at all (everything here uses TCP anyway).
    local sockdir="$datadir"
    [ "${#datadir}" -gt 90 ] && sockdir=''
    {
        echo "# written by scripts/lib/common.sh pg_start; rewritten at each start"
        echo "listen_addresses = '127.0.0.1'"
        echo "port = $port"
        echo "unix_socket_directories = '${sockdir//\'/\'\'}'"
        echo "max_connections = 200"
        echo "logging_collector = off"
        if [ "$mode" = fast ]; then
            echo "fsync = off"
            echo "synchronous_commit = off"
            echo "full_page_writes = off"
        fi
    } | _pg_as "$datadir" tee "$datadir/ordo.conf" >/dev/null

    log "starting PostgreSQL on 127.0.0.1:$port (data $datadir)"
    # setsid: the server gets its own session, so a Ctrl-C meant for the
    # foreground program (cargo, ordo serve) does not reach it; the scripts
    # stop it themselves.
    _pg_as "$datadir" setsid "$bindir/pg_ctl" -D "$datadir" -l "$datadir/server.log" -W start \
        >/dev/null || {
        tail -n 30 -- "$datadir/server.log" >&2 2>/dev/null || true
        die "pg_ctl start failed for $datadir"
    }

    # Ready means: our postmaster is alive, its pid file says port PORT and
    # "ready", and pg_isready agrees. (pg_isready alone could be answered by
    # some other server already on that port.)
    local i why="did not become ready on 127.0.0.1:$port within 30 s"
    for ((i = 0; i < 300; i++)); do
        if [ "$i" -gt 10 ] && ! _pg_as "$datadir" "$bindir/pg_ctl" -D "$datadir" status >/dev/null 2>&1; then
            why="exited while starting on 127.0.0.1:$port"
            break
        fi
        if [ "$(sed -n 4p "$datadir/postmaster.pid" 2>/dev/null)" = "$port" ] &&
            [ "$(sed -n 8p "$datadir/postmaster.pid" 2>/dev/null | tr -d ' ')" = ready ] &&
            "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -U postgres -d postgres; then
            return 0
        fi
        sleep 0.1
    done
    log "PostgreSQL $why; log tail of $datadir/server.log:"
    tail -n 30 -- "$datadir/server.log" >&2 2>/dev/null || true
    _pg_as "$datadir" "$bindir/pg_ctl" -D "$datadir" stop -m immediate >/dev/null 2>&1 || true
    die "PostgreSQL failed to start (data $datadir)"
}

# pg_stop DATADIR: stop the cluster if it runs (fast shutdown, then immediate).
pg_stop() {
    local bindir datadir
    datadir="$(pg_datadir "$1")"
    [ -f "$datadir/PG_VERSION" ] || return 0
    pg_running "$1" || return 0
    bindir="$(pg_bindir)"
    _pg_as "$datadir" "$bindir/pg_ctl" -D "$datadir" stop -m fast -w -t 30 >/dev/null 2>&1 ||
        _pg_as "$datadir" "$bindir/pg_ctl" -D "$datadir" stop -m immediate -w -t 30 >/dev/null 2>&1 ||
        log "could not stop PostgreSQL in $datadir"
}

# pg_destroy DATADIR: stop the cluster and delete its data (including a
# /var/tmp fallback location, see pg_datadir).
pg_destroy() {
    local datadir
    datadir="$(pg_datadir "$1")"
    pg_stop "$1"
    rm -rf -- "$datadir"
    case "$datadir" in
    /var/tmp/ordo-pg-*/data) rmdir -- "$(dirname -- "$datadir")" 2>/dev/null || true ;;
    esac
}

# pg_ensure_db PORT DBNAME: create database DBNAME on 127.0.0.1:PORT if missing.
pg_ensure_db() {
    local port="$1" db="$2" bindir exists
    bindir="$(pg_bindir)"
    exists="$("$bindir/psql" -X -q -h 127.0.0.1 -p "$port" -U postgres -d postgres -tAc \
        "SELECT 1 FROM pg_database WHERE datname = '${db//\'/\'\'}'")"
    if [ "$exists" != 1 ]; then
        log "createdb $db"
        "$bindir/createdb" -h 127.0.0.1 -p "$port" -U postgres "$db"
    fi
}

# elapsed SINCE_EPOCH_S: "12s" or "3m05s" since a `date +%s` value.
elapsed() {
    local s=$(($(date +%s) - $1))
    if [ "$s" -ge 60 ]; then printf '%dm%02ds' $((s / 60)) $((s % 60)); else printf '%ds' "$s"; fi
}

# --------------------------------------------------------------------------
# Single sign-on test peers
# --------------------------------------------------------------------------

# sso_venv: print the path of a Python venv with AgID's SPID tools (spid-sp-test,
# spid-compliant-certificates) and pysaml2, pinned; made once, in the user's cache.
# Also makes sure Debian's xmlsec1 is there (spid-sp-test and pysaml2 sign with it).
sso_venv() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/ordo/venv-sso-1"
    need_apt xmlsec1 python3-venv >&2
    if [ ! -x "$venv/bin/spid_sp_test" ] || ! "$venv/bin/python" -c 'import saml2' 2>/dev/null; then
        log "installing spid-sp-test, spid-compliant-certificates and pysaml2 into $venv"
        python3 -m venv "$venv" >&2
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet \
            spid-sp-test==1.2.18 spid-compliant-certificates==0.5.5 pysaml2==7.5.5 >&2
    fi
    printf '%s\n' "$venv"
}

# federation_venv: print the path of a venv with spid-cie-oidc (Italia's OIDC Federation
# implementation, pinned), used to validate ordo's Entity Configuration. Its own venv: it pins
# Django and pydantic 1, which AgID's SAML tools need not share.
federation_venv() {
    local venv="${XDG_CACHE_HOME:-$HOME/.cache}/ordo/venv-federation-1"
    need_apt python3-venv >&2
    if ! "$venv/bin/python" -c 'import spid_cie_oidc' 2>/dev/null; then
        log "installing spid-cie-oidc into $venv"
        python3 -m venv "$venv" >&2
        PIP_DISABLE_PIP_VERSION_CHECK=1 "$venv/bin/pip" install --quiet spid-cie-oidc==1.6.3 >&2
    fi
    printf '%s\n' "$venv"
}
