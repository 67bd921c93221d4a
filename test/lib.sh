# shellcheck shell=bash
# Shell helpers shared by test/check.sh, test/demo.sh and the benchmarks.
#
# Source this file; don't run it.  It knows which PostgreSQL major to use,
# how to install the build and test dependencies on Debian, build and
# install the extension, and run a throwaway cluster that lives in one
# directory (data, socket, server log).  PostgreSQL refuses to run as root,
# so when we are root the cluster and everything that talks to it run as
# the "postgres" user (as_pg); installing packages and files needs root
# (as_root, which uses sudo when we are not root).

# The PostgreSQL major of the Debian release we run on (bookworm ships 15,
# trixie 17, forky and sid 18), or nothing for another release.
debian_default_major() {
    local codename=""
    if [ -r /etc/os-release ]; then
        codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
    fi
    if [ -z "$codename" ] && [ -r /etc/debian_version ]; then
        case $(cat /etc/debian_version) in
            12*) codename=bookworm ;;
            13*) codename=trixie ;;
            */sid) codename=sid ;;
        esac
    fi
    case $codename in
        bookworm) echo 15 ;;
        trixie) echo 17 ;;
        forky | sid) echo 18 ;;
    esac
}

# The newest PostgreSQL major whose server and headers are installed here.
newest_installed_major() {
    local dir major best=""
    for dir in /usr/lib/postgresql/*/bin; do
        [ -x "$dir/postgres" ] && [ -x "$dir/pg_config" ] || continue
        major=$(basename "$(dirname "$dir")")
        [[ "$major" =~ ^[0-9]+$ ]] || continue
        if [ -z "$best" ] || [ "$major" -gt "$best" ]; then
            best=$major
        fi
    done
    echo "$best"
}

# The major to use: PG_MAJOR when set, else the newest one installed, else
# the one the Debian release ships.
if [ -z "${PG_MAJOR:-}" ]; then
    PG_MAJOR=$(newest_installed_major)
    [ -n "$PG_MAJOR" ] || PG_MAJOR=$(debian_default_major)
    [ -n "$PG_MAJOR" ] || PG_MAJOR=15
fi
[[ "$PG_MAJOR" =~ ^[0-9]+$ ]] || { echo "error: PG_MAJOR must be a number, not '$PG_MAJOR'" >&2; exit 1; }

# That major's own tools, whatever else is on PATH.
PG_BIN=/usr/lib/postgresql/$PG_MAJOR/bin
PG_CONFIG=$PG_BIN/pg_config
PATH="$PG_BIN:$PATH"
export PG_MAJOR PG_CONFIG PATH

# Debian packages needed to build, install and test the extension.
DEPS=(build-essential "postgresql-$PG_MAJOR" "postgresql-server-dev-$PG_MAJOR"
      "postgresql-$PG_MAJOR-cron" libipc-run-perl)

# The user that owns and runs the throwaway cluster.
if [ "$(id -u)" -eq 0 ]; then
    PG_USER=postgres
else
    PG_USER=$(id -un)
fi

# Print a progress line.
log() {
    printf '\n==> %s\n' "$*"
}

# Print an error and stop.
die() {
    printf 'error: %s\n' "$*" >&2
    exit 1
}

# The repository root: the parent of the directory holding this file.
repo_root() {
    cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd
}

# Run a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    elif command -v sudo >/dev/null 2>&1; then
        sudo "$@"
    else
        die "need root or sudo to run: $*"
    fi
}

# Run a command as the cluster user, from directory $PG_CWD (default /, so
# that a cwd the postgres user cannot read does not matter).  When we are
# root it goes through runuser with an explicit environment: PATH and the
# libpq connection variables we use.
as_pg() {
    local cwd=${PG_CWD:-/}
    if [ "$(id -u)" -eq 0 ]; then
        (cd "$cwd" && runuser -u postgres -- env \
            PATH="$PATH" PG_CONFIG="$PG_CONFIG" \
            ${PGHOST:+PGHOST="$PGHOST"} ${PGPORT:+PGPORT="$PGPORT"} \
            ${PGUSER:+PGUSER="$PGUSER"} ${PGDATABASE:+PGDATABASE="$PGDATABASE"} \
            "$@")
    else
        (cd "$cwd" && "$@")
    fi
}

# Print the dependencies that are not installed yet, one a line.
missing_deps() {
    local p
    for p in "${DEPS[@]}"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            echo "$p"
        fi
    done
}

# Run apt-get as root, non-interactively, waiting (up to 10 minutes) for
# another apt or dpkg that holds the lock.
apt_get() {
    as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 "$@"
}

# Install the missing dependencies with apt-get; do nothing when all are there.
install_deps() {
    command -v dpkg-query >/dev/null 2>&1 || die "this script expects Debian (dpkg/apt-get)"
    local missing
    missing=$(missing_deps)
    if [ -z "$missing" ]; then
        log "dependencies already installed"
        return 0
    fi
    log "installing dependencies: $(echo "$missing" | tr '\n' ' ')"
    apt_get update
    # shellcheck disable=SC2086  # one package name a word
    apt_get install -y $missing
}

# Succeed when this machine has PostgreSQL $PG_MAJOR, or its package
# manager offers it (apt-get update first, when it is not installed).
host_has_major() {
    [ -x "$PG_BIN/postgres" ] && [ -x "$PG_CONFIG" ] && return 0
    command -v apt-cache >/dev/null 2>&1 || return 1
    apt_get update >/dev/null || return 1
    apt-cache policy "postgresql-server-dev-$PG_MAJOR" 2>/dev/null | grep -q 'Candidate: [0-9]'
}

# Build the extension in directory $1 and install it into PostgreSQL $PG_MAJOR.
# COPT (e.g. -Werror) is passed through when set.
build_and_install() {
    local dir=$1
    local -a opts=(PG_CONFIG="$PG_CONFIG")
    if [ -n "${COPT:-}" ]; then
        opts+=(COPT="$COPT")
    fi
    log "building in $dir${COPT:+ (COPT=$COPT)}"
    make -C "$dir" -j"$(nproc)" "${opts[@]}"
    log "installing into $($PG_CONFIG --pkglibdir)"
    as_root make -C "$dir" "${opts[@]}" install
}

# Make directory $1 belong to the cluster user (only needed when root).
give_to_pg() {
    if [ "$(id -u)" -eq 0 ]; then
        chown -R postgres:postgres "$1"
    fi
}

# Succeed when nothing seems to use port $1: no TCP listener on localhost and
# no PostgreSQL unix socket with that port number anywhere on the machine.
port_is_free() {
    local port=$1
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
        return 1
    fi
    if grep -q "\.s\.PGSQL\.$port\$" /proc/net/unix 2>/dev/null; then
        return 1
    fi
    return 0
}

# Print the first free port from $1 on, trying up to 100 ports.
pick_port() {
    local port=$1 last=$(($1 + 99))
    while [ "$port" -le "$last" ]; do
        if port_is_free "$port"; then
            echo "$port"
            return 0
        fi
        port=$((port + 1))
    done
    die "no free port in $1-$last"
}

# Settings for the throwaway cluster, added to postgresql.conf.  Set
# PRELOAD_LIBRARIES (e.g. 'bulk_status') before cluster_start to preload.
PRELOAD_LIBRARIES=${PRELOAD_LIBRARIES:-}
CLUSTER_EXTRA_CONF=${CLUSTER_EXTRA_CONF:-}

# Create and start a cluster in directory $1 (owned by the cluster user) on
# port $2: data in $1/data, socket in $1, server log in $1/server.log.
# Sets CLUSTER_DIR and exports PGHOST/PGPORT/PGUSER for the clients.
cluster_start() {
    local dir=$1 port=$2
    CLUSTER_DIR=$dir
    log "creating a throwaway cluster in $dir/data (port $port, user $PG_USER)"
    as_pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C --no-sync \
        >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; die "initdb failed"; }
    as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<EOF

# Added by bulk_status test/lib.sh for a throwaway cluster.
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
fsync = off
shared_preload_libraries = '$PRELOAD_LIBRARIES'
$CLUSTER_EXTRA_CONF
EOF
    as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 120 start >/dev/null \
        || { tail -n 50 "$dir/server.log" 2>/dev/null; die "the cluster did not start"; }
    export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

# Stop the cluster started by cluster_start, if it runs.  Never fails.
cluster_stop() {
    local dir=${CLUSTER_DIR:-}
    if [ -n "$dir" ] && [ -f "$dir/data/postmaster.pid" ]; then
        as_pg pg_ctl -D "$dir/data" -m fast -w -t 60 stop >/dev/null 2>&1 \
            || as_pg pg_ctl -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 \
            || true
    fi
}

# Start a cluster in directory $1 on port $2 that is kept between runs (for
# benchmarks): data in $1/data, socket in $1, server log in $1/server.log.
# The first call creates it; later calls start the existing one (stopping
# it first if an interrupted run left it running).  Unlike cluster_start it
# keeps PostgreSQL's durability defaults (fsync stays on); the settings it
# manages (port, socket, PRELOAD_LIBRARIES, CLUSTER_EXTRA_CONF) live in
# $1/data/lib_cluster.conf, rewritten at every start and included from
# postgresql.conf.  Sets CLUSTER_DIR and exports PGHOST/PGPORT/PGUSER.
cluster_reuse() {
    local dir=$1 port=$2
    CLUSTER_DIR=$dir
    if [ ! -f "$dir/data/PG_VERSION" ]; then
        log "creating a cluster in $dir/data (kept between runs; user $PG_USER)"
        rm -rf "$dir/data"
        as_pg initdb -D "$dir/data" -U postgres -A trust -E UTF8 --locale=C \
            >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; die "initdb failed"; }
        as_pg tee -a "$dir/data/postgresql.conf" >/dev/null <<'EOC'

# Added by bulk_status test/lib.sh (cluster_reuse); rewritten at every start.
include = 'lib_cluster.conf'
EOC
    elif [ -f "$dir/data/postmaster.pid" ]; then
        log "stopping the cluster an earlier run left in $dir"
        cluster_stop
    fi
    as_pg tee "$dir/data/lib_cluster.conf" >/dev/null <<EOC
# Written by bulk_status test/lib.sh (cluster_reuse) at every start.
listen_addresses = ''
unix_socket_directories = '$dir'
port = $port
shared_preload_libraries = '$PRELOAD_LIBRARIES'
$CLUSTER_EXTRA_CONF
EOC
    log "starting the cluster in $dir/data (port $port)"
    as_pg pg_ctl -D "$dir/data" -l "$dir/server.log" -w -t 300 start >/dev/null \
        || { tail -n 50 "$dir/server.log" 2>/dev/null; die "the cluster did not start"; }
    export PGHOST=$dir PGPORT=$port PGUSER=postgres
}

# Follow the RssAnon (private resident memory) of the process whose pid
# appears in file $1, every 100 ms until the process exits, and keep
# "first_kB peak_kB samples" in file $2.  Meant to run in the background
# (rss_watch_start); waits up to a minute for the pid file.
rss_watch() {
    set +e
    local pidfile=$1 out=$2 pid="" i
    for ((i = 0; i < 3000; i++)); do
        if [ -s "$pidfile" ]; then
            read -r pid <"$pidfile"
            [[ "$pid" =~ ^[0-9]+$ ]] && break
        fi
        sleep 0.02
    done
    [[ "$pid" =~ ^[0-9]+$ ]] || return 0
    rss_reset
    while [ -r "/proc/$pid/status" ]; do
        rss_sample "$pid" "$out"
        sleep 0.1
    done
}

# The samples of a watcher (rss_watch, or one that follows several
# processes): the first, the largest, how many.  Each watcher runs in a
# subshell of its own, so these globals are its own.
rss_reset() {
    RSS_FIRST="" RSS_PEAK=0 RSS_SAMPLES=0
}

# Read the RssAnon (kB) of process $1, if it still runs, into the samples,
# and write "first_kB peak_kB samples" to file $2.
rss_sample() {
    local key val="" rest
    while read -r key val rest; do
        [ "$key" = "RssAnon:" ] && break
        val=""
    done 2>/dev/null <"/proc/$1/status"   # (it may be gone: an error, ignored)
    [[ "$val" =~ ^[0-9]+$ ]] || return 0
    [ -z "$RSS_FIRST" ] && RSS_FIRST=$val
    [ "$val" -gt "$RSS_PEAK" ] && RSS_PEAK=$val
    RSS_SAMPLES=$((RSS_SAMPLES + 1))
    echo "$RSS_FIRST $RSS_PEAK $RSS_SAMPLES" >"$2"
}

# Start rss_watch $1 $2 in the background; its pid goes to RSS_WATCH_PID.
rss_watch_start() {
    rss_watch "$1" "$2" &
    RSS_WATCH_PID=$!
}

# Wait (at most $1 tenths of a second, default 50) for the watcher started
# by rss_watch_start to see its process exit, then end it.
rss_watch_stop() {
    local i
    [ -n "${RSS_WATCH_PID:-}" ] || return 0
    for ((i = 0; i < ${1:-50}; i++)); do
        kill -0 "$RSS_WATCH_PID" 2>/dev/null || break
        sleep 0.1
    done
    kill "$RSS_WATCH_PID" 2>/dev/null || true
    wait "$RSS_WATCH_PID" 2>/dev/null || true
    RSS_WATCH_PID=""
}
