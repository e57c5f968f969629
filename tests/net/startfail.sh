#!/usr/bin/env bash
# A node whose start fails (its directory already has a running node, its port is
# taken) exits with 3 and says why — with peers configured too, whose timers once were
# closed before they were initialised (uv_close's assertion, exit 134) — and the running
# node is not disturbed.
source "$(dirname "$0")/lib.sh"
members recycler
start_node registry
port=${NODE_PORT[registry]}

# nodestart NAME DIR ARGS...: runs kiroku-node, expecting it to give up; sets rc, out.
nodestart() {
  local name=$1 dir=$2; shift 2
  rc=0
  "$KN" -C "$dir" "$@" > "$T/$name.out" 2>&1 || rc=$?
}
nodestart same "$T/registry" --listen 127.0.0.1:0 --peer "127.0.0.1:$port"
[ "$rc" = 3 ] && ok "startfail: a second node in a running node's directory exits 3" \
  || notok "startfail: a second node in a running node's directory exits $rc (3 expected)"
grep -q "already running in" "$T/same.out" && ok "startfail: ... and says a node already runs there" \
  || { notok "startfail: ... and says a node already runs there"; sed 's/^/    /' "$T/same.out"; }

nodestart busy "$T/recycler" --listen "127.0.0.1:$port" --peer "127.0.0.1:$port"
[ "$rc" = 3 ] && ok "startfail: a node on a busy port exits 3" \
  || notok "startfail: a node on a busy port exits $rc (3 expected)"
grep -q "cannot listen on 127.0.0.1:$port: address already in use" "$T/busy.out" \
  && ok "startfail: ... and names the address in use" \
  || { notok "startfail: ... and names the address in use"; sed 's/^/    /' "$T/busy.out"; }
[ -S "$T/recycler/control.sock" ] && notok "startfail: ... and leaves a control socket behind" \
  || ok "startfail: ... and leaves no control socket behind"

check "startfail: the running node still answers" k registry status
start_node recycler registry
check "startfail: the member then starts on a free port and syncs" await_converged 20 registry recycler
# Addresses: a port out of range is named as such (exit 2); a name is resolved; an
# unreachable peer is logged once with the reason and shown by status.
nodestart range "$T/recycler" --listen 127.0.0.1:70001
[ "$rc" = 2 ] && grep -q "port out of range" "$T/range.out" && ok "startfail: --listen with a port out of range: exit 2, says so" \
  || { notok "startfail: --listen with a port out of range (exit $rc)"; sed 's/^/    /' "$T/range.out"; }
nodestart peerrange "$T/recycler" --listen 127.0.0.1:0 --peer 127.0.0.1:0
[ "$rc" = 2 ] && grep -q "port out of range (1-65535)" "$T/peerrange.out" && ok "startfail: --peer to port 0: exit 2, port out of range" \
  || { notok "startfail: --peer to port 0 (exit $rc)"; sed 's/^/    /' "$T/peerrange.out"; }
stop_node recycler
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
"$KN" -C "$T/recycler" --listen localhost:0 --peer "127.0.0.1:$dead" > "$T/named.log" 2>&1 &
named=$!
check "startfail: --listen localhost:0 resolves the name" await_log "listening on localhost:" "$T/named.log"
check "startfail: an unreachable peer is logged with the reason" await_log "peer 127.0.0.1:$dead: cannot connect: connection refused" "$T/named.log"
check "startfail: ... and status shows it" bash -c "for i in \$(seq 1 50); do '$K' -C '$T/recycler' status 2>/dev/null | grep -q 'cannot connect: connection refused' && exit 0; sleep 0.1; done; exit 1"
kill $named; wait $named 2>/dev/null
finish
