#!/usr/bin/env bash
# A peer that asks for everything and never reads: the node's memory stays bounded and
# it keeps serving others.
source "$(dirname "$0")/lib.sh"
EVIL=${EVILPEER_BIN:?}
G=${KKGEN_BIN:?}
mkdir -p "$T/gen" "$T/a" "$T/slow" "$T/b"
"$G" "$T/gen" issues 20000 >/dev/null
cp "$T/gen/proc-a.key" "$T/a/identity.key"
cp "$T/gen/proc-b.key" "$T/slow/identity.key"
cp "$T/gen/recycler.key" "$T/b/identity.key"
chmod 600 "$T"/*/identity.key
for d in a slow b; do k "$d" join "$T/gen/genesis.bin" >/dev/null 2>&1; done
k a import-records "$T/gen/records.rec" >/dev/null 2>&1
start_node a
rss() { awk '/VmRSS/ {print $2}' "/proc/${NODE_PID[a]}/status"; }
base=$(rss)
"$EVIL" "$T/slow" 127.0.0.1 "${NODE_PORT[a]}" noread 3000 2>/dev/null &
slow=$!
peak=$base
for i in $(seq 1 40); do r=$(rss); [ "$r" -gt "$peak" ] && peak=$r; sleep 0.1; done
wait $slow 2>/dev/null
echo "    resident memory: ${base} KiB at start, ${peak} KiB at most while the peer did not read"
# 20,000 records are ~5 MB; a node that queued every answer would hold ~3000 x 1 MiB.
check "slowreader: memory stays bounded (< 64 MiB above the start)" test $((peak - base)) -lt 65536
check "slowreader: the node says why it dropped the peer" grep -Eq "not reading|write queue limit" "$T/a.log"
start_node b a
check "slowreader: an honest peer still syncs everything" await_converged 60 a b
finish
