#!/usr/bin/env bash
# Convergence: nodes in a line and in a ring end with identical audit digests.
source "$(dirname "$0")/lib.sh"
members recycler processor manufacturer certifier
# line: registry - recycler - processor - manufacturer; the certifier closes a ring.
start_node registry
start_node recycler registry
start_node processor recycler
start_node manufacturer processor
for i in $(seq 1 12); do
  k recycler issue --lot "F$i" --material PET --mass "${i}t" --post-consumer "${i}t" --origin JP --scheme GRS --certificate "C$i" >/dev/null
  k recycler transfer --lot "F$i" --mass "${i}t" --to processor >/dev/null
done
await_converged 20 registry recycler processor manufacturer || true
check "net: the processor receives what the recycler sent through the line" bash -c "'$K' -C '$T/processor' receive --all | grep -c received | grep -qx 12"
k processor transform --model controlled-blending --in F1=1t --in F2=2t --unledgered PET=3t@DE --out S1:PET=5t >/dev/null
k processor transfer --lot S1 --mass 5t --to manufacturer >/dev/null
for i in $(seq 1 60); do k manufacturer receive --all 2>/dev/null | grep -q received && break; sleep 0.1; done
check "net: line: all four nodes converge" await_converged 20 registry recycler processor manufacturer
check "net: line: identical audit digests" same_digests registry recycler processor manufacturer
check "net: the manufacturer's lot verifies across the line" k manufacturer verify S1
start_node certifier manufacturer registry
check "net: ring: a node joining late catches up" await_converged 20 registry recycler processor manufacturer certifier
k certifier attest --record "$(k recycler log --json | json '[r["id"] for r in d if r["kind"]=="issue"][0]')" --statement ok >/dev/null
check "net: ring: records of the new node reach everyone" await_converged 20 registry recycler processor manufacturer certifier
check "net: ring: identical audit digests" same_digests registry recycler processor manufacturer certifier
check "net: status shows peers and no lag" bash -c "'$K' -C '$T/manufacturer' status --json | python3 -c 'import json,sys; d=json.load(sys.stdin); ps=[p for p in d[\"peers\"] if p[\"state\"]==\"connected\"]; assert len(ps)>=2 and all(not p[\"lag\"] for p in ps), d'"
# Records written beside a running node (an import) are announced like its own.
stop_node certifier
k certifier incident --kind test --about "$(k recycler log --json | json 'd[-1]["id"]')" --text "written offline" >/dev/null
k certifier export-records --feed certifier > "$T/cert.rec" 2>/dev/null
k manufacturer import-records "$T/cert.rec" >/dev/null
check "net: records imported beside a running node reach its peers" await_converged 20 registry recycler processor manufacturer
finish
