#!/usr/bin/env bash
# EPCIS round trip: the worked example through the CLI in network A (a certificate, a
# shipment, a blend with an unledgered input, a second shipment, a claim, an
# attestation, a revocation), exported; each member of a fresh network B (the same
# parties, named by their GLNs) imports that document at its own node; B exports again.
# Every quantity, relation and figure is preserved: the same events in the same order
# with the same times, quantities, lot codes, parties and declarations, and the same figures
# from verify; importing A's document again into B writes nothing.
source "$(dirname "$0")/lib.sh"
MEMBERS=(recycler processor manufacturer certifier)
GLNS=(4512345000011 4512345000028 4512345000035 4512345000042)
make_network() { # NET: a registry and the four members, admitted with their GLNs
  local net=$1 i=0 key
  NODES=("$net-registry" "${MEMBERS[@]/#/$net-}")
  k "$net-registry" init --network "$net" >/dev/null 2>&1
  for n in "${MEMBERS[@]}"; do
    key=$(k "$net-$n" join "$T/$net-registry/genesis.bin" --json | json 'd["key"]')
    k "$net-registry" admit --key "$key" --name "$n" --role "$n" --country JP --gln "${GLNS[$i]}" >/dev/null
    i=$((i + 1))
  done
  replicate
}
make_network a
FLAKE=$(k a-recycler issue --json --lot FLAKE-1 --material PET/flake --mass 20t --post-consumer 20t --origin JP \
  --scheme GRS --certificate GRS-1 | json 'd["record"]')
k a-recycler transfer --lot FLAKE-1 --mass 20t --to processor >/dev/null
replicate; k a-processor receive --all >/dev/null
k a-processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-1:PET/sheet=47.5t >/dev/null
k a-processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer >/dev/null
replicate; k a-manufacturer receive --all >/dev/null
k a-manufacturer claim --lot SHEET-1 --recycled 40% --scope "trays" >/dev/null
replicate
k a-certifier attest --record "$FLAKE" --statement "audited on site" >/dev/null
replicate
k a-certifier revoke --record "$FLAKE" --reason "forged weighing slips" >/dev/null
replicate
k a-manufacturer export --epcis > "$T/a.jsonld" 2>/dev/null
k a-manufacturer verify SHEET-1 --json > "$T/va.json" || true

make_network b
for n in "${MEMBERS[@]}"; do
  check "round trip: the $n of network B imports its events of A's document" k "b-$n" import --epcis "$T/a.jsonld"
  replicate
done
k b-manufacturer export --epcis > "$T/b.jsonld" 2>/dev/null
k b-manufacturer verify SHEET-1 --json > "$T/vb.json" || true

check "round trip: B's export has A's events, in order, with the same quantities, lots, parties and declarations" python3 - "$T/a.jsonld" "$T/b.jsonld" <<'PY'
import json, sys
def shape(path):
    ev = json.load(open(path))["epcisBody"]["eventList"]
    out = []
    for e in ev:
        qty = lambda k: [(q.get("quantity"), q.get("uom")) for q in e.get(k, [])]
        ilmd = {k: v for k, v in e.get("ilmd", {}).items() if k not in ("kiroku:outputs", "kiroku:unledgered")}
        outs = [(o.get("kiroku:lotCode"), o.get("kiroku:material")) for o in e.get("ilmd", {}).get("kiroku:outputs", [])]
        parties = [x.get("source") or x.get("destination") for x in e.get("sourceList", []) + e.get("destinationList", [])]
        decl = {k: v for k, v in e.get("errorDeclaration", {}).items() if k in ("declarationTime", "reason", "kiroku:reason", "kiroku:author")}
        out.append((e["type"], e["eventTime"], e.get("bizStep"), e.get("disposition"), qty("quantityList"), qty("inputQuantityList"),
                    qty("outputQuantityList"), ilmd, outs, parties, e.get("kiroku:author"), e.get("kiroku:recycledShare"),
                    e.get("kiroku:scope"), e.get("kiroku:statement"), decl))
    return out
a, b = shape(sys.argv[1]), shape(sys.argv[2])
assert len(a) == len(b) == 9, (len(a), len(b))
for i, (x, y) in enumerate(zip(a, b)):
    assert x == y, f"event {i} differs:\n  A {x}\n  B {y}"
PY
check "round trip: verify gives the same figures in both networks (the revocation's taint, the failed claim included)" python3 - "$T/va.json" "$T/vb.json" <<'PY'
import json, sys
a, b = (json.load(open(p)) for p in sys.argv[1:3])
f = lambda d: (d["mass_mg"], d["recycled"], d["tainted_mg"], [(o["country"], o["mass_mg"], o["recycled_mg"]) for o in d["origins"]],
               [(c["holds"], c["share"]) for c in d["claims"]], d["ok"], d["material"])
assert f(a) == f(b), (f(a), f(b))
assert a["tainted_mg"] == 19000000000 and not a["ok"]
PY
before=$(sha256sum "$T/b-certifier/data.mdb" | cut -d' ' -f1)
check "round trip: importing A's document into B again writes nothing new" bash -c "
  '$K' -C '$T/b-certifier' import --epcis '$T/a.jsonld' --json | python3 -c \"import json,sys; assert json.load(sys.stdin)['records'] == 0\" &&
  [ \"\$(sha256sum '$T/b-certifier/data.mdb' | cut -d' ' -f1)\" = '$before' ]"
check "round trip: B's document exports and imports consistently (its eventIDs are its events' hashes)" "$K" epcis-hash "$T/b.jsonld"
finish
