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
finish
