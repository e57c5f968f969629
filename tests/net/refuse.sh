#!/usr/bin/env bash
# Who gets past the handshake: members only. A non-member, a suspended member and a
# node of another network are refused before any ledger data moves.
source "$(dirname "$0")/lib.sh"
EVIL=${EVILPEER_BIN:?}
members recycler processor
k outsider join "$T/registry/genesis.bin" >/dev/null 2>&1      # joined, never admitted
k other init --network someone-else >/dev/null 2>&1           # another network
start_node registry
start_node recycler registry
k recycler issue --lot A --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C >/dev/null
reg_port=${NODE_PORT[registry]}

rc=0; "$EVIL" "$T/recycler" 127.0.0.1 "$reg_port" handshake || rc=$?
[ $rc = 0 ] && ok "refuse: an admitted member is accepted" || notok "refuse: an admitted member is accepted (exit $rc)"
rc=0; "$EVIL" "$T/outsider" 127.0.0.1 "$reg_port" handshake 2>/dev/null || rc=$?
[ $rc = 3 ] && ok "refuse: a non-member is refused at the handshake" || notok "refuse: a non-member is refused at the handshake (exit $rc)"
check "refuse: the refusal is logged with its reason" await_log "refused at the handshake: not an admitted member" "$T/registry.log"
rc=0; "$EVIL" "$T/other" 127.0.0.1 "$reg_port" handshake 2>/dev/null || rc=$?
[ $rc != 0 ] && ok "refuse: a node of another network is refused" || notok "refuse: a node of another network is refused"
check "refuse: ... and logged" await_log "another network" "$T/registry.log"

# A real outsider node gets nothing: after a while it still holds only its genesis.
start_node outsider registry
sleep 1
check "refuse: an outsider's node receives no ledger data" test "$(records outsider)" = 1

# Suspension: the registry suspends the processor; its node is then refused.
k registry suspend --member processor --reason "audit" >/dev/null
check "refuse: the suspension reaches the recycler" bash -c "for i in \$(seq 1 100); do '$K' -C '$T/recycler' members | grep -q SUSPENDED && exit 0; sleep 0.1; done; exit 1"
rc=0; "$EVIL" "$T/processor" 127.0.0.1 "${NODE_PORT[recycler]}" handshake 2>/dev/null || rc=$?
[ $rc = 3 ] && ok "refuse: a suspended member is refused" || notok "refuse: a suspended member is refused (exit $rc)"
check "refuse: ... and logged" await_log "a suspended member" "$T/recycler.log"
check "refuse: the nodes keep serving members" await_converged 10 registry recycler
finish
