#!/usr/bin/env bash
# Partition and heal: a stopped node catches up after restart; a clean shutdown keeps
# everything it acknowledged.
source "$(dirname "$0")/lib.sh"
members recycler processor
start_node registry
start_node recycler registry
start_node processor recycler
k recycler issue --lot A --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C >/dev/null
check "partition: three nodes converge" await_converged 20 registry recycler processor
before=$(records processor)
stop_node processor
for i in $(seq 1 25); do
  k recycler issue --lot "P$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done
k recycler transfer --lot P1 --mass 1t --to processor >/dev/null
check "partition: the stopped node kept its records" test "$(records processor)" = "$before"
check "partition: appends go on without it" test "$(records recycler)" -gt "$before"
start_node processor recycler
check "partition: the restarted node catches up" await_converged 20 registry recycler processor
check "partition: and computes the same state" same_digests registry recycler processor
check "partition: it can act on what arrived while it was away" k processor receive --all
check "partition: its new record reaches the others" await_converged 20 registry recycler processor
finish
