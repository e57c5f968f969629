#!/usr/bin/env bash
# The worked example of DOMAIN.md on a network of five kiroku-node processes on
# loopback — a registry, a recycler, a processor, a manufacturer and a certifier — each
# command run against its own participant's node, records replicating between them.
set -euo pipefail
K=${KIROKU_BIN:-bin/kiroku}
KN=${KIROKU_NODE_BIN:-bin/kiroku-node}
ROOT=${DEMO_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/kiroku-demo.XXXXXX")}
NODES=(registry recycler processor manufacturer certifier)
mkdir -p "$ROOT"
source "$(dirname "$0")/nodes.sh"
cleanup() { stop_nodes; [ -n "${DEMO_KEEP:-}" ] || rm -rf "$ROOT"; }
trap cleanup EXIT

# The value of "KEY": "..." in kiroku's --json output.
jget() { sed -n "s/^ *\"$1\": \"\([^\"]*\)\".*/\1/p" | head -n 1; }
say()  { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() { local who=$1; shift; printf '%s$ kiroku' "$who"; printf ' %q' "$@"; printf '\n'; }
run()  { local who=$1; shift; show "$who" "$@"; "$K" -C "$ROOT/$who" "$@"; }
# run_id WHO ARGS...: runs a command with --json, prints it, and sets ID to its record.
run_id() {
  local who=$1; shift
  show "$who" "$@"
  local out
  out=$("$K" -C "$ROOT/$who" "$@" --json)
  ID=$(printf '%s\n' "$out" | jget record)
  local lots
  lots=$(printf '%s\n' "$out" | sed -n 's/^ *"\([0-9a-f]\{12\}:[0-9]*\)",\{0,1\}$/\1/p' | tr '\n' ' ')
  printf '   record %.12s%s\n' "$ID" "${lots:+  lot $lots}"
}
# spread ID: waits until every node holds the record, and says how long that took.
spread() {
  local id=$1 t0 n
  t0=$(date +%s%N)
  for n in "${NODES[@]}"; do await_record "$n" "$id" 20; done
  echo "   -> on all ${#NODES[@]} nodes within $(( ($(date +%s%N) - t0) / 1000000 )) ms"
}
# A step the rules must refuse: exit 2, and the node stores nothing.
refused() {
  local who=$1; shift
  show "$who" "$@"
  local before after rc=0
  before=$(records "$who")
  "$K" -C "$ROOT/$who" "$@" || rc=$?
  after=$(records "$who")
  if [ "$rc" != 2 ] || [ "$before" != "$after" ]; then echo "demo: expected a refusal that changes nothing (exit $rc)" >&2; exit 1; fi
  echo "   -> refused, as it must be; nothing was written"
}

say "1. The registry creates the network; four members join it"
run registry init --network recycled-pet-demo
for n in recycler processor manufacturer certifier; do
  show "$n" join genesis.bin
  declare "KEY_$n=$("$K" -C "$ROOT/$n" join "$ROOT/registry/genesis.bin" --json | jget key)"
done

say "2. Five nodes start on loopback, in a ring: registry - recycler - processor - manufacturer - certifier - registry"
NODE_ARGS[manufacturer]="--http 127.0.0.1:0"   # the manufacturer's node also serves HTTP (step 14)
start_node registry
start_node recycler registry
start_node processor recycler
start_node manufacturer processor
start_node certifier manufacturer registry
for n in "${NODES[@]}"; do printf '   %-13s kiroku-node listening on 127.0.0.1:%s\n' "$n" "${NODE_PORT[$n]}"; done
echo "Until the registry admits them, nodes refuse each other at the handshake."
run_id registry admit --key "$KEY_recycler" --name recycler --role recycler --country JP
run_id registry admit --key "$KEY_processor" --name processor --role processor --country DE
run_id registry admit --key "$KEY_manufacturer" --name manufacturer --role manufacturer --country FR
run_id registry admit --key "$KEY_certifier" --name certifier --role certifier --country CH
spread "$ID"
run certifier members

say "3. The recycler certifies 20 t of post-consumer rPET flake collected in Japan"
echo "weighbridge ticket 2026-11-29 #4711: 20.000 t gross" > "$ROOT/weighing-slip.txt"
run_id recycler issue --lot FLAKE-1 --material PET/flake --mass 20t --post-consumer 20t --origin JP \
  --scheme GRS --certificate GRS-2026-0042 --evidence "$ROOT/weighing-slip.txt"
CERT=$ID
spread "$CERT"
refused processor issue --lot FAKE-1 --material PET --mass 5t --post-consumer 5t --origin JP --scheme GRS --certificate NONE
run_id certifier attest --record "$CERT" --statement "site audit 2026-11: collection and sorting verified"; spread "$ID"

say "4. The recycler ships the flake to the processor (and cannot ship it twice)"
run_id recycler transfer --lot FLAKE-1 --mass 20t --to processor; spread "$ID"
refused recycler transfer --lot FLAKE-1 --mass 20t --to manufacturer
run_id processor receive --all; spread "$(printf '%s' "$ID")"

say "5. The processor blends it with 30 t virgin PET from Germany at 95 % yield"
echo "Flake becomes sheet: the material group (PET) stays, the form changes."
echo "A sheet line that ignores the yield would overdraw mass-balance credit by 1 t:"
refused processor transform --model mass-balance --in FLAKE-1=20t --unledgered PET/pellet=30t@DE \
  --out SHEET-A:PET/sheet=20t,post=20t --out SHEET-B:PET/sheet=27.5t
run_id processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET/pellet=30t@DE \
  --out SHEET-1:PET/sheet=47.5t --process "extrusion, line 2"; spread "$ID"

say "6. The manufacturer receives the sheet and thermoforms trays"
run_id processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer; spread "$ID"
run_id manufacturer receive --all; spread "$ID"
run_id manufacturer transform --model segregated --in SHEET-1=47.5t --out TRAYS-1:PET/trays=46t --process thermoforming; spread "$ID"

say "7. The manufacturer claims the trays' recycled content, once"
run_id manufacturer claim --lot TRAYS-1 --recycled 40% --scope "food trays, retail, EU"; spread "$ID"
refused manufacturer claim --lot TRAYS-1 --recycled 40% --scope "the same trays, claimed again"
run manufacturer verify TRAYS-1
run manufacturer trace TRAYS-1

say "8. The certifier finds the weighing slips were forged and revokes the certificate"
run_id certifier revoke --record "$CERT" --reason "weighing slips forged; certificate withdrawn"; spread "$ID"
rc=0
run manufacturer verify TRAYS-1 || rc=$?
[ "$rc" = 1 ] || { echo "demo: verify must fail after the revocation" >&2; exit 1; }
echo "   -> verify exits $rc: the recycled content is tainted, the claim no longer holds; a buyer gating on it stops here"
run manufacturer lots
echo "A new claim on what the revocation removed is refused before anything is signed:"
refused manufacturer claim --lot TRAYS-1 --recycled 1% --scope "what is left"

say "9. The certifier audits the ledger from genesis; every node computes the same state"
run manufacturer status
run certifier audit
for n in "${NODES[@]}"; do
  d=$("$K" -C "$ROOT/$n" audit --json | jget digest)
  printf '   %-13s %s\n' "$n" "$d"
done | tee "$ROOT/digests"
[ "$(awk '{print $2}' "$ROOT/digests" | sort -u | wc -l)" = 1 ] || { echo "demo: digests differ" >&2; exit 1; }

say "10. Witnesses: every feed's head is signed by its author and cosigned by the other four nodes"
# Each node cosigns a checkpoint once it holds those records; wait for all 5 x 4.
for i in $(seq 1 100); do
  [ "$("$K" -C "$ROOT/manufacturer" checkpoints --json | grep -c '"time"')" = 20 ] && break
  sleep 0.1
done
run manufacturer checkpoints

say "11. A proof bundle: the manufacturer exports the lot's verification; a buyer checks it with no node"
printf 'manufacturer$ kiroku prove TRAYS-1 > trays.bundle\n'
"$K" -C "$ROOT/manufacturer" prove TRAYS-1 > "$ROOT/trays.bundle"
printf 'buyer$ kiroku verify-bundle trays.bundle --genesis genesis.bin --witnesses 3\n'
rc=0
"$K" verify-bundle "$ROOT/trays.bundle" --genesis "$ROOT/registry/genesis.bin" --witnesses 3 || rc=$?
[ "$rc" = 1 ] || { echo "demo: the bundle must show the same failed claim as verify" >&2; exit 1; }
echo "   -> the same figures as verify, checked offline: the revocation travels with the proof"

say "12. EPCIS 2.0: the trays' provenance as GS1 events another system can read"
printf 'manufacturer$ kiroku export --epcis TRAYS-1 > trays.jsonld\n'
"$K" -C "$ROOT/manufacturer" export --epcis TRAYS-1 > "$ROOT/trays.jsonld"
python3 - "$ROOT/trays.jsonld" <<'PY'
import json, sys
for e in json.load(open(sys.argv[1]))["epcisBody"]["eventList"]:
    step = e.get("bizStep", "").rsplit("-", 1)[-1] if e.get("bizStep", "").startswith("urn:kiroku") else e.get("bizStep", "")
    qty = (e.get("quantityList") or e.get("outputQuantityList") or [{}])[0].get("quantity", "")
    mark = "  (declared in error: revoked)" if "errorDeclaration" in e else ""
    print(f"   {e['type']:<20} {step:<14} {str(qty) + ' kg' if qty != '' else '':>10}  {e['eventID'][:30]}…{mark}")
PY
printf 'buyer$ kiroku epcis-hash trays.jsonld   # every eventID is the event'"'"'s CBV 2.0 hash\n'
"$K" epcis-hash "$ROOT/trays.jsonld" > /dev/null || { echo "demo: the exported eventIDs must be the events' hashes" >&2; exit 1; }
echo "   -> every eventID checks; an ERP or EPCIS repository can take these events as they are"

say "13. EPCIS 2.0 in: the recycler's ERP reports a new bale lot as an EPCIS commissioning event"
cat > "$ROOT/erp-bales.jsonld" <<'DOC'
{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"kiroku": "urn:kiroku:epcis:"}],
 "type": "EPCISDocument", "schemaVersion": "2.0", "creationDate": "2026-12-01T08:00:00Z",
 "epcisBody": {"eventList": [
  {"type": "ObjectEvent", "eventTime": "2026-12-01T09:00:00+09:00", "eventTimeZoneOffset": "+09:00",
   "action": "ADD", "bizStep": "commissioning",
   "quantityList": [{"epcClass": "urn:epc:class:lgtin:4512345.012345.BALE7", "quantity": 12.5, "uom": "TNE"}],
   "ilmd": {"kiroku:material": "PET/bales", "kiroku:postConsumerMass": 12500, "cbvmda:countryOfOrigin": "JP",
            "kiroku:scheme": "GRS", "kiroku:certificate": "GRS-2026-0043"}},
  {"type": "ObjectEvent", "eventTime": "2026-12-01T09:05:00+09:00", "eventTimeZoneOffset": "+09:00",
   "action": "OBSERVE", "bizStep": "inspecting",
   "quantityList": [{"epcClass": "urn:epc:class:lgtin:4512345.012345.BALE7"}]}]}}
DOC
echo "The recycler's node signs nothing new: the import hands it the records, judged all together."
import_bales() {
  show recycler import --epcis erp-bales.jsonld "$@"
  "$K" -C "$ROOT/recycler" import --epcis "$ROOT/erp-bales.jsonld" "$@" | tee "$ROOT/import.out"
}
import_bales --dry-run
import_bales
BALES=$(sed -n 's/.*wrote issue, record \([0-9a-f]*\).*/\1/p' "$ROOT/import.out")
echo "Importing the same document again writes nothing (each record keeps its event's CBV 2.0 hash):"
import_bales
spread "$BALES"
echo "   -> the bale lot is a signed, certified Kiroku lot like any other, already on the other nodes"

say "14. On the web: the manufacturer's node speaks HTTP (the EPCIS 2.0 REST binding, Kiroku's API, pages)"
URL=$("$K" -C "$ROOT/manufacturer" status --json | jget http)
printf 'buyer$ curl -X OPTIONS %s/\n' "$URL"
curl -s -X OPTIONS -D - -o /dev/null "$URL/" | tr -d '\r' | grep -E '^GS1-(EPCIS|CBV)-Version|^Allow' | sed 's/^/   /'
printf 'buyer$ curl %s/events?eventType=TransformationEvent\n' "$URL"
curl -s "$URL/events?eventType=TransformationEvent" | python3 -c "
import json, sys
for e in json.load(sys.stdin)['epcisBody']['queryResults']['resultsBody']['eventList']:
    print('   ', e['type'], e['eventTime'], e['eventID'][:40] + '…')"
printf 'buyer$ curl %s/kiroku/v1/lots/TRAYS-1\n' "$URL"
curl -s "$URL/kiroku/v1/lots/TRAYS-1" | python3 -c "
import json, sys
d = json.load(sys.stdin)
print('    lot %s: %s verified recycled, ok: %s' % (d['code'], d['recycled']['share'], d['ok']))
for r in d['reasons']: print('    ' + r)"
printf 'manufacturer$ kiroku passport TRAYS-1 --html trays-passport.html\n'
"$K" -C "$ROOT/manufacturer" passport TRAYS-1 --html "$ROOT/trays-passport.html" || true
echo "   -> the explorer:  $URL/  (a lot: $URL/ui/lots/TRAYS-1)"
echo "   -> the passport:  $URL/kiroku/v1/lots/TRAYS-1/passport"
echo "                     $ROOT/trays-passport.html (one self-contained file: figures, graph, proof bundle)"
[ -n "${DEMO_KEEP:-}" ] || echo "   (the demo removes its folder when it ends: DEMO_KEEP=1 make demo keeps the nodes' data and the file)"
echo
echo "demo complete: five nodes, one ledger, one state, every head witnessed, proofs that travel, pages to hand on."
