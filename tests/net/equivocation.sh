#!/usr/bin/env bash
# Equivocation: an author signs two records for one seq and hands each to a different
# node. Every node ends with the same evidence, the feed frozen at the fork, the same
# state; verify flags the lots downstream; the rest of the network keeps working.
source "$(dirname "$0")/lib.sh"
FORKER=${FORKER_BIN:?}
members recycler processor manufacturer
start_node registry
start_node processor registry
start_node manufacturer processor registry
start_node recycler registry processor
k recycler issue --lot L1 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate C1 >/dev/null
k recycler transfer --lot L1 --mass 10t --to processor >/dev/null
for i in $(seq 1 100); do k processor receive --all 2>/dev/null | grep -q received && break; sleep 0.1; done
check "equivocation: the processor holds the recycler's lot" k processor verify L1
await_converged 20 registry recycler processor manufacturer || true

# The recycler goes rogue: offline, it signs two different records for its next seq.
stop_node recycler
k recycler export-records --feed recycler > "$T/feed.rec" 2>/dev/null
"$FORKER" "$T/recycler" "$T/feed.rec" "$T/a.rec" "$T/b.rec" >/dev/null
fork_seq=$(( $(k recycler log --feed recycler --json | grep -c '"id"') + 1 ))
k processor import-records "$T/a.rec" >/dev/null
k manufacturer import-records "$T/b.rec" >/dev/null

# evidence_on NAME: node NAME holds exactly one evidence object and the recycler's feed
# is frozen at the fork seq.
evidence_on() {
  k "$1" evidence --json | python3 -c "
import json, sys
d = json.load(sys.stdin)['evidence']
assert len(d) == 1, d
assert d[0]['kind'] == 'records' and d[0]['seq'] == $fork_seq and d[0]['frozen_at'] == $fork_seq, d
print(d[0]['id'])"
}
await_evidence() {
  local i n
  for i in $(seq 1 150); do
    for n in registry processor manufacturer; do
      evidence_on "$n" >/dev/null 2>&1 || { sleep 0.1; continue 2; }
    done
    return 0
  done
  return 1
}
check "equivocation: every node ends with the evidence and the feed frozen" await_evidence
check "equivocation: the same evidence object everywhere" bash -c \
  "[ \$(for n in registry processor manufacturer; do '$K' -C '$T/'\$n evidence --json | grep '\"id\"'; done | sort -u | wc -l) = 1 ]"
# The branches differ in what each node stored, not in what it applied.
check "equivocation: identical state on every node, whichever branch it held" same_digests registry processor manufacturer
check "equivocation: audit replays the frozen feed frozen and passes" k manufacturer audit
check "equivocation: the forked records are held, not applied" bash -c \
  "! '$K' -C '$T/processor' lots --all | grep -q FORK- && ! '$K' -C '$T/manufacturer' lots --all | grep -q FORK-"
check "equivocation: checkpoints show the feed frozen" bash -c "'$K' -C '$T/registry' checkpoints | grep recycler | grep -q FROZEN"

# verify flags the lot that came from the equivocating recycler, with the mass.
check "equivocation: verify flags the lot downstream (exit 1)" bash -c "out=\$('$K' -C '$T/processor' verify L1); rc=\$?; echo \"\$out\" | grep -q FLAGGED && [ \$rc = 1 ]"
check "equivocation: verify --json names the mass involved" bash -c "'$K' -C '$T/processor' verify L1 --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d[\"flagged\"] is True and d[\"equivocation\"][\"mass_mg\"] == 10 * 10**9, d
assert d[\"certificates\"][0][\"issuer_frozen_at\"] == $fork_seq, d'"

# The evidence is portable: checked offline, and any flipped byte breaks it.
id=$(evidence_on registry)
# On a terminal the binary evidence is refused, as prove's bundle is (script gives a tty).
if command -v script >/dev/null; then
  rc=0; script -qec "'$K' -C '$T/registry' evidence $id" /dev/null > "$T/tty.out" 2>&1 || rc=$?
  [ "$rc" = 2 ] && grep -q "redirect it to a file" "$T/tty.out" && ok "equivocation: evidence ID on a terminal: refused, redirect asked for" \
    || { notok "equivocation: evidence ID on a terminal (exit $rc)"; sed 's/^/    /' "$T/tty.out"; }
fi
k registry evidence "$id" > "$T/ev.bin"
check "equivocation: verify-evidence accepts the exported evidence" "$K" verify-evidence "$T/ev.bin"
check "equivocation: verify-evidence --json names the author and seq" bash -c \
  "'$K' verify-evidence '$T/ev.bin' --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d[\"valid\"] and d[\"seq\"]==$fork_seq, d'"
flips_rejected() {
  python3 - "$K" "$T/ev.bin" "$T/ev-flip.bin" <<'PY'
import subprocess, sys
k, src, dst = sys.argv[1:]
orig = open(src, 'rb').read()
bad = 0
for i in range(0, len(orig), 5):
    b = bytearray(orig); b[i] ^= 0x01
    open(dst, 'wb').write(b)
    if subprocess.run([k, 'verify-evidence', dst], capture_output=True).returncode == 0:
        print('byte', i, 'flipped still verifies'); bad = 1
sys.exit(bad)
PY
}
check "equivocation: any flipped byte makes the evidence fail" flips_rejected

# The rest of the network keeps working.
k processor incident --kind note --about "$(k processor log --feed processor --json | json 'd[-1]["id"]')" --text "still here" >/dev/null
last=$(k processor log --feed processor --json | json 'd[-1]["id"]')
check "equivocation: the other feeds still replicate" await_record manufacturer "$last" 20
await_same() { local i; for i in $(seq 1 50); do same_digests "$@" && return 0; sleep 0.1; done; return 1; }
check "equivocation: and still agree" await_same registry processor manufacturer
# A node that starts later learns of the fork from its peers.
start_node recycler registry
check "equivocation: the forking author's own node receives the evidence" bash -c \
  "for i in \$(seq 1 200); do '$K' -C '$T/recycler' evidence --json | grep -q '\"seq\": $fork_seq' && exit 0; sleep 0.1; done; exit 1"
# The forking member itself: once it holds the proof, its writes are refused with the
# fork's seq and what to do, and nothing is written.
k recycler import-records "$T/a.rec" >/dev/null 2>&1 || true
k recycler import-records "$T/b.rec" >/dev/null 2>&1 || true
before=$(k recycler log --feed recycler --json | grep -c '"id"')
rc=0
k recycler issue --lot AFTER --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate C9 \
  > "$T/frozen.out" 2>&1 || rc=$?
after=$(k recycler log --feed recycler --json | grep -c '"id"')
[ "$rc" = 2 ] && [ "$before" = "$after" ] && ok "equivocation: the frozen member's write is refused (exit 2), nothing written" \
  || { notok "equivocation: the frozen member's write is refused (exit $rc, records $before -> $after)"; sed 's/^/    /' "$T/frozen.out"; }
check "equivocation: ... saying the feed is frozen at the fork's seq" grep -q "frozen at seq $fork_seq" "$T/frozen.out"
named=$(sed -n 's/.*frozen at seq [0-9]* by evidence \([0-9a-f]\{16\}\).*/\1/p' "$T/frozen.out")
check "equivocation: ... naming the evidence that froze it, as kiroku evidence lists it" bash -c \
  "[ -n '$named' ] && '$K' -C '$T/recycler' evidence --json | grep -q '\"id\": \"$named'"
check "equivocation: ... and its status says so" bash -c "'$K' -C '$T/recycler' status | grep -q 'YOUR FEED IS FROZEN at seq $fork_seq'"
check "equivocation: status --json gives every node the feed's freeze" bash -c \
  "'$K' -C '$T/processor' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); assert any(f.get(\"frozen_at\") == $fork_seq for f in d[\"feeds\"]), d; assert \"own_feed_frozen_at\" not in d, d'"
finish
