#!/usr/bin/env bash
# The same records imported in different orders give the same audit digest.
source "$(dirname "$0")/lib.sh"
network
flake_to_processor
k processor transform --model controlled-blending --in FLAKE-1=15t --unledgered PET=30t@DE --out SHEET-1:PET=40t >/dev/null
k processor transform --model mass-balance --in FLAKE-1=5t --out MB-1:PET=2t,post=2t --out MB-2:PET=2.9t >/dev/null
k processor transfer --lot SHEET-1 --mass 30t --to manufacturer >/dev/null
k processor transfer --lot SHEET-1 --mass 10t --to manufacturer >/dev/null
replicate
k manufacturer receive --all >/dev/null
k manufacturer claim --lot "$(k manufacturer lots --json | json 'd[0]["ref"]')" --recycled 10% --scope a >/dev/null
k certifier attest --record "$FLAKE" --statement ok >/dev/null
replicate
want=$(k certifier audit --json | json 'd["digest"]')

# one file per participant, imported in opposite orders
for order in "registry recycler processor manufacturer certifier" "certifier manufacturer processor recycler registry"; do
  d="$T/x-${order%% *}"
  "$K" -C "$d" join "$T/registry/genesis.bin" >/dev/null 2>&1
  for n in $order; do k certifier export-records --feed "$n" > "$T/$n.only" 2>/dev/null; "$K" -C "$d" import-records "$T/$n.only" >/dev/null; done
  got=$("$K" -C "$d" audit --json | json 'd["digest"]')
  [ "$got" = "$want" ] && ok "determinism: imported in the order $order" || notok "determinism: imported in the order $order ($got != $want)"
done

# one file, its records shuffled
k certifier export-records > "$T/all.rec" 2>/dev/null
for seed in 1 2 3; do
  python3 - "$T/all.rec" "$T/shuf.rec" "$seed" <<'PY'
import random, struct, sys
b = open(sys.argv[1], 'rb').read()
recs, off = [], 17
while off < len(b):
    n = struct.unpack('>I', b[off:off+4])[0]
    recs.append(b[off:off+4+n]); off += 4 + n
random.Random(int(sys.argv[3])).shuffle(recs)
open(sys.argv[2], 'wb').write(b[:17] + b''.join(recs))
PY
  d="$T/shuf-$seed"
  "$K" -C "$d" join "$T/registry/genesis.bin" >/dev/null 2>&1
  "$K" -C "$d" import-records "$T/shuf.rec" >/dev/null
  got=$("$K" -C "$d" audit --json | json 'd["digest"]')
  [ "$got" = "$want" ] && ok "determinism: shuffled records (seed $seed)" || notok "determinism: shuffled records (seed $seed)"
done
# Two valid revocations of one certificate, by a certifier and by its author, in the
# issue's reproduction: the certifier revokes first in its own store, the recycler
# revokes too, and a third store imports the recycler's records before the certifier's.
# Both revocations count, so every order gives one state, and the certifier's audit holds.
k recycler issue --lot L2 --material PET --mass 5t --post-consumer 5t --origin JP --scheme GRS --certificate GRS-2 >/dev/null
l2=$(k recycler log --feed recycler --json | json 'd[-1]["id"]')
k recycler export-records --feed recycler > "$T/rec.only" 2>/dev/null
k certifier import-records "$T/rec.only" >/dev/null
k certifier revoke --record "$l2" --reason "audit found no collection" >/dev/null
k recycler revoke --record "$l2" --reason "withdrawn by the issuer" >/dev/null
k recycler export-records --feed recycler > "$T/rec.only" 2>/dev/null
k certifier export-records --feed certifier > "$T/cert.only" 2>/dev/null
k certifier import-records "$T/rec.only" >/dev/null
for n in processor manufacturer; do k certifier export-records --feed "$n" > "$T/$n.now" 2>/dev/null; done
# the third store gets the recycler's records first, the fourth the certifier's
for d in third fourth; do
  "$K" -C "$T/$d" join "$T/registry/genesis.bin" >/dev/null 2>&1
  k "$d" import-records "$T/registry.only" >/dev/null
done
for f in rec.only cert.only processor.now manufacturer.now; do k third import-records "$T/$f" >/dev/null; done
for f in cert.only rec.only processor.now manufacturer.now; do k fourth import-records "$T/$f" >/dev/null; done
check "determinism: two parties revoke one certificate: the certifier's audit passes" k certifier audit
check "determinism: ... both revocations are valid" bash -c \
  "[ \$('$K' -C '$T/certifier' log --json | python3 -c 'import json,sys; print(sum(1 for r in json.load(sys.stdin) if r[\"kind\"]==\"revoke\" and r[\"verdict\"]==\"valid\"))') = 2 ]"
# the state each store computed as the records arrived (not the audit's replay of it)
stored() { k "$1" audit --json | json 'd["stored_digest"]'; }
check "determinism: ... and every order of arrival gives one state" \
  bash -c "[ '$(stored certifier)' = '$(stored third)' ] && [ '$(stored certifier)' = '$(stored fourth)' ]"

# and the digest covers real state: a node missing the last records differs
d="$T/partial"
"$K" -C "$d" join "$T/registry/genesis.bin" >/dev/null 2>&1
"$K" -C "$d" import-records "$T/registry.only" >/dev/null
"$K" -C "$d" import-records "$T/recycler.only" >/dev/null
got=$("$K" -C "$d" audit --json | json 'd["digest"]')
[ "$got" != "$want" ] && ok "determinism: a node with fewer records has another digest" || notok "determinism: a node with fewer records has another digest"
finish
