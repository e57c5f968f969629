#!/usr/bin/env bash
# Runs integration scenarios with every kiroku and kiroku-node process under valgrind
# (memcheck): any invalid read or write, use of uninitialised memory, or definite leak
# fails the run. `make valgrind`; the scenarios are listed below (the slower net tests
# wait longer under valgrind's ~20x slowdown, so not every one is run).
set -uo pipefail
cd "$(dirname "$0")/../.."
: "${KIROKU_BIN:?}" "${KIROKU_NODE_BIN:?}"
command -v valgrind >/dev/null || { echo "not ok - valgrind: not installed (apt-get install valgrind)"; echo "0 passed, 1 failed"; exit 1; }
W=$(mktemp -d "${TMPDIR:-/tmp}/kiroku-vg.XXXXXX")
trap 'rm -rf "$W"' EXIT
mkdir -p "$W/logs"
for b in kiroku:"$KIROKU_BIN" kiroku-node:"$KIROKU_NODE_BIN"; do
  cat > "$W/${b%%:*}" <<WRAP
#!/bin/sh
exec valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \\
  --log-file="$W/logs/${b%%:*}.%p.log" "${b#*:}" "\$@"
WRAP
  chmod +x "$W/${b%%:*}"
done
out=$(mktemp)
for t in tests/cli/worked_example.sh tests/cli/rejected.sh tests/net/converge.sh tests/net/hostile.sh; do
  KIROKU_BIN="$W/kiroku" KIROKU_NODE_BIN="$W/kiroku-node" bash "$t" 2>&1 | sed "s/^ok - /ok - valgrind: /; s/^not ok - /not ok - valgrind: /" | tee -a "$out"
done
bad=$(find "$W/logs" -type f -size +0 | wc -l)
runs=$(find "$W/logs" -type f | wc -l)
if [ "$bad" = 0 ]; then echo "ok - valgrind: $runs processes, no memcheck error and no definite leak" | tee -a "$out"
else
  echo "not ok - valgrind: $bad of $runs processes reported errors" | tee -a "$out"
  find "$W/logs" -type f -size +0 | head -3 | xargs -r head -40
fi
passed=$(grep -c '^ok - ' "$out"); failed=$(grep -c '^not ok - ' "$out")
rm -f "$out"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
