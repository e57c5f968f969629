#!/usr/bin/env bash
# kill -9 a node during heavy ingest from a peer: after restart nothing it had committed
# is missing, audit passes, and it catches up.
source "$(dirname "$0")/lib.sh"
G=${KKGEN_BIN:?}
mkdir -p "$T/gen" "$T/a" "$T/b"
"$G" "$T/gen" issues 60000 >/dev/null
cp "$T/gen/proc-a.key" "$T/a/identity.key"
cp "$T/gen/proc-b.key" "$T/b/identity.key"
chmod 600 "$T/a/identity.key" "$T/b/identity.key"
k a join "$T/gen/genesis.bin" >/dev/null 2>&1
k b join "$T/gen/genesis.bin" >/dev/null 2>&1
k a import-records "$T/gen/records.rec" >/dev/null 2>&1
total=$(records a)
start_node a
killed=0
for round in 1 2 3; do
  start_node b a
  # wait until b has committed a fair part of what it is fetching, then kill it hard
  for i in $(seq 1 400); do
    have=$(k b status --json 2>/dev/null | json 'sum(f["seq"] for f in d.get("feeds", []))' 2>/dev/null || echo 0)
    [ "${have:-0}" -ge $((round * 10000)) ] && break
    sleep 0.02
  done
  stop_node b KILL
  after=$(records b)
  if [ "$after" -ge "${have:-0}" ]; then ok "kill9: round $round: $have committed before the kill, $after after"
  else notok "kill9: round $round: $have committed before the kill but only $after after"; fi
  [ "$after" -lt "$total" ] && killed=1
done
[ $killed = 1 ] && ok "kill9: the node was killed mid-sync" || notok "kill9: the sync finished before the kill"
check "kill9: audit passes after the crashes" k b audit
start_node b a
check "kill9: the restarted node catches up" await_converged 60 a b
check "kill9: identical digests" same_digests a b
finish
