#!/usr/bin/env bash
# Network faults: a corrupted byte (caught by the AEAD, connection closed), a half-open
# connection (found by the idle timeout), a peer that never finishes the handshake
# (closed at the deadline), and a flood of connections that never authenticate (the
# node keeps serving honest peers). Replication completes each time, with identical
# state, and nothing a fault touched is stored.
source "$(dirname "$0")/lib.sh"
PROXY_PY="$(dirname "$0")/../tools/slowproxy.py"
members recycler processor manufacturer mallory
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill $p 2>/dev/null; done; stop_nodes; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
cat > "$T/fast.conf" <<CONF
# short deadlines so the test need not wait the production ones
handshake_timeout_ms = 800
idle_timeout_ms = 1500
max_handshakes = 16
max_handshakes_per_ip = 4
CONF
# Only the registry keeps the short handshake deadline (the stalled handshake and the
# flood are aimed at it). The half-open connection must be found by the idle timeout, so
# the members' deadline is generous: on a loaded machine 800 ms can pass before a
# handshake through the proxy finishes, and the deadline would close it first.
NODE_CONFIG[registry]=$T/fast.conf
sed 's/^handshake_timeout_ms = .*/handshake_timeout_ms = 10000/' "$T/fast.conf" > "$T/member.conf"
for n in recycler processor manufacturer; do NODE_CONFIG[$n]=$T/member.conf; done
start_node registry
start_node recycler registry
for i in $(seq 1 30); do
  k recycler issue --lot "P$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done

# proxy UPSTREAM ARGS...: starts slowproxy, sets PROXY_PORT
proxy() {
  local up=$1; shift
  python3 "$PROXY_PY" "$up" --slice 4096 "$@" > "$T/proxy.port" &
  PIDS+=($!)
  local i; for i in $(seq 1 50); do [ -s "$T/proxy.port" ] && break; sleep 0.1; done
  PROXY_PORT=$(cat "$T/proxy.port"); rm -f "$T/proxy.port"
}

# 1. One bit flipped in the middle of the recycler's encrypted stream.
proxy "${NODE_PORT[recycler]}" --corrupt-at 2500
NODE_PORT[proxy1]=$PROXY_PORT
start_node processor proxy1
check "netfaults: corrupted byte: replication completes on a new connection" await_converged 30 registry recycler processor
check "netfaults: corrupted byte: the AEAD caught it and the connection was closed" \
  await_log "a frame failed authentication" "$T/processor.log"
check "netfaults: corrupted byte: identical state" same_digests registry recycler processor
check "netfaults: corrupted byte: the processor's audit passes" k processor audit

# 2. Half-open: after 1500 bytes the proxy forwards nothing, sockets left open.
proxy "${NODE_PORT[recycler]}" --blackhole-after 1500
NODE_PORT[proxy2]=$PROXY_PORT
start_node manufacturer proxy2
check "netfaults: half-open: replication completes" await_converged 30 registry recycler manufacturer
check "netfaults: half-open: found by the idle timeout" await_log "nothing heard (idle timeout)" "$T/manufacturer.log"

# 3. A HELLO, then silence: closed at the handshake deadline (800 ms; 3 s allowed).
rc=0; "$EVIL" "$T/mallory" 127.0.0.1 "${NODE_PORT[registry]}" stall 3000 || rc=$?
[ $rc = 0 ] && ok "netfaults: a stalled handshake is closed at the deadline" \
  || notok "netfaults: a stalled handshake is closed at the deadline (exit $rc)"
check "netfaults: ... and logged" await_log "handshake timed out" "$T/registry.log"

# 4. A flood of silent connections from 127.0.0.2 while an honest member appends and a
#    member (from 127.0.0.1) reconnects and catches up.
"$EVIL" "$T/mallory" 127.0.0.1 "${NODE_PORT[registry]}" flood 8 300 127.0.0.2 > "$T/flood.out" &
FLOOD=$!
PIDS+=($FLOOD)
sleep 1
k recycler issue --lot FLOOD-1 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate F1 >/dev/null
stop_node processor
start_node processor registry
check "netfaults: flood: an honest member reconnects and catches up during the flood" await_converged 6 registry recycler processor
kill -0 $FLOOD 2>/dev/null && ok "netfaults: flood: the flood was still running" || notok "netfaults: flood: the flood ended too early"
wait $FLOOD
evicted=$(k registry status --json | json 'd["connections"]["handshakes_evicted"]')
[ "${evicted:-0}" -gt 0 ] && ok "netfaults: flood: $evicted unfinished handshakes evicted ($(cat "$T/flood.out"))" \
  || notok "netfaults: flood: no handshake was evicted ($(cat "$T/flood.out"))"
check "netfaults: flood: the node still answers its CLI" k registry status
check "netfaults: identical digests at the end" same_digests registry recycler processor manufacturer
finish
