#!/usr/bin/env bash
# Runs the tests: the unit tests (build/unit), the fuzz corpora, and the scenario scripts
# in tests/cli/ and tests/net/. Each prints "ok - NAME" or "not ok - NAME"; the last line
# is the tally.
#
#   tests/run.sh              everything (what `make test` runs)
#   tests/run.sh NAME...      only these: a script's name without .sh (netfaults,
#                             worked_example), "unit" or "fuzz"
#
# The binaries come from the environment `make test` gives (KIROKU_BIN, ...), else from
# the default build (bin/ and build/, after `make test`).
set -uo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build
: "${KIROKU_BIN:=$PWD/bin/kiroku}" "${KIROKU_NODE_BIN:=$PWD/bin/kiroku-node}" "${UNIT_BIN:=$B/unit}"
: "${KKGEN_BIN:=$B/kkgen}" "${EVILPEER_BIN:=$B/evilpeer}" "${FORKER_BIN:=$B/forker}" "${OLDSTORE_BIN:=$B/oldstore}"
: "${FUZZ_REPLAY_DIR:=$B}"
export KIROKU_BIN KIROKU_NODE_BIN UNIT_BIN KKGEN_BIN EVILPEER_BIN FORKER_BIN OLDSTORE_BIN FUZZ_REPLAY_DIR
# Under `make check`: what Graphviz's text layout libraries keep for the process's life
# is not our leak (tests/lsan.supp).
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
scripts=$(ls tests/cli/*.sh tests/net/*.sh | grep -v /lib.sh)
want_unit=1 want_fuzz=1
if [ $# -gt 0 ]; then
  want_unit=0 want_fuzz=0 picked=""
  for name in "$@"; do
    case $name in
      unit) want_unit=1 ;;
      fuzz) want_fuzz=1 ;;
      *) f=$(printf '%s\n' $scripts | grep "/$name\.sh$") \
           || { echo "tests/run.sh: no test named '$name' (tests/cli, tests/net: the script's name without .sh; unit; fuzz)" >&2; exit 2; }
         picked="$picked $f" ;;
    esac
  done
  scripts=$picked
fi
for b in "$KIROKU_BIN" "$UNIT_BIN"; do
  [ -x "$b" ] || { echo "tests/run.sh: $b is missing: run make test (or make all) first" >&2; exit 2; }
done
out=$(mktemp)
trap 'rm -f "$out"' EXIT
[ $want_unit = 1 ] && "$UNIT_BIN" 2>&1 | tee -a "$out"
# Fuzz corpora (and every crash kept as a regression case) through each target.
[ $want_fuzz = 1 ] && for corpus in tests/fuzz/corpus/*/; do
  t=$(basename "$corpus")
  r="${FUZZ_REPLAY_DIR:-build}/fuzz-replay-$t"
  if [ ! -x "$r" ]; then echo "not ok - fuzz corpus $t: no replay binary" | tee -a "$out"; continue; fi
  if res=$("$r" "$corpus" 2>&1); then echo "ok - fuzz corpus $t: $res" | tee -a "$out"
  else echo "not ok - fuzz corpus $t" | tee -a "$out"; echo "$res" | tail -20; fi
done
for t in $scripts; do
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
