#!/usr/bin/env bash
# Records imported beside a busy node are announced. The node once took the store's
# newest arrival as announced whenever one of its own jobs finished, so an import that
# landed between two ticks while records from peers kept arriving was never announced
# (the fork of tests/net/equivocation.sh then went unnoticed). Here the recycler keeps
# the processor busy while records the certifier wrote offline are imported beside the
# processor's node, one at a time; each must reach the registry through the processor.
source "$(dirname "$0")/lib.sh"
members recycler processor certifier
start_node registry
start_node processor registry
start_node recycler processor
# The certifier has no node: it writes offline and hands its records over as files.
about=$(k registry log --json | json 'd[-1]["id"]')
( for i in $(seq 1 400); do
    k recycler issue --lot "B$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS \
      --certificate "C$i" >/dev/null 2>&1 || exit 0
  done ) &
busy=$!
missed=0
for i in 1 2 3 4 5; do
  k certifier incident --kind test --about "$about" --text "offline $i" >/dev/null
  k certifier export-records --feed certifier > "$T/cert$i.rec" 2>/dev/null
  k processor import-records "$T/cert$i.rec" >/dev/null
  id=$(k certifier log --feed certifier --json | json 'd[-1]["id"]')
  await_record registry "$id" 10 2>/dev/null || missed=$((missed + 1))
done
kill "$busy" 2>/dev/null; wait "$busy" 2>/dev/null
issued=$(k processor log --feed recycler --json | json 'len(d)')
if [ "$missed" = 0 ] && [ "$issued" -gt 5 ]; then ok "imports: five imports beside a busy node all reach its peer ($issued records of traffic meanwhile)"
else notok "imports: $missed of five imports beside a busy node never reached its peer ($issued records of traffic meanwhile)"; fi
check "imports: every node converges" await_converged 20 registry processor recycler
finish
