#!/usr/bin/env bash
# Clock skew: the recycler's node and CLI run 400 days in the past, the processor's
# 3 days in the future (libfaketime; the monotonic clock is left alone, as NTP would).
# Their records carry the skewed times, yet order and state are the same everywhere:
# the worked example gives its figures and every node the same digest.
source "$(dirname "$0")/lib.sh"
LIBFT=$(find /usr/lib -name libfaketime.so.1 2>/dev/null | head -1)
[ -n "$LIBFT" ] || { notok "clockskew: libfaketime is not installed (tools/deps.sh installs it)"; finish; }
# skewed OFFSET CMD...: runs CMD with the wall clock moved by OFFSET (faketime syntax).
# ASan (make check) must be told that a preloaded library comes before it.
skewed() {
  local off=$1; shift
  LD_PRELOAD=$LIBFT FAKETIME="$off" DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" "$@"
}
members recycler processor manufacturer
start_node registry
skewed -400d start_node recycler registry
skewed +3d start_node processor registry recycler
start_node manufacturer registry processor
skewed -400d k recycler issue --lot FLAKE-1 --material PET --mass 20t --post-consumer 20t --origin JP \
  --scheme GRS --certificate GRS-1 >/dev/null
skewed -400d k recycler transfer --lot FLAKE-1 --mass 20t --to processor >/dev/null
for i in $(seq 1 300); do skewed +3d k processor receive --all 2>/dev/null | grep -q "^received" && break; sleep 0.1; done
skewed +3d k processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE \
  --out SHEET-1:PET=47.5t >/dev/null
skewed +3d k processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer >/dev/null
for i in $(seq 1 300); do k manufacturer receive --all 2>/dev/null | grep -q "^received" && break; sleep 0.1; done
check "clockskew: the nodes converge" await_converged 30 registry recycler processor manufacturer
now=$(date +%s%3N)
age() { k registry log --feed "$1" --json | json "round(($now - max(r['time_ms'] for r in d)) / 86400000)"; }
a=$(age recycler); b=$(age processor)
[ "$a" = 400 ] && [ "$b" = -3 ] && ok "clockskew: the records carry the skewed clocks ($a days old, $b days old)" \
  || notok "clockskew: the records carry the skewed clocks (recycler $a days, processor $b days)"
check "clockskew: identical state digests" same_digests registry recycler processor manufacturer
post=$(k manufacturer verify SHEET-1 --json | json 'd["recycled"]["post_consumer_mg"], d["origins"][1]["country"]')
check "clockskew: the worked example's 19 t of post-consumer content, from JP" test "$post" = "19000000000 JP"
check "clockskew: audit passes on the skewed nodes" bash -c "'$K' -C '$T/recycler' audit && '$K' -C '$T/processor' audit"
finish
