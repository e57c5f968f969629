#!/usr/bin/env bash
# Evidence found by an import beside a running node reaches its peers: the manufacturer
# already holds one branch of a fork (from its peers) when it is handed the other as a
# file; the import keeps the pair as evidence, and the node sends it on.
source "$(dirname "$0")/lib.sh"
FORKER=${FORKER_BIN:?}
members recycler processor manufacturer
start_node registry
start_node processor registry
start_node manufacturer processor
k recycler issue --lot L1 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate C1 >/dev/null
k recycler export-records --feed recycler > "$T/feed.rec" 2>/dev/null
"$FORKER" "$T/recycler" "$T/feed.rec" "$T/a.rec" "$T/b.rec" >/dev/null
k processor import-records "$T/feed.rec" >/dev/null
k processor import-records "$T/a.rec" >/dev/null
a=$(k processor log --feed recycler --json | json 'd[-1]["id"]')
check "evidenceimport: one branch reaches the manufacturer through its peer" await_record manufacturer "$a" 20
rc=0; k manufacturer import-records "$T/b.rec" >/dev/null 2>&1 || rc=$?
check "evidenceimport: the other branch, imported there, exits 1" test "$rc" = 1
held() { k "$1" evidence --json | python3 -c "import json,sys; sys.exit(0 if len(json.load(sys.stdin)['evidence']) == 1 else 1)"; }
await_held() { local i; for i in $(seq 1 100); do held "$1" && return 0; sleep 0.1; done; return 1; }
check "evidenceimport: the processor receives the evidence" await_held processor
check "evidenceimport: so does the registry, two hops away" await_held registry
check "evidenceimport: every node has the same state" same_digests registry processor manufacturer
finish
