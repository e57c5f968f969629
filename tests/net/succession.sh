#!/usr/bin/env bash
# Succession: the registry's way back for a member whose feed is frozen by evidence of
# equivocation. The registry admits a new key in the member's place (kiroku succeed);
# every node hands the old member's unspent lots to the successor at the same point,
# the successor spends them, a transfer the old member sent and that is refused later
# comes back to the successor, lots the old member handled before the fork are no
# longer flagged, and every node ends in the same state.
source "$(dirname "$0")/lib.sh"
FORKER=${FORKER_BIN:?}
members recycler processor manufacturer
start_node registry
start_node processor registry
start_node manufacturer processor registry
start_node recycler registry processor
k recycler issue --lot L1 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate C1 >/dev/null
k recycler issue --lot L2 --material PET --mass 6t --post-consumer 6t --origin VN --scheme GRS --certificate C2 >/dev/null
k recycler transfer --lot L1 --mass 10t --to processor >/dev/null
xfer=$(k recycler transfer --lot L2 --mass 2t --to manufacturer --json | json 'd["record"]')
for i in $(seq 1 100); do k processor receive --all 2>/dev/null | grep -q received && break; sleep 0.1; done
await_converged 20 registry recycler processor manufacturer || true

# The recycler's identity is copied: offline, it signs two records for its next seq.
stop_node recycler
k recycler export-records --feed recycler > "$T/feed.rec" 2>/dev/null
"$FORKER" "$T/recycler" "$T/feed.rec" "$T/a.rec" "$T/b.rec" >/dev/null
fork_seq=$(( $(k recycler log --feed recycler --json | grep -c '"id"') + 1 ))
k processor import-records "$T/a.rec" >/dev/null 2>&1 || true
k manufacturer import-records "$T/b.rec" >/dev/null 2>&1 || true
frozen_everywhere() {
  local n
  for n in registry processor manufacturer; do
    k "$n" evidence --json | grep -q "\"frozen_at\": $fork_seq" || return 1
  done
}
await() { local i; for i in $(seq 1 ${2:-150}); do "$1" && return 0; sleep 0.1; done; return 1; }
check "succession: the fork is known and the feed frozen on every node" await frozen_everywhere
check "succession: before it, verify flags the lot from the frozen recycler (exit 1)" \
  bash -c "'$K' -C '$T/processor' verify L1 >/dev/null; [ \$? = 1 ]"

# The member's new key, in a fresh directory: the registry admits it in the old one's place.
new=$(k recycler-new join "$T/registry/genesis.bin" --json | json 'd["key"]')
check "succession: the registry succeeds the member (its point defaults to the fork)" \
  bash -c "'$K' -C '$T/registry' succeed --member recycler --key $new | grep -q 'from seq $fork_seq'"
rc=0; k registry succeed --member "$(k registry members --json | json '[m["key"] for m in d if m["succeeded_by"]][0]')" \
  --key "$(k manufacturer members --json | json '[m["key"] for m in d if m["name"] == "manufacturer"][0]')" > "$T/twice.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "successor already" "$T/twice.out" && ok "succession: a member is succeeded once (exit 2)" \
  || { notok "succession: a member is succeeded once (exit $rc)"; sed 's/^/    /' "$T/twice.out"; }
start_node recycler-new registry processor
inherited_on() {
  k "$1" members --json | python3 -c "
import json, sys
m = {x['key']: x for x in json.load(sys.stdin)}
h = m['$new']
assert h['inherited'] is True and h['name'] == 'recycler', h
old = m[h['succeeds']]
assert old['succeeded_by'] == '$new' and old['suspended_from'] == $fork_seq, old"
}
all_inherited() { local n; for n in registry processor manufacturer recycler-new; do inherited_on "$n" || return 1; done; }
check "succession: every node has the successor inherit, at the fork" await all_inherited 200
check "succession: the successor holds what was left of L2 (4 t)" bash -c \
  "'$K' -C '$T/recycler-new' lots --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
l = [x for x in d if x[\"code\"] == \"L2\"]
assert len(l) == 1 and l[0][\"available_mg\"] == 4 * 10**9, d'"
check "succession: the name now names the successor" bash -c \
  "'$K' -C '$T/processor' members | grep -q 'succeeds'"

# The successor spends its inheritance; the manufacturer refuses the old transfer, which
# comes back to the successor.
check "succession: the successor ships the inherited lot" k recycler-new transfer --lot L2 --mass 4t --to processor
for i in $(seq 1 100); do k processor receive --all 2>/dev/null | grep -q received && break; sleep 0.1; done
got_l2() { k processor lots --json | grep -q '"L2"'; }
check "succession: the processor receives it" await got_l2
for i in $(seq 1 100); do k manufacturer refuse --transfer "$xfer" --reason "not ordered" >/dev/null 2>&1 && break; sleep 0.1; done
refund_home() {
  k recycler-new lots --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert sum(x['available_mg'] for x in d if x['code'] == 'L2') == 2 * 10**9, d"
}
check "succession: a refused transfer of the old member's comes back to the successor" await refund_home 200
check "succession: lots from before the fork are no longer flagged (exit 0)" k processor verify L1
check "succession: the inherited lot verifies at its buyer (exit 0)" k processor verify L2
check "succession: trace shows the succession in the provenance" bash -c \
  "'$K' -C '$T/processor' trace L2 --json | grep -q '\"via\": \"succession\"'"
await_same() { local i; for i in $(seq 1 100); do same_digests "$@" && return 0; sleep 0.1; done; return 1; }
check "succession: every node ends in the same state" await_same registry processor manufacturer recycler-new
check "succession: audit passes" k manufacturer audit
# The old directory, once it holds the registry's records, is told where to go on.
k registry export-records --feed registry > "$T/reg.rec" 2>/dev/null
k recycler import-records "$T/reg.rec" >/dev/null 2>&1 || true
rc=0; k recycler issue --lot OLD --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate C9 \
  > "$T/old.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "in this member's place" "$T/old.out" && ok "succession: the old key's write is refused, naming its successor (exit 2)" \
  || { notok "succession: the old key's write is refused, naming its successor (exit $rc)"; sed 's/^/    /' "$T/old.out"; }
finish
