#!/usr/bin/env bash
# A records file that forks a feed this store holds: the pair is kept as evidence and
# the feed frozen, whatever else the file holds — also when the rest of the file is
# refused. (Once, import-records refused the whole file and dropped the evidence, so a
# node that held one branch and was handed the other never learnt of the fork.)
source "$(dirname "$0")/lib.sh"
FORKER=${FORKER_BIN:?}
network
k recycler issue --lot L1 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate C1 >/dev/null
replicate
k recycler export-records --feed recycler > "$T/feed.rec" 2>/dev/null
"$FORKER" "$T/recycler" "$T/feed.rec" "$T/a.rec" "$T/b.rec" >/dev/null
k processor import-records "$T/a.rec" >/dev/null

rc=0; k processor import-records "$T/b.rec" >"$T/out" 2>"$T/err" || rc=$?
check "forkimport: the other branch exits 1 (the file contradicts the ledger)" test "$rc" = 1
check "forkimport: ... and says the evidence was stored and the feed frozen" grep -q "evidence .* stored, the feed is frozen" "$T/err"
frozen() {
  k "$1" evidence --json | python3 -c "
import json, sys
d = json.load(sys.stdin)['evidence']
assert len(d) == 1 and d[0]['seq'] == 2 and d[0]['frozen_at'] == 2, d"
}
check "forkimport: the store holds the evidence, the feed frozen at the fork" frozen processor
check "forkimport: the branch it held is no longer applied" bash -c "! '$K' -C '$T/processor' lots --all | grep -q FORK-A"
before=$(sha256sum "$T/processor/data.mdb")
rc=0; k processor import-records "$T/b.rec" >/dev/null 2>"$T/err" || rc=$?
check "forkimport: importing it again exits 1, says the evidence was already held" \
  bash -c "[ $rc = 1 ] && grep -q 'already held' '$T/err'"
check "forkimport: ... and changes nothing" test "$before" = "$(sha256sum "$T/processor/data.mdb")"

# A file whose other records are refused (one of another network): nothing of it is
# imported, yet the fork it reveals is evidence kept.
k manufacturer import-records "$T/a.rec" >/dev/null
mkdir -p "$T/other"
k other init --network elsewhere >/dev/null 2>&1
k other export-records > "$T/other.rec" 2>/dev/null
python3 - "$T/b.rec" "$T/other.rec" "$T/mixed.rec" <<'PY'
import sys
hdr = b"KIROKU-RECORDS-1\n"
parts = [open(p, 'rb').read()[len(hdr):] for p in sys.argv[1:3]]
open(sys.argv[3], 'wb').write(hdr + b"".join(parts))
PY
count() { k manufacturer log --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
n_before=$(count)
rc=0; k manufacturer import-records "$T/mixed.rec" >/dev/null 2>"$T/err" || rc=$?
check "forkimport: a file with a refused record fails as before (exit 2)" test "$rc" = 2
check "forkimport: ... nothing of it imported" test "$n_before" = "$(count)"
check "forkimport: ... but the evidence is kept" frozen manufacturer
check "forkimport: processor and manufacturer agree" bash -c \
  "[ \"\$('$K' -C '$T/processor' audit --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"digest\"])')\" = \
     \"\$('$K' -C '$T/manufacturer' audit --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"digest\"])')\" ]"
finish
