#!/usr/bin/env bash
# Runs the @codebuff/sdk acceptance harness (../shared/acceptance/sdk) against this server:
# builds the server, starts the shared fake LLM provider and the server (embedded PostgreSQL in a throwaway DataDir,
# free loopback ports), creates a user with credits and one without, runs run-all.sh, prints its output and exits
# with its status. Every process it starts is stopped on exit; nothing is written into ../shared except what
# run-all.sh itself creates (node_modules, logs).
# SDK_PROVIDER=anthropic runs the same harness with the server's upstream of kind anthropic (Codebuff:Upstream:Kind)
# against acceptance/fake-anthropic.mjs, a fake of Anthropic's Messages API, and the agents' model
# anthropic/claude-sonnet-4.5 (CODEBUFF_MODEL overrides it); unset, the shared OpenAI-compatible fake is used.
set -uo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
shared="$root/../shared"
harness="$shared/acceptance/sdk"
[ -x "$harness/run-all.sh" ] || { echo "the SDK harness is missing at $harness" >&2; echo "0 passed, 1 failed"; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/codebuff-sdk-XXXXXX")
# The embedded cluster runs as the postgres user when we are root: it must be able to enter the folder.
chmod 755 "$work"
fake_pid=""; server_pid=""
cleanup() {
  for pid in $server_pid $fake_pid; do
    if kill -0 "$pid" 2>/dev/null; then kill -TERM "$pid" 2>/dev/null; fi
  done
  for pid in $server_pid $fake_pid; do
    for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null
  done
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
fail() { echo "$1" >&2; [ -n "${2:-}" ] && [ -f "$2" ] && tail -n 40 "$2" >&2; echo "0 passed, 1 failed"; exit 1; }

echo "building the server..." >&2
dotnet build src/Codebuff.Server -nologo -v q >"$work/build.log" 2>&1 || fail "build failed" "$work/build.log"
dll="$root/src/Codebuff.Server/bin/Debug/net10.0/Codebuff.Server.dll"

provider="${SDK_PROVIDER:-openai}"
case "$provider" in
  openai) fake_script="$shared/acceptance/fake-llm.mjs" ;;
  anthropic) fake_script="$root/acceptance/fake-anthropic.mjs"; export CODEBUFF_MODEL="${CODEBUFF_MODEL:-anthropic/claude-sonnet-4.5}" ;;
  *) fail "SDK_PROVIDER must be openai or anthropic, not $provider" ;;
esac
node "$fake_script" 0 >"$work/fake.out" 2>"$work/fake.log" &
fake_pid=$!
fake_url=""
for _ in $(seq 1 100); do
  fake_url=$(sed -n 's/^FAKE_LLM_LISTENING //p' "$work/fake.out" | head -n1)
  [ -n "$fake_url" ] && break
  kill -0 "$fake_pid" 2>/dev/null || break
  sleep 0.1
done
[ -n "$fake_url" ] || fail "the fake LLM provider did not start" "$work/fake.log"

export Codebuff__DataDir="$work/data"
export Codebuff__Upstream__BaseUrl="$fake_url"
export Codebuff__Upstream__ApiKey="fake-provider-key"
export Codebuff__Upstream__ReportsCost=true # fake-llm.mjs reports each call's cost, as OpenRouter does
if [ "$provider" = anthropic ]; then export Codebuff__Upstream__Kind=anthropic Codebuff__Upstream__BaseUrl="$fake_url/v1"; fi
export Logging__LogLevel__Default=Warning
unset ConnectionStrings__Default

json_field() { node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const l=s.trim().split("\n").pop();console.log(JSON.parse(l)[process.argv[1]])})' "$1"; }
rich=$(dotnet "$dll" admin create-user --email rich@example.com --credits 100000 2>"$work/admin.log" | json_field apiKey) || true
[ -n "$rich" ] && [ "$rich" != undefined ] || fail "admin create-user (rich) failed" "$work/admin.log"
broke=$(dotnet "$dll" admin create-user --email broke@example.com 2>>"$work/admin.log" | json_field apiKey) || true
[ -n "$broke" ] && [ "$broke" != undefined ] || fail "admin create-user (broke) failed" "$work/admin.log"

port=$(node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
url="http://127.0.0.1:$port"
dotnet "$dll" --urls "$url" >"$work/server.log" 2>&1 &
server_pid=$!
up=""
for _ in $(seq 1 300); do
  if curl -fsS "$url/api/healthz" >/dev/null 2>&1; then up=1; break; fi
  kill -0 "$server_pid" 2>/dev/null || break
  sleep 0.2
done
[ -n "$up" ] || fail "the server did not start on $url" "$work/server.log"
echo "server $url (pid $server_pid), fake LLM ($provider) $fake_url (pid $fake_pid)" >&2

CODEBUFF_URL="$url" CODEBUFF_API_KEY="$rich" CODEBUFF_BROKE_API_KEY="$broke" "$harness/run-all.sh" "$@" | tee "$work/harness.out"
rc=${PIPESTATUS[0]}

# What the wire checks cannot see (harness README, "Pointing it at a real server"): the stored run tree and billing.
ids=$(sed -n 's/^PASS subagent parent=\([^;]*\);child=\([^;]*\);.*/\1 \2/p' "$work/harness.out")
if [ -n "$ids" ] && command -v psql >/dev/null; then
  read -r parent child <<<"$ids"
  pg_port=$(sed -n 4p "$work/data/postgres/postmaster.pid" 2>/dev/null)
  q() { PGPASSWORD=$(cat "$work/data/postgres.password") psql -h 127.0.0.1 -p "$pg_port" -U postgres -d codebuff -tAc "$1"; }
  tree=$(q "SELECT (SELECT ancestor_run_ids = ARRAY['$parent'] AND parent_run_id = '$parent' AND root_run_id = '$parent' AND status = 'completed' FROM agent_run WHERE id = '$child')
            AND (SELECT count(*) = 1 FROM agent_step WHERE agent_run_id = '$parent' AND child_run_ids = ARRAY['$child'])
            AND (SELECT count(*) >= 1 FROM message WHERE client_request_id = '$child' AND credits > 0)
            AND (SELECT bool_and(m.id IS NOT NULL) FROM agent_step s LEFT JOIN message m ON m.id = s.message_id WHERE s.agent_run_id IN ('$parent', '$child'))
            AND (SELECT count(*) = 0 FROM message m JOIN \"user\" u ON u.id = m.user_id WHERE u.email = 'broke@example.com')
            AND (SELECT coalesce(sum(m.credits), 0) FROM message m JOIN \"user\" u ON u.id = m.user_id WHERE u.email = 'rich@example.com')
                = 100000 - (SELECT sum(g.balance) FROM credit_ledger g JOIN \"user\" u ON u.id = g.user_id WHERE u.email = 'rich@example.com')" 2>&1)
  if [ "$tree" = "t" ]; then
    echo "db-check: child run has ancestors [parent], a parent step lists [child], every step's messageId is a billed message row, the broke user was billed nothing, the rich user's ledger dropped by exactly the billed credits" >&2
  else
    echo "db-check FAILED: stored run tree or billing does not match the wire ($tree)" >&2
    rc=1
  fi
  # The dashboard's trace of that SDK run (the page takes the user's API key as a browser would take its cookie): the
  # child run sits in the parent's tree, and every billed call of the child is shown with its model and credits.
  page=$(curl -fsS -H "Authorization: Bearer $rich" "$url/runs/$parent" 2>&1)
  messages=$(q "SELECT string_agg(id, ' ' ORDER BY id) FROM message WHERE client_request_id = '$child'")
  missing=""
  grep -q "id=\"run-$child\"" <<<"$page" || missing="child run $child"
  for m in $messages; do grep -q "data-message=\"$m\"" <<<"$page" || missing="$missing message $m"; done
  grep -q 'class="model">[^<]' <<<"$page" || missing="$missing model"
  if [ -z "$missing" ] && [ -n "$messages" ]; then
    echo "trace-page: /runs/$parent shows the child run and its billed calls ($messages) with their model" >&2
  else
    echo "trace-page FAILED: /runs/$parent lacks:${missing:- the messages of the child run}" >&2
    rc=1
  fi
fi
if [ "$rc" -ne 0 ]; then echo "--- server log (tail) ---" >&2; tail -n 40 "$work/server.log" >&2; fi
exit $rc
