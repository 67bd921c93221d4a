# shellcheck shell=bash
# Debian root file systems for the PostgreSQL majors this machine's Debian
# does not ship: 17 from Debian 13 (trixie), 18 from Debian sid.
#
# Source this file after lib.sh; don't run it.  run_in_root MAJOR CMD...
# makes (once) a root file system with debootstrap from Debian's archive,
# with that major's server, headers and pg_cron and everything the tests
# and the benchmark need, keeps it in BULK_STATUS_ROOTS (default
# /var/cache/bulk_status/roots, outside any working tree) for later runs,
# and runs CMD inside it on a copy of this tree (in_root).  Needs root (or
# sudo), debootstrap (installed when missing) and Debian's archive.

ROOTS_DIR=${BULK_STATUS_ROOTS:-/var/cache/bulk_status/roots}
DEBIAN_MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

# The Debian suite that ships PostgreSQL major $1, or nothing.
suite_for_major() {
    case $1 in
        17) echo trixie ;;
        18) echo sid ;;
    esac
}

# The packages a root for major $1 holds: lib.sh's DEPS for that major,
# and what the benchmark adds (bench.sh).
root_packages() {
    echo build-essential "postgresql-$1" "postgresql-server-dev-$1" \
        "postgresql-$1-cron" libipc-run-perl gnuplot-nox libpq-dev ca-certificates
}

# Run a command as root inside root file system $1, in a mount namespace
# of its own with /proc and a tmpfs /dev/shm (mode 1777) mounted: both are
# gone when the command ends, however it ends.  The environment is empty
# but for the NAME=value words that come before the command.
in_root() {
    local root=$1
    shift
    as_root unshare --mount --propagation private sh -c '
        set -e
        root=$1; shift
        mount -t proc proc "$root/proc"
        mount -t tmpfs -o mode=1777 tmpfs "$root/dev/shm"
        exec chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 TMPDIR=/tmp \
            PATH=/usr/sbin:/usr/bin:/sbin:/bin DEBIAN_FRONTEND=noninteractive "$@"' \
        sh "$root" "$@"
}

# Make root file system $2 for major $1 if it is not ready: debootstrap
# (minbase), then apt settings, no service start-up, no default cluster,
# and the packages.  A root whose package list changed is brought up to
# date.  Serialised with flock, so that concurrent runs share one root.
provision_root() {
    local major=$1 root=$2 suite packages ready
    suite=$(suite_for_major "$major")
    packages=$(root_packages "$major")
    ready="$root/.bulk_status_ready"
    as_root mkdir -p "$ROOTS_DIR"
    exec 9>"$ROOTS_DIR/.lock"
    flock 9
    if [ -f "$ready" ] && [ "$(cat "$ready")" = "$packages" ]; then
        flock -u 9
        return 0
    fi
    if [ ! -x "$root/usr/bin/apt-get" ]; then
        command -v debootstrap >/dev/null 2>&1 || apt_get install -y debootstrap
        log "making a Debian $suite root file system in $root (debootstrap)"
        as_root rm -rf "$root"
        as_root debootstrap --variant=minbase --include=ca-certificates \
            "$suite" "$root" "$DEBIAN_MIRROR" >"$ROOTS_DIR/debootstrap-$suite.log" 2>&1 \
            || { tail -n 30 "$ROOTS_DIR/debootstrap-$suite.log"; die "debootstrap $suite failed"; }
    fi
    # sid's Release file may look expired to this machine's clock; no
    # service starts inside (policy-rc.d); the tests make their own clusters.
    as_root tee "$root/etc/apt/apt.conf.d/99bulk_status" >/dev/null <<'EOF'
Acquire::Check-Valid-Until "false";
APT::Install-Recommends "false";
EOF
    printf '#!/bin/sh\nexit 101\n' | as_root tee "$root/usr/sbin/policy-rc.d" >/dev/null
    as_root chmod 755 "$root/usr/sbin/policy-rc.d"
    as_root mkdir -p "$root/etc/postgresql-common"
    echo 'create_main_cluster = false' | as_root tee "$root/etc/postgresql-common/createcluster.conf" >/dev/null
    as_root cp /etc/resolv.conf "$root/etc/resolv.conf" 2>/dev/null || true
    log "installing into the $suite root: $packages"
    # shellcheck disable=SC2086  # one package name a word
    in_root "$root" sh -c "apt-get update && apt-get install -y $packages" \
        >"$ROOTS_DIR/apt-$suite.log" 2>&1 \
        || { tail -n 30 "$ROOTS_DIR/apt-$suite.log"; die "installing PostgreSQL $major in the $suite root failed"; }
    echo "$packages" | as_root tee "$ready" >/dev/null
    flock -u 9
}

# Run CMD (a path relative to the tree, and its arguments) inside the root
# for major $1, on a copy of this tree, with PG_MAJOR set and the
# settings check.sh reads passed through (COPT, PORT, SKIP_BENCH, SKIP_TAP,
# REPEAT, SUITES, PROVE_TESTS, KEEP).  Returns CMD's status.
run_in_root() {
    local major=$1 suite root run rc=0
    shift
    suite=$(suite_for_major "$major")
    [ -n "$suite" ] || die "PostgreSQL $major is in no Debian suite this script knows (17: trixie, 18: sid); it cannot be tested here"
    command -v dpkg-query >/dev/null 2>&1 || die "provisioning a root file system needs Debian (debootstrap)"
    root=$ROOTS_DIR/$suite
    provision_root "$major" "$root"

    # A copy of the tree of our own (concurrent runs each have theirs).
    as_root mkdir -p "$root/build"
    run=$(as_root mktemp -d "$root/build/run.XXXXXX")
    as_root chmod 755 "$run"
    tar -C "$(repo_root)" -cf - \
        --exclude=./.git --exclude=./.demo --exclude=./test/bench/data --exclude=./results \
        --exclude=./output_iso --exclude=./tmp_check --exclude=./log \
        --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
        --exclude=./regression.diffs --exclude=./regression.out . \
        | as_root tar -C "$run" -xf -

    log "running $* for PostgreSQL $major inside the Debian $suite root ($root)"
    in_root "$root" PG_MAJOR="$major" COPT="${COPT:-}" PORT="${PORT:-}" \
        SKIP_BENCH="${SKIP_BENCH:-0}" SKIP_TAP="${SKIP_TAP:-0}" REPEAT="${REPEAT:-1}" \
        SUITES="${SUITES:-regress isolation tap}" PROVE_TESTS="${PROVE_TESTS:-}" \
        KEEP="${KEEP:-0}" \
        bash "${run#"$root"}/$1" "${@:2}" || rc=$?
    if [ "${KEEP:-0}" = 1 ]; then
        echo "kept the tree copy $run"
    else
        as_root rm -rf "$run"
    fi
    return "$rc"
}
