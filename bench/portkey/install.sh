#!/usr/bin/env bash
# Installs Portkey's open-source gateway (pinned in package.json / package-lock.json) into bench/portkey/node_modules,
# where bench/Codebuff.Bench.Proxy finds it. Needs node and npm.
#
# Why the override: @portkey-ai/gateway 1.15.2 (and 1.9.8, the only other release) accepts @hono/node-server ^1.3.3,
# so npm picks 1.19.x, whose lightweight Response keeps the upstream fetch answer's immutable Headers when a response
# is built from it; Portkey then appends its x-portkey-* headers to them and every streamed chat completion answers
# 500 "TypeError: immutable" (Portkey-AI/gateway#1389; 1.14.2, the version named there, fails the same way here).
# 1.13.8 copies those headers, so streamed and non-streamed completions both work on Node 20.
# --ignore-scripts: the gateway's postinstall runs patch-package, which has no patches to apply in the published package.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --ignore-scripts --no-audit --no-fund
node -e 'for (const p of ["@portkey-ai/gateway", "@hono/node-server"]) console.log(p, JSON.parse(require("fs").readFileSync("node_modules/" + p + "/package.json", "utf8")).version)'
echo "installed: $(pwd)/node_modules/@portkey-ai/gateway/build/start-server.js"
