#!/usr/bin/env bash
# A store written by an earlier version (derived-state layout 1: status and lots keyed by
# record id; the log kept by author || seq with every Merkle node) is refused by read
# commands, with the way out named, and brought to this version by `kiroku upgrade` or
# by the node at start — to exactly the state, log and proofs a current version has.
source "$(dirname "$0")/lib.sh"
OLD=${OLDSTORE_BIN:?}
members recycler processor manufacturer   # manufacturer: a new replica, at the end
for i in $(seq 1 20); do   # more than a Merkle block (16 leaves) in one feed
  k recycler issue --lot "U$i" --material PET --mass 1t --post-consumer 600kg --origin JP --scheme S --certificate "C$i" >/dev/null
done
k recycler transfer --lot U1 --mass 400kg --to processor >/dev/null
k recycler export-records > "$T/recycler.rec" 2>/dev/null
k processor import-records "$T/recycler.rec" >/dev/null
k processor receive --all >/dev/null
want=$(digests processor)
lots_before=$(k processor lots --all)
log_before=$(k processor log --json)
k processor export-records > "$T/before.rec" 2>/dev/null
cp -a "$T/processor" "$T/proc2"
"$OLD" "$T/processor" && "$OLD" "$T/proc2" || notok "upgrade: the earlier layout could not be made"

refused "upgrade: a read command refuses the earlier layout and changes nothing" processor lots --all
cp "$T/.out" "$T/refused.out"
check "upgrade: ... and names the way out" grep -q "run kiroku upgrade" "$T/refused.out"
[ "$(k processor upgrade --json 2>/dev/null | json 'd["upgraded"]')" = True ] && ok "upgrade: kiroku upgrade rebuilds it" \
  || notok "upgrade: kiroku upgrade rebuilds it"
[ "$(digests processor)" = "$want" ] && ok "upgrade: the rebuilt state is what a current version computes" \
  || notok "upgrade: the rebuilt state is what a current version computes"
[ "$(k processor lots --all)" = "$lots_before" ] && ok "upgrade: the lots read as before" \
  || notok "upgrade: the lots read as before"
[ "$(k processor log --json)" = "$log_before" ] && ok "upgrade: the log reads as before, in its arrival order" \
  || notok "upgrade: the log reads as before, in its arrival order"
k processor export-records > "$T/after.rec" 2>/dev/null
check "upgrade: it exports the same records" cmp -s "$T/before.rec" "$T/after.rec"
check "upgrade: a second run has nothing to do" bash -c "'$K' -C '$T/processor' upgrade | grep -q 'nothing to do'"
rc=0; k nowhere upgrade >/dev/null 2>&1 || rc=$?
[ $rc = 2 ] && [ ! -e "$T/nowhere" ] && ok "upgrade: a directory without a ledger is an error, and nothing is created" \
  || notok "upgrade: a directory without a ledger is an error, and nothing is created (exit $rc)"

start_node proc2
check "upgrade: the node upgrades at start, and says so" await_log "rebuilding its derived state from the log" "$T/proc2.log"
[ "$(digests proc2)" = "$want" ] && ok "upgrade: ... to the same state" || notok "upgrade: ... to the same state"
# what it serves passes a replica's checks: every record against its feed's tree
start_node manufacturer proc2
check "upgrade: a new replica syncs everything from the upgraded node" await_converged 20 manufacturer proc2
[ "$(digests manufacturer)" = "$want" ] && ok "upgrade: ... and computes the same state" || notok "upgrade: ... and computes the same state"
finish
