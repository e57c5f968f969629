#!/usr/bin/env bash
# Checkpoint sync: a fresh node catching up takes records on the word of cosigned
# checkpoints (a consistency proof per answer), checks their signatures in the
# background, and ends in the same state; audit re-checks every signature.
source "$(dirname "$0")/lib.sh"
KKGEN=${KKGEN_BIN:?}
N=3000
mkdir -p "$T/gen"
"$KKGEN" "$T/gen" issues "$N" >/dev/null
# Every author's node holds the records: each signs its own feed's checkpoint at start
# and the others cosign it.
for n in registry recycler proc-a; do
  mkdir -p "$T/$n"; cp "$T/gen/$n.key" "$T/$n/identity.key"; chmod 600 "$T/$n/identity.key"
  k "$n" join "$T/gen/genesis.bin" >/dev/null 2>&1
done
k recycler import-records "$T/gen/records.rec" >/dev/null 2>&1
cp "$T/recycler/data.mdb" "$T/registry/data.mdb"
cp "$T/recycler/data.mdb" "$T/proc-a/data.mdb"
start_node registry
start_node recycler registry
start_node proc-a recycler registry
witnessed() {
  k proc-a checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
fs = [f for f in d['feeds'] if f['name'] in ('registry', 'recycler')]
assert len(fs) == 2 and all(f['checkpoint'] and f['checkpoint']['size'] == f['records'] and f['checkpoint']['cosigned_by'] for f in fs), d"
}
await_witnessed() { local i; for i in $(seq 1 150); do witnessed >/dev/null 2>&1 && return 0; sleep 0.1; done; witnessed; }
check "ckptsync: the feeds are checkpointed and cosigned" await_witnessed

# A fresh node pulls everything from proc-a.
mkdir -p "$T/proc-b"; cp "$T/gen/proc-b.key" "$T/proc-b/identity.key"; chmod 600 "$T/proc-b/identity.key"
k proc-b join "$T/gen/genesis.bin" >/dev/null 2>&1
start_node proc-b proc-a
status_of() { k proc-b status --json | python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
caught_up() {
  local i
  for i in $(seq 1 300); do
    [ "$(status_of 'sum(f["seq"] for f in d["feeds"]) >= '"$((N + 4))"' and d["unverified_records"] == 0')" = True ] && return 0
    sleep 0.1
  done
  k proc-b status --json
  return 1
}
check "ckptsync: the fresh node catches up and the background checks drain" caught_up
check "ckptsync: most records were taken on a checkpoint's word" \
  test "$(status_of 'd["checkpoint_synced_since_start"] > '"$((N / 2))")" = True
check "ckptsync: same state as its peer" same_digests proc-a proc-b
check "ckptsync: audit checks every signature and passes" k proc-b audit
# Once its background checks are done, the new node witnesses the feeds too.
cosigned_by_new() {
  k proc-a checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
f = [f for f in d['feeds'] if f['name'] == 'recycler'][0]
assert 'proc-b' in [w['name'] for w in f['checkpoint']['cosigned_by']], f"
}
await_cosigned() { local i; for i in $(seq 1 100); do cosigned_by_new >/dev/null 2>&1 && return 0; sleep 0.1; done; cosigned_by_new; }
check "ckptsync: after its checks, the new node cosigns as a witness" await_cosigned
finish
