#!/usr/bin/env bash
# The worked example of DOMAIN.md, across five participants, each with its own data
# directory: a registry, a recycler, a processor, a manufacturer and a certifier.
# Records move between them as files (export-records / import-records), the way an
# offline site or an auditor receives them.
set -euo pipefail
K=${KIROKU_BIN:-bin/kiroku}
ROOT=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kiroku-demo.XXXXXX")}
NODES=(registry recycler processor manufacturer certifier)
mkdir -p "$ROOT"
trap '[ -n "${DEMO_KEEP:-}" ] || rm -rf "$ROOT"' EXIT

# The value of "KEY": "..." in kiroku's --json output.
jget() { sed -n "s/^ *\"$1\": \"\([^\"]*\)\".*/\1/p" | head -n 1; }
say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
run()  { local who=$1; shift; printf '%s$ kiroku %s\n' "$who" "$*"; "$K" -C "$ROOT/$who" "$@"; }
# A step the rules must refuse: it has to fail with exit 2 and leave the store alone.
refused() {
  local who=$1; shift
  printf '%s$ kiroku %s\n' "$who" "$*"
  local before after rc=0
  before=$(sha256sum "$ROOT/$who/data.mdb")
  "$K" -C "$ROOT/$who" "$@" || rc=$?
  after=$(sha256sum "$ROOT/$who/data.mdb")
  if [ "$rc" != 2 ] || [ "$before" != "$after" ]; then echo "demo: expected a refusal that changes nothing (exit $rc)" >&2; exit 1; fi
  echo "   -> refused, as it must be; nothing was written"
}
# Every node hands every other node what it has (the replication issue replaces this).
replicate() {
  local from to
  for from in "${NODES[@]}"; do
    "$K" -C "$ROOT/$from" export-records > "$ROOT/$from.rec" 2>/dev/null
  done
  for to in "${NODES[@]}"; do
    for from in "${NODES[@]}"; do
      [ "$from" = "$to" ] || "$K" -C "$ROOT/$to" import-records "$ROOT/$from.rec" >/dev/null
    done
  done
  echo "   (records exchanged between all five nodes as files)"
}

say "1. The registry creates the network; four members join it"
run registry init --network recycled-pet-demo
for n in recycler processor manufacturer certifier; do
  printf '%s$ kiroku join genesis.bin\n' "$n"
  declare "KEY_$n=$("$K" -C "$ROOT/$n" join "$ROOT/registry/genesis.bin" --json | jget key)"
done
run registry admit --key "$KEY_recycler" --name recycler --role recycler --country JP
run registry admit --key "$KEY_processor" --name processor --role processor --country DE
run registry admit --key "$KEY_manufacturer" --name manufacturer --role manufacturer --country FR
run registry admit --key "$KEY_certifier" --name certifier --role certifier --country CH
replicate
run registry members

say "2. The recycler certifies 20 t of post-consumer rPET flake collected in Japan"
echo "weighbridge ticket 2026-11-29 #4711: 20.000 t gross" > "$ROOT/weighing-slip.txt"
CERT=$(run recycler issue --json --lot FLAKE-1 --material PET --mass 20t --post-consumer 20t --origin JP \
  --scheme GRS --certificate GRS-2026-0042 --evidence "$ROOT/weighing-slip.txt" | tee /dev/stderr | jget record)
refused processor issue --lot FAKE-1 --material PET --mass 5t --post-consumer 5t --origin JP --scheme GRS --certificate NONE
replicate
run certifier attest --record "$CERT" --statement "site audit 2026-11: collection and sorting verified"

say "3. The recycler ships the flake to the processor (and cannot ship it twice)"
run recycler transfer --lot FLAKE-1 --mass 20t --to processor
refused recycler transfer --lot FLAKE-1 --mass 20t --to manufacturer
replicate
run processor receive --all

say "4. The processor blends it with 30 t virgin PET from Germany at 95 % yield"
echo "A sheet line that ignores the yield would overdraw mass-balance credit by 1 t:"
refused processor transform --model mass-balance --in FLAKE-1=20t --unledgered PET=30t@DE \
  --out SHEET-A:PET=20t,post=20t --out SHEET-B:PET=27.5t
run processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE \
  --out SHEET-1:PET=47.5t --process "extrusion, line 2"
run processor verify SHEET-1

say "5. The manufacturer receives the sheet and thermoforms trays"
run processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer
replicate
run manufacturer receive --all
run manufacturer transform --model segregated --in SHEET-1=47.5t --out TRAYS-1:PET=46t --process thermoforming

say "6. The manufacturer claims the trays' recycled content, once"
run manufacturer claim --lot TRAYS-1 --recycled 40% --scope "food trays, retail, EU"
refused manufacturer claim --lot TRAYS-1 --recycled 40% --scope "the same trays, claimed again"
replicate
run manufacturer verify TRAYS-1
run manufacturer trace TRAYS-1

say "7. The certifier finds the weighing slips were forged and revokes the certificate"
run certifier revoke --record "$CERT" --reason "weighing slips forged; certificate withdrawn"
replicate
rc=0
run manufacturer verify TRAYS-1 || rc=$?
[ "$rc" = 1 ] || { echo "demo: verify must fail after the revocation" >&2; exit 1; }
echo "   -> verify exits 1: the claim no longer holds"

say "8. Every node audits the ledger from genesis: one state, one digest"
run certifier audit
for n in "${NODES[@]}"; do
  d=$("$K" -C "$ROOT/$n" audit --json | sed -n 's/.*"digest": "\([0-9a-f]*\)".*/\1/p')
  printf '   %-13s %s\n' "$n" "$d"
done | tee "$ROOT/digests"
[ "$(awk '{print $2}' "$ROOT/digests" | sort -u | wc -l)" = 1 ] || { echo "demo: digests differ" >&2; exit 1; }
echo
echo "demo complete: every node holds the same records and computes the same state."
