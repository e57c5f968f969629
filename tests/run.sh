#!/usr/bin/env bash
# Runs every test: the unit tests (build/unit) and the CLI scenario scripts in
# tests/cli/. Each prints "ok - NAME" or "not ok - NAME"; the last line is the tally.
set -uo pipefail
cd "$(dirname "$0")/.."
: "${KIROKU_BIN:?}" "${UNIT_BIN:?}"
export KIROKU_BIN UNIT_BIN
out=$(mktemp)
trap 'rm -f "$out"' EXIT
"$UNIT_BIN" 2>&1 | tee -a "$out"
# Fuzz corpora (and every crash kept as a regression case) through each target.
for corpus in tests/fuzz/corpus/*/; do
  t=$(basename "$corpus")
  r="${FUZZ_REPLAY_DIR:-build}/fuzz-replay-$t"
  if [ ! -x "$r" ]; then echo "not ok - fuzz corpus $t: no replay binary" | tee -a "$out"; continue; fi
  if res=$("$r" "$corpus" 2>&1); then echo "ok - fuzz corpus $t: $res" | tee -a "$out"
  else echo "not ok - fuzz corpus $t" | tee -a "$out"; echo "$res" | tail -20; fi
done
for t in $(ls tests/cli/*.sh tests/net/*.sh | grep -v /lib.sh); do
  bash "$t" 2>&1 | tee -a "$out"
  rc=${PIPESTATUS[0]}
  if [ "$rc" != 0 ] && ! grep -q "^not ok - $(basename "$t" .sh)" "$out"; then
    echo "not ok - $(basename "$t" .sh): script exited $rc" | tee -a "$out"
  fi
done
passed=$(grep -c '^ok - ' "$out")
failed=$(grep -c '^not ok - ' "$out")
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
