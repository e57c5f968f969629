#!/usr/bin/env bash
# Recovery from peers: a data directory that holds only the identity key and the genesis
# gets the member's own feed back from its peers, and everything else; the member then
# writes on from where its feed stood, with no fork. The key is the backup that matters.
source "$(dirname "$0")/lib.sh"
members recycler processor
start_node registry
start_node recycler registry
start_node processor recycler
for i in 1 2 3 4 5; do
  k recycler issue --lot "R$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done
k recycler transfer --lot R1 --mass 1t --to processor >/dev/null
check "recover: three nodes converge" await_converged 20 registry recycler processor
own=$(k recycler log --feed recycler --json | grep -c '"id"')
digest=$(digests processor)
stop_node recycler

# The disk is lost; the identity key was kept.
mv "$T/recycler" "$T/recycler.lost"
mkdir -m 700 "$T/recycler"
cp "$T/recycler.lost/identity.key" "$T/recycler/"
chmod 600 "$T/recycler/identity.key"
check "recover: join again with the kept key" k recycler join "$T/registry/genesis.bin"
NODE_LISTEN[recycler]=${NODE_PORT[recycler]} # the same address: the processor dials it
start_node recycler registry
check "recover: the node gets every feed back from its peers" await_converged 30 registry recycler processor
check "recover: ... its own feed too ($own records)" test "$(k recycler log --feed recycler --json | grep -c '"id"')" = "$own"
check "recover: ... and computes the state the others hold" test "$(digests recycler)" = "$digest"
check "recover: its lots are its own again" bash -c "'$K' -C '$T/recycler' lots | grep -q R5"
check "recover: it writes on at the next seq" k recycler issue --lot R6 --material PET --mass 1t --post-consumer 1t \
  --origin JP --scheme S --certificate C6
check "recover: ... which reaches the others, with no fork" await_converged 20 registry recycler processor
check "recover: no evidence anywhere" bash -c "for n in registry recycler processor; do '$K' -C '$T/'\$n evidence | grep -q 'no evidence' || exit 1; done"
check "recover: audit passes" k recycler audit
finish
