#!/usr/bin/env bash
# Install the Debian packages the tests and the local tools need, when they are missing:
#
#   bash deploy/install-deps.sh                  # chromium nginx fonts-dejavu-core (`make test`)
#   bash deploy/install-deps.sh nginx            # only these (`make up`, `make screenshots`, ...)
#
# Known packages: chromium (the browser tests, `make screenshots`), nginx (`make up`'s gateway),
# fonts-dejavu-core (the case dossier's Unicode font) and postgresql (deploy/postgres/start.sh).
# Everything present: a no-op that runs no package tool at all (milliseconds). Something missing:
# apt-get as root, or through `sudo -n` when that works without a password. When that is
# impossible (not root, no apt-get, a package apt cannot install) it prints ONE line saying what to
# run, and exits 1. apt's own output goes to a log file named in that line.
#
# SUPPORT_DEPS_ROOT (default empty) prefixes the file locations checked; the tests use it with a
# PATH of stub commands to exercise the missing-package paths without removing anything.
set -uo pipefail

root="${SUPPORT_DEPS_ROOT:-}"
default=(chromium nginx fonts-dejavu-core)
wanted=("$@")
[ ${#wanted[@]} -gt 0 ] || wanted=("${default[@]}")

fail() {
    echo "install-deps: $*" >&2
    exit 1
}

has_program() {  # has_program <name>: on PATH, or in Debian's usual folders (not on a user's PATH)
    command -v "$1" >/dev/null 2>&1 || [ -x "$root/usr/bin/$1" ] || [ -x "$root/usr/sbin/$1" ]
}

present() {  # present <package>
    case "$1" in
        chromium) has_program chromium ;;
        nginx) has_program nginx ;;
        fonts-dejavu-core) [ -f "$root/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf" ] ;;
        postgresql) compgen -G "$root/usr/lib/postgresql/*/bin/postgres" >/dev/null ;;
        *) fail "unknown package '$1' (known: chromium nginx fonts-dejavu-core postgresql)" ;;
    esac
}

missing=()
for package in "${wanted[@]}"; do
    present "$package" || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

command_line="apt-get install -y ${missing[*]}"
command -v apt-get >/dev/null 2>&1 \
    || fail "missing ${missing[*]} and this machine has no apt-get: install them with its package manager, then run make test again"

as_root=()
if [ "$(id -u)" != 0 ]; then
    sudo -n true >/dev/null 2>&1 \
        || fail "missing ${missing[*]}: run 'sudo apt-get update && sudo $command_line', then run make test again"
    as_root=(sudo -n)
fi

log="${TMPDIR:-/tmp}/install-deps.$$.log"
echo "install-deps: installing ${missing[*]} from Debian's packages (log: $log)" >&2
if ! { "${as_root[@]}" apt-get update -qq \
    && "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"; } \
    >"$log" 2>&1; then
    fail "apt-get could not install ${missing[*]} (its output: $log): run '$command_line' yourself and fix what it says"
fi
for package in "${missing[@]}"; do
    present "$package" || fail "apt-get installed $package but it is still not found (log: $log)"
done
rm -f "$log"
echo "install-deps: installed ${missing[*]}" >&2
