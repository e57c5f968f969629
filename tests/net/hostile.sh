#!/usr/bin/env bash
# Hostile bytes: garbage, an oversized length prefix, a frame too large for a handshake,
# a truncated frame, a valid frame carrying a forged record. Each connection is closed, nothing invalid is stored, and
# the node keeps serving honest peers.
source "$(dirname "$0")/lib.sh"
EVIL=${EVILPEER_BIN:?}
members recycler processor mallory
start_node registry
start_node recycler registry
port=${NODE_PORT[registry]}
for mode in garbage oversize truncated; do
  rc=0; "$EVIL" "$T/mallory" 127.0.0.1 "$port" "$mode" 2>/dev/null || rc=$?
  [ $rc = 0 ] && ok "hostile: $mode: the node closes the connection" || notok "hostile: $mode: the node closes the connection (exit $rc)"
done
rc=0; "$EVIL" "$T/mallory" 127.0.0.1 "$port" bigframe 2>/dev/null || rc=$?
[ $rc = 0 ] && ok "hostile: a 1 MiB frame before the handshake is refused at once" \
  || notok "hostile: a 1 MiB frame before the handshake is refused at once (exit $rc)"
rc=0; "$EVIL" "$T/mallory" 127.0.0.1 "$port" forged 2>/dev/null || rc=$?
[ $rc = 0 ] && ok "hostile: a forged record in a valid frame: connection closed" || notok "hostile: a forged record in a valid frame: connection closed (exit $rc)"
check "hostile: the reason is logged" await_log "sent an invalid record" "$T/registry.log"
check "hostile: nothing of mallory's feed is stored" bash -c "! '$K' -C '$T/registry' log --feed mallory --json | grep -q '\"id\"'"
check "hostile: the node still serves honest peers" bash -c "
  '$K' -C '$T/recycler' issue --lot A --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C >/dev/null"
start_node processor registry
check "hostile: ... and a new one catches up" await_converged 20 registry recycler processor
check "hostile: the node's audit passes" k registry audit
finish
