#!/usr/bin/env bash
# Runs every test: installs Deno (from npm), NFS-Ganesha, libnfs-utils and
# tshark (from Debian) when missing, then fmt/lint/type checks and the whole
# test suite, unit and integration (each integration test starts its own
# Ganesha on a free port on 127.0.0.1).
#
# Ends with one line `N passed, N failed` (after a line `N skipped` when some
# were ignored). Exit status 0 only when every check and test passed.
set -uo pipefail
cd "$(dirname "$0")/.."

./scripts/install.sh --system || { echo "0 passed, 1 failed"; exit 1; }
deno=.tools/bin/deno
export NO_COLOR=1

checks_failed=0
run_check() {
  local name=$1; shift
  if "$@" >"/tmp/nfs4-check-$name.log" 2>&1; then
    echo "check $name: ok"
  else
    echo "check $name: FAILED"; sed -n 1,60p "/tmp/nfs4-check-$name.log"
    checks_failed=$((checks_failed + 1))
  fi
}
run_check fmt "$deno" fmt --check
run_check lint "$deno" lint
run_check types "$deno" check mod.ts cli/ lib/ scripts/ tests/

log=$(mktemp /tmp/nfs4-test-XXXXXX.log)
"$deno" test -A --parallel "$@" tests/ 2>&1 | tee "$log"
status=${PIPESTATUS[0]}

# Deno's summary: "ok | 12 passed (3 steps) | 0 failed | 2 ignored (1s)".
summary=$(grep -E '^(ok|FAILED) \| [0-9]+ passed' "$log" | tail -n 1)
passed=$(sed -nE 's/.* ([0-9]+) passed.*/\1/p' <<<"$summary")
failed=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$summary")
ignored=$(sed -nE 's/.* ([0-9]+) ignored.*/\1/p' <<<"$summary")
passed=${passed:-0}
failed=${failed:-0}
if [ -z "$summary" ] && [ "$status" != 0 ]; then failed=$((failed + 1)); fi
failed=$((failed + checks_failed))
rm -f "$log"
# The last line is always exactly `N passed, N failed` (what CI reads);
# tests skipped (ignored: no Ganesha, say) are said on the line before.
if [ -n "${ignored:-}" ] && [ "$ignored" != 0 ]; then
  echo "$ignored skipped"
fi
echo "$passed passed, $failed failed"
[ "$status" = 0 ] && [ "$checks_failed" = 0 ]
