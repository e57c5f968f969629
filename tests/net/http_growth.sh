#!/usr/bin/env bash
# The HTTP server's readers and the node's map growth (decision 50): a node started with
# a map far too small fills it while HTTP clients keep reading; LMDB must not resize the
# map under a reader, so growth waits for the server's read transactions to end (the
# reader gate). The map grows, every read answers (200) or asks to retry (503), no record
# acknowledged is lost, and nothing crashes.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null || { notok "http growth: curl is not installed (tools/deps.sh installs it)"; finish; }
members recycler
printf 'map_size_mb = 1\n' > "$T/small.conf"
NODE_CONFIG[recycler]="$T/small.conf"
NODE_ARGS[recycler]="--standalone --http 127.0.0.1:0"
start_node recycler
U=$(k recycler status --json | json 'd["http"]')
# readers: the whole ledger as events, and the lots with their figures, again and again
( while :; do
    for p in "/events?perPage=1000" /kiroku/v1/lots /kiroku/v1/checkpoints; do
      curl -s -o /dev/null -w '%{http_code}\n' "$U$p" >> "$T/codes"
    done
  done ) &
readers=$!
issued=0
for i in $(seq 1 4000); do
  k recycler issue --lot "G$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS \
    --certificate "GRS-G$i-$(printf '%0100d' "$i")" --facility "$(printf 'plant %0100d' "$i")" >/dev/null 2>>"$T/issue.err" && issued=$((issued + 1))
  # until the map has grown twice while the readers read (then a little more)
  [ $((i % 25)) = 0 ] && [ "$(k recycler status --json | json 'd["map"]["grown_since_start"]')" -ge 2 ] && break
done
kill "$readers" 2>/dev/null; wait "$readers" 2>/dev/null
grown=$(k recycler status --json | json 'd["map"]["grown_since_start"]')
check "http growth: the map grew under the HTTP readers ($grown times, $issued records)" test "$grown" -ge 1
check "http growth: every record acknowledged is held" test "$(k recycler log --feed recycler --json | json 'len(d)')" = "$issued"
check "http growth: every read answered 200 or 503 (retry), $(wc -l < "$T/codes") of them" \
  bash -c "[ -s '$T/codes' ] && ! grep -qv '^\\(200\\|503\\)$' '$T/codes'"
check "http growth: the node still serves (200) and still runs" test "$(curl -s -o /dev/null -w '%{http_code}' "$U/kiroku/v1/lots")" = 200
check "http growth: no node logged an error (nor a sanitizer a fault)" bash -c "! grep -h ' ERROR \\|Sanitizer' '$T'/*.log"
finish
