#!/usr/bin/env bash
# The one way the project installs system packages: the Debian packages named, those missing,
# with apt-get as root or with sudo when it needs no password; otherwise it stops at once with
# the command to run. Quiet: apt-get's output goes to .cache/logs/apt.log.
#
#   scripts/debianPackages.sh "WHAT NEEDS THEM" PACKAGE...
#
# Used by `npm test` (chromium for the webview and end-to-end tests, strace for the network
# trace), by scripts/code-server.sh (the compilers code-server's native modules build with) and
# by the llama.cpp builds (scripts/buildLog.mjs#ensureBuildTools: cmake, g++, git, make).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
what=$1
shift
missing=()
for package in "$@"; do
    # installed, not just known (a removed package keeps a status entry while its configuration stays)
    [[ "$(dpkg-query -W -f='${Status}\n' "$package" 2>/dev/null)" == *"install ok installed"* ]] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" = 0 ]; then
    sudo=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo=(sudo)
else
    echo "MoE Pilot: $what need(s) the Debian package(s) ${missing[*]}; install them with: sudo apt-get install ${missing[*]}" >&2
    exit 1
fi

log="$ROOT/.cache/logs/apt.log"
mkdir -p "$(dirname "$log")"
start=$(date +%s)
echo "Debian packages for $what: installing ${missing[*]} with apt-get (log: $log)"
# `env` after sudo: sudo's env_reset would drop a variable set before it, and debconf would ask.
if ! { "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq \
    && "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
    >"$log" 2>&1; then
    tail -30 "$log" >&2
    echo "apt-get could not install ${missing[*]}; the whole log: $log" >&2
    exit 1
fi
echo "Debian packages for $what: installed in $(($(date +%s) - start)) s"
