#!/usr/bin/env bash
# Replication through a hostile network: a proxy re-slices the stream into 1-byte
# writes, delays them, and cuts the first connection mid-frame. It still completes.
source "$(dirname "$0")/lib.sh"
members recycler processor
start_node registry
start_node recycler registry
for i in $(seq 1 20); do
  k recycler issue --lot "P$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done
python3 "$(dirname "$0")/../tools/slowproxy.py" "${NODE_PORT[recycler]}" --slice 1 --delay-ms 0.2 --drop-after 3000 > "$T/proxy.port" &
PROXY=$!
trap 'kill $PROXY 2>/dev/null; stop_nodes; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
for i in $(seq 1 50); do [ -s "$T/proxy.port" ] && break; sleep 0.1; done
NODE_PORT[proxy]=$(cat "$T/proxy.port")
start_node processor proxy
check "proxy: replication completes through 1-byte slices, delays and a cut" await_converged 60 registry recycler processor
check "proxy: the cut was noticed and survived" await_log "closed" "$T/processor.log"
check "proxy: identical digests" same_digests registry recycler processor
finish
