#!/usr/bin/env bash
# `kiroku import --epcis`: the worked example of DOMAIN.md written by hand as an EPCIS
# 2.0 document (tests/cli/data/worked-example.jsonld), imported by each party at its own
# node — the figures are the CLI path's; re-importing writes nothing; a dry run writes
# nothing; a document breaking an invariant is refused naming its event, whole; units;
# every GS1 and OpenEPCIS example runs through the importer without a crash.
source "$(dirname "$0")/lib.sh"
DOC=$(dirname "$0")/data/worked-example.jsonld
SHARED=${KIROKU_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
gs1_network
digest() { sha256sum "$T/$1/data.mdb" | cut -d' ' -f1; }

before=$(digest recycler)
k recycler import --epcis "$DOC" --dry-run --json > "$T/dry.json"
check "import: a dry run says what would be written and writes nothing" bash -c "
  [ '$(digest recycler)' = '$before' ] && python3 -c \"
import json; d=json.load(open('$T/dry.json'))
assert d['dry_run'] and not d['written'] and d['records'] == 2, d
s=[e['status'] for e in d['events']]
assert s == ['record', 'record', 'other_party', 'other_party', 'other_party', 'other_party', 'other_party', 'unmapped'], s
\""
check "import: another party's events are named, with where to import them" \
  bash -c "'$K' -C '$T/recycler' import --epcis '$DOC' --dry-run | grep -q 'import it at that party.s node'"
check "import: the recycler imports its issue and its shipment" bash -c "'$K' -C '$T/recycler' import --epcis '$DOC' | grep -q 'imported 2 records'"
replicate
check "import: the processor imports its receipt and its transform" bash -c "'$K' -C '$T/processor' import --epcis '$DOC' | grep -q 'imported 3 records'"
replicate
check "import: the manufacturer imports its receipt and its claim" bash -c "'$K' -C '$T/manufacturer' import --epcis '$DOC' | grep -q 'imported 2 records'"
replicate
k manufacturer verify SHEET-1 --json > "$T/v.json"
check "import: the sheet verifies to the CLI path's figures: 19 t recycled in 47.5 t, from JP and DE, the claim holding" \
  test "$(json 'd["mass_mg"], d["recycled"]["post_consumer_mg"], d["recycled"]["share"], [(o["country"], o["mass_mg"]) for o in d["origins"]], d["claims"][0]["holds"], d["ok"]' < "$T/v.json")" \
       = "47500000000 19000000000 0.4 [('DE', 28500000000), ('JP', 19000000000)] True True"
check "import: the material group and form came through (PET/sheet)" test "$(json 'd["material"]' < "$T/v.json")" = "PET/sheet"
before=$(digest manufacturer)
check "import: importing the same document again writes nothing new" bash -c "
  '$K' -C '$T/manufacturer' import --epcis '$DOC' --json | python3 -c \"
import json,sys; d=json.load(sys.stdin); assert d['records'] == 0 and sum(e['status'] == 'held' for e in d['events']) == 2, d\" &&
  [ '$(digest manufacturer)' = \"\$(sha256sum '$T/manufacturer/data.mdb' | cut -d' ' -f1)\" ]"

# Refusals: nothing of a refused document is written, and the event is named.
bad() { # NAME PYTHON-EDIT: the edited document must be refused by the processor, naming event $3
  python3 - "$DOC" "$T/bad.jsonld" "$2" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); ev = d["epcisBody"]["eventList"]
exec(sys.argv[3])
json.dump(d, open(sys.argv[2], "w"))
PY
  refused "$1" processor import --epcis "$T/bad.jsonld"
}
k recycler issue --lot FLAKE-9 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate G-9 >/dev/null
k recycler transfer --lot FLAKE-9 --mass 10t --to processor >/dev/null
replicate
mk_doc() { # a processor document: receive FLAKE-9, then a transform of it
  python3 - "$T/p.jsonld" "$1" <<'PY'
import json, sys
out, outputs = sys.argv[1], sys.argv[2]
ev = [{"type": "ObjectEvent", "eventTime": "2026-12-01T00:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
       "bizStep": "receiving", "quantityList": [{"epcClass": "FLAKE-9", "quantity": 10000, "uom": "KGM"}]},
      {"type": "TransformationEvent", "eventTime": "2026-12-01T01:00:00Z", "eventTimeZoneOffset": "+00:00",
       "inputQuantityList": [{"epcClass": "FLAKE-9", "quantity": 10000, "uom": "KGM"}],
       "outputQuantityList": json.loads(outputs), "ilmd": {"kiroku:model": "segregated", "kiroku:material": "PET/sheet"}}]
json.dump({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"kiroku": "urn:kiroku:epcis:"}],
           "type": "EPCISDocument", "epcisBody": {"eventList": ev}}, open(out, "w"))
PY
}
mk_doc '[{"epcClass": "OUT-1", "quantity": 10.001, "uom": "TNE"}]'
refused "import: an unbalanced transformation refuses the whole document (its receipt is not written either)" processor import --epcis "$T/p.jsonld"
check "import: the refusal names the event and the rule" bash -c "grep -q 'event 1 (ni:///sha-256;' '$T/.refused' && grep -q 'conservation of mass' '$T/.refused'"
mk_doc '[{"epcClass": "OUT-1", "quantity": 9.9999991, "uom": "KGM"}]'
refused "import: a quantity finer than a milligram is refused" processor import --epcis "$T/p.jsonld"
check "import: ... saying so" grep -q "not a whole number of milligrams" "$T/.refused"
mk_doc '[{"epcClass": "OUT-1", "quantity": 10, "uom": "STN"}]'
refused "import: an unknown unit is refused, naming the ones known" processor import --epcis "$T/p.jsonld"
check "import: ... listing them" grep -q "use KGM, TNE, GRM, MGM or LBR" "$T/.refused"
mk_doc '[{"epcClass": "OUT-1", "quantity": 10}]'
refused "import: pieces (no uom) without master data are refused" processor import --epcis "$T/p.jsonld"
python3 - "$T/p.jsonld" "$T/over.jsonld" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["epcisBody"]["eventList"][1]["inputQuantityList"][0]["quantity"] = 10000.001
d["epcisBody"]["eventList"][1]["outputQuantityList"] = [{"epcClass": "OUT-1", "quantity": 10000.001, "uom": "KGM"}]
json.dump(d, open(sys.argv[2], "w"))
PY
refused "import: an over-spent lot refuses the whole document" processor import --epcis "$T/over.jsonld"
check "import: ... naming the event and the rule" bash -c "grep -q 'event 1 (ni:///sha-256;' '$T/.refused' && grep -q 'exceeds the mass still available' '$T/.refused'"
bad "import: an unknown lot is refused" 'ev[3]["inputQuantityList"][0]["epcClass"] = "NO-SUCH-LOT"'
check "import: ... naming it" grep -q "unknown lot NO-SUCH-LOT" "$T/.refused"
bad "import: an unknown member is refused" 'ev[2]["destinationList"][0]["destination"] = "urn:epc:id:pgln:4512345.00009"'
mk_doc '[{"epcClass": "OUT-1", "quantity": 5000, "uom": "KGM"}, {"epcClass": "OUT-2", "quantity": 100, "uom": "LBR"}]'
check "import: pounds convert exactly (100 lb is 45,359,237 mg) and a transform in kg and lb imports" \
  bash -c "'$K' -C '$T/processor' import --epcis '$T/p.jsonld' --dry-run --json | python3 -c \"import json,sys; d=json.load(sys.stdin); assert d['records'] == 2, d\""
mk_doc '[{"epcClass": "OUT-1", "quantity": 1, "uom": "LBR"}]'
refused "import: one pound (453,592.37 mg) is not a whole number of milligrams: refused" processor import --epcis "$T/p.jsonld"

# Master data: pieces become mass through the net mass of their class.
printf 'class,net_mass\nurn:epc:class:lgtin:4512345.012399.BAG,25kg\n' > "$T/classes.csv"
check "masterdata: a CSV of net masses loads" bash -c "'$K' -C '$T/recycler' masterdata load '$T/classes.csv' | grep -q 'loaded the net mass of 1 class'"
cat > "$T/voc.json" <<'JSON'
{"epcisHeader": {"epcisMasterData": {"vocabularyList": [{"type": "urn:epcglobal:epcis:vtype:EPCClass", "vocabularyElementList": [
  {"id": "https://id.gs1.org/01/04512345123987/10/DRUM", "attributes": [{"id": "cbvmda:netWeight", "attribute": {"value": 180.5, "unitCode": "KGM"}}]}]}]}}}
JSON
check "masterdata: an EPCIS vocabularyList with net weights loads" k recycler masterdata load "$T/voc.json"
check "masterdata: list shows both classes in canonical form, with their masses" bash -c "'$K' -C '$T/recycler' masterdata list --json | python3 -c \"
import json,sys; d={c['class']: c['net_mass_mg'] for c in json.load(sys.stdin)['classes']}
assert d == {'https://id.gs1.org/01/04512345123994/10/BAG': 25000000, 'https://id.gs1.org/01/04512345123987/10/DRUM': 180500000}, d\""
printf 'class,net_mass\nurn:epc:class:lgtin:4512345.012399.BAG,25\n' > "$T/bad.csv"
rc=0; k recycler masterdata load "$T/bad.csv" > /dev/null 2> "$T/err" || rc=$?
check "masterdata: a line without a unit is refused, naming it, and nothing is loaded" bash -c "
  [ $rc = 2 ] && grep -q 'line 2' '$T/err' && [ \$('$K' -C '$T/recycler' masterdata list --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)[\"classes\"]))') = 2 ]"
cat > "$T/bags.jsonld" <<'JSON'
{"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"kiroku": "urn:kiroku:epcis:"}],
 "type": "EPCISDocument", "epcisBody": {"eventList": [
  {"type": "ObjectEvent", "eventTime": "2026-12-01T00:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "ADD", "bizStep": "commissioning",
   "quantityList": [{"epcClass": "https://id.gs1.org/01/04512345123994/10/BAG", "quantity": 40, "uom": "H87"}],
   "ilmd": {"kiroku:material": "PET/bales", "kiroku:postConsumerMass": 1000, "cbvmda:countryOfOrigin": "JP", "kiroku:certificate": "GRS-7"}}]}}
JSON
check "import: 40 pieces of a class of 25 kg become a lot of 1 t" bash -c "
  '$K' -C '$T/recycler' import --epcis '$T/bags.jsonld' >/dev/null &&
  '$K' -C '$T/recycler' lots --json | python3 -c \"import json,sys; assert any(l['mass_mg'] == 1000000000 and l['code'].endswith('/10/BAG') for l in json.load(sys.stdin))\""

# With the node running on the directory, the import goes through it, still all at once.
KN=${KIROKU_NODE_BIN:?}
ROOT=$T
source "$(dirname "$0")/../../tools/nodes.sh"
trap 'stop_nodes; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
NODE_ARGS[processor]="--standalone"
start_node processor
mk_doc '[{"epcClass": "OUT-9", "quantity": 10, "uom": "TNE"}]'
check "import: through the running node, the receipt and the transform together" \
  bash -c "'$K' -C '$T/processor' import --epcis '$T/p.jsonld' | grep -q 'imported 2 records'"
check "import: ... the node holds the lot made" bash -c "'$K' -C '$T/processor' lots --json | python3 -c \"import json,sys; assert any(l['code'] == 'OUT-9' and l['mass_mg'] == 10000000000 for l in json.load(sys.stdin))\""
check "import: ... and again writes nothing new" bash -c "'$K' -C '$T/processor' import --epcis '$T/p.jsonld' --json | python3 -c \"import json,sys; assert json.load(sys.stdin)['records'] == 0\""
python3 - "$T/over9.jsonld" <<'PY'
import json, sys
ev = [{"type": "TransformationEvent", "eventTime": "2026-12-01T02:00:00Z", "eventTimeZoneOffset": "+00:00",
       "inputQuantityList": [{"epcClass": "OUT-9", "quantity": 11, "uom": "TNE"}],
       "outputQuantityList": [{"epcClass": "OUT-10", "quantity": 11, "uom": "TNE"}], "ilmd": {"kiroku:model": "segregated", "kiroku:material": "PET"}}]
json.dump({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"kiroku": "urn:kiroku:epcis:"}],
           "type": "EPCISDocument", "epcisBody": {"eventList": ev}}, open(sys.argv[1], "w"))
PY
rc=0; k processor import --epcis "$T/over9.jsonld" > /dev/null 2> "$T/err" || rc=$?
check "import: through the node, a refused record refuses the document, naming its event" \
  bash -c "[ $rc = 2 ] && grep -q 'event 0 (ni:///sha-256;' '$T/err' && grep -q 'exceeds the mass still available' '$T/err'"
check "import: ... and the node wrote nothing" bash -c "! '$K' -C '$T/processor' lots --json | grep -q OUT-10"
sed 's/"quantity": 11/"quantity": 5/g; s/OUT-10/OUT-11/' "$T/over9.jsonld" > "$T/ok9.jsonld"
check "import: a dry run runs beside the node, and writes nothing" bash -c "
  '$K' -C '$T/processor' import --epcis '$T/ok9.jsonld' --dry-run --json | python3 -c \"import json,sys; d=json.load(sys.stdin); assert d['records'] == 1 and not d['written']\" &&
  ! '$K' -C '$T/processor' lots --json | grep -q OUT-11"
stop_nodes

# Every example document through the importer: parsed, each event reported, no crash.
n=0 crashed=0
while IFS= read -r f; do
  n=$((n + 1)); rc=0
  timeout 20 "$K" -C "$T/processor" import --epcis "$f" --dry-run >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 2 ] || { crashed=$((crashed + 1)); echo "    ${f#$SHARED/}: exit $rc"; }
done < <(find "$SHARED/data/epcis/gs1" "$SHARED/data/epcis/openepcis" -name '*.json*' | sort)
check "import: all $n GS1 and OpenEPCIS example documents run through the importer without a crash" test "$crashed" = 0 -a "$n" -gt 30
finish
