#!/usr/bin/env bash
# Runs the whole test suite: every xunit project (real PostgreSQL, real HTTP, real browser) and the
# @codebuff/sdk acceptance harness. Installs what a fresh Debian/Ubuntu machine lacks. The last line is
# "N passed, N failed", counted from the TRX results and the harness verdicts; exit status is non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")"
root=$(pwd)

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
missing=()
have_pg() { command -v initdb >/dev/null || command -v pg_config >/dev/null || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; }
have_pg || missing+=(postgresql)
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
command -v curl >/dev/null || missing+=(curl)
command -v tmux >/dev/null || missing+=(tmux) # the CLI's real-terminal tests (Codebuff.Cli.Tests Ui/TerminalTests)
command -v bwrap >/dev/null || missing+=(bubblewrap) # the CLI's command sandbox (Codebuff.Cli.Tests Tools/SandboxTests)
command -v rg >/dev/null || missing+=(ripgrep) # code_search's first engine; the CLI tests also run once without it (below)
command -v prometheus >/dev/null || missing+=(prometheus) # scrapes /metrics in Codebuff.Server.Tests Telemetry/MetricsTests
command -v protoc >/dev/null || missing+=(protobuf-compiler) # decodes OTLP bodies (protoc --decode_raw) in Telemetry/OtlpExportTests
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  as_root apt-get update -qq >&2 && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >&2 \
    || { echo "could not install ${missing[*]}" >&2; echo "0 passed, 1 failed"; exit 1; }
fi
command -v dotnet >/dev/null || { echo "the .NET 10 SDK is required (dotnet not on PATH)" >&2; echo "0 passed, 1 failed"; exit 1; }

# The code's layout against .editorconfig (issue #29): what `dotnet format` would change is one failure, naming the files.
# It restores the solution as the test run below would (about 7 minutes on a loaded 2-core machine, 2-3 on a quiet one).
format_log=$(mktemp)
dotnet format Codebuff.slnx --verify-no-changes >"$format_log" 2>&1
format_rc=$?

# The unmodified @codebuff/sdk, which the acceptance harness and the agent-definition tests run.
sdk_dir="$root/../shared/acceptance/sdk"
if [ -f "$sdk_dir/package-lock.json" ] && [ ! -f "$sdk_dir/node_modules/@codebuff/sdk/package.json" ]; then
  (cd "$sdk_dir" && npm ci --no-audit --no-fund --loglevel=error >&2) || echo "npm ci for the SDK harness failed" >&2
fi
# The official openai package, which Chat/OpenAiClientTests drives against the server (the gateway, issue #32).
if [ ! -f tests/openai-client/node_modules/openai/package.json ]; then
  (cd tests/openai-client && npm ci --no-audit --no-fund --loglevel=error >&2) || echo "npm ci for tests/openai-client failed" >&2
fi

results="$root/TestResults"
rm -rf "$results"
mkdir -p "$results"
# A test that runs over 10 minutes is hung: its test host is killed and the run goes on (the hang is reported, the suite fails).
dotnet test Codebuff.slnx --logger "trx" --results-directory "$results" --blame-hang-timeout 10m --blame-hang-dump-type none 2>&1 | tee "$results/dotnet-test.log" \
  | grep -E "^\s*(Failed|Passed|Skipped)!|error|\[FAIL\]" >&2
test_rc=${PIPESTATUS[0]}
# The CLI tests once more with code_search's in-process fallback forced, so both engines are tested (own TRX file, counted below).
CODEBUFF_RIPGREP=off dotnet test tests/Codebuff.Cli.Tests --no-build --logger "trx;LogFileName=cli-without-ripgrep.trx" --results-directory "$results" \
  --blame-hang-timeout 10m --blame-hang-dump-type none 2>&1 | tee "$results/dotnet-test-without-ripgrep.log" \
  | grep -E "^\s*(Failed|Passed|Skipped)!|error|\[FAIL\]" >&2
[ "${PIPESTATUS[0]}" -eq 0 ] || test_rc=1

# What each failed test said (its assertion and the top of its stack), so a CI log alone explains a failure.
if [ "$test_rc" -ne 0 ]; then
  grep -h -A25 -E '^\s+Failed [A-Za-z]' "$results"/dotnet-test*.log | head -n 200 >&2
fi

passed=0; failed=0
for trx in "$results"/*.trx; do
  [ -f "$trx" ] || continue
  counters=$(grep -o '<Counters [^>]*>' "$trx" | head -n1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$counters"); f=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$counters")
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
done
if [ "$test_rc" -ne 0 ] && [ "$failed" -eq 0 ]; then failed=1; echo "dotnet test exited $test_rc (see TestResults/dotnet-test*.log)" >&2; fi
if [ "$format_rc" -ne 0 ]; then
  failed=$((failed + 1))
  echo "[FAIL] dotnet format Codebuff.slnx --verify-no-changes: not formatted as .editorconfig describes (run it without --verify-no-changes to fix):" >&2
  grep -oE '^[^ ]+\.(cs|razor)\(' "$format_log" | sed 's/($//' | sort -u | sed "s|^$root/|  |" >&2
  grep -q '\.cs(' "$format_log" || tail -n 20 "$format_log" >&2
fi
cp "$format_log" "$results/dotnet-format.log"; rm -f "$format_log"

# The SDK acceptance harness (shared/acceptance/sdk) against this server and the shared fake LLM provider.
if [ -x acceptance/run-sdk-acceptance.sh ]; then
  acceptance/run-sdk-acceptance.sh >"$results/sdk.log" 2>&1
  sdk_rc=$?
  grep -E '^(PASS|FAIL) ' "$results/sdk.log" >&2
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results/sdk.log" | tail -n1)
  if [ -n "$line" ]; then
    passed=$((passed + $(cut -d' ' -f1 <<<"$line"))); failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
  fi
  if [ "$sdk_rc" -ne 0 ] && { [ -z "$line" ] || [ "$(cut -d' ' -f3 <<<"$line")" = 0 ]; }; then
    failed=$((failed + 1)); echo "SDK acceptance failed to run (see TestResults/sdk.log)" >&2; tail -n 20 "$results/sdk.log" >&2
  fi
fi

# The same harness once more with Anthropic as the provider of its agents' models (Codebuff:Upstream:Kind=anthropic,
# acceptance/fake-anthropic.mjs): the Messages API translation must carry a real SDK run, tools and sub-agents included.
if [ -x acceptance/run-sdk-acceptance.sh ]; then
  SDK_PROVIDER=anthropic acceptance/run-sdk-acceptance.sh >"$results/sdk-anthropic.log" 2>&1
  sdk_rc=$?
  grep -E '^(PASS|FAIL) ' "$results/sdk-anthropic.log" | sed 's/^/[anthropic] /' >&2
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$results/sdk-anthropic.log" | tail -n1)
  if [ -n "$line" ]; then
    passed=$((passed + $(cut -d' ' -f1 <<<"$line"))); failed=$((failed + $(cut -d' ' -f3 <<<"$line")))
  fi
  if [ "$sdk_rc" -ne 0 ] && { [ -z "$line" ] || [ "$(cut -d' ' -f3 <<<"$line")" = 0 ]; }; then
    failed=$((failed + 1)); echo "SDK acceptance with Anthropic failed to run (see TestResults/sdk-anthropic.log)" >&2; tail -n 20 "$results/sdk-anthropic.log" >&2
  fi
fi

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
