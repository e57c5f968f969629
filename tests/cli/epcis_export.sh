#!/usr/bin/env bash
# `kiroku export --epcis`: the ledger and a lot's provenance as EPCIS 2.0 documents —
# every record an event with its CBV 2.0 hash as eventID, exact quantities, a
# revocation as an error declaration of the revoked event, the same document from every
# node that holds the same records, and the refusals.
source "$(dirname "$0")/lib.sh"
network
flake_to_processor
k recycler issue --lot FINE-1 --material PET/flake --mass 123.456789kg --post-consumer 100kg --origin DE \
  --scheme GRS --certificate "GRS 2/b" >/dev/null
k processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-1:PET/sheet=47.5t >/dev/null
k processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer >/dev/null
replicate; k manufacturer receive --all >/dev/null
k manufacturer claim --lot SHEET-1 --recycled 40% --scope "trays" >/dev/null
k certifier attest --record "$FLAKE" --statement "audited" >/dev/null
replicate
k certifier revoke --record "$FLAKE" --reason "forged weighing slips" >/dev/null
# A member admitted with its party GLN (checked digit) is named by it in events.
key=$(k trader join "$T/registry/genesis.bin" --json | json 'd["key"]')
refused "admit: a GLN with a wrong check digit is refused, naming the right one" registry admit --key "$key" --name trader \
  --role recycler --gln 4012345000017
grep -q "4012345000016" "$T/.refused" && ok "admit: the refusal names the GLN with its check digit" || notok "admit: the refusal names the GLN with its check digit"
refused "admit: a GLN of 12 digits is refused" registry admit --key "$key" --name trader --role recycler --gln 401234500001
k registry admit --key "$key" --name trader --role recycler --country DE --gln 4012345000016 >/dev/null
NODES+=(trader)
replicate
k trader issue --lot T-1 --material PET --mass 1t --post-consumer 1t --origin DE --scheme GRS --certificate G-9 >/dev/null
replicate
check "members: the GLN is shown" bash -c "'$K' -C '$T/registry' members --json | python3 -c \"import json,sys; m={x['name']: x['gln'] for x in json.load(sys.stdin)}; assert m['trader'] == '4012345000016' and m['recycler'] is None\""

check "export: the whole ledger is written as an EPCIS document" bash -c "'$K' -C '$T/manufacturer' export --epcis > '$T/all.jsonld'"
events() { python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['epcisBody']['eventList']))" "$1"; }
check "export: one event per issue, transfer, receipt, transform, claim, attestation, revocation (11)" test "$(events "$T/all.jsonld")" = 11
check "export: every eventID is the event's CBV 2.0 hash (epcis-hash agrees, exit 0)" \
  bash -c "'$K' epcis-hash '$T/all.jsonld' > '$T/h' && [ \$(wc -l < '$T/h') = 11 ] && python3 -c \"
import json,sys
ids=[e['eventID'] for e in json.load(open('$T/all.jsonld'))['epcisBody']['eventList']]
assert ids == open('$T/h').read().split(), 'eventIDs differ from the hashes'\""
check "export: quantities are exact decimals in kilograms, written as JSON numbers" \
  bash -c "grep -q '\"quantity\": 123.456789,' '$T/all.jsonld' && grep -q '\"quantity\": 47500,' '$T/all.jsonld'"
check "export: the issue is a commissioning ObjectEvent with lot, material group and form, origin and certificate" python3 - "$T/all.jsonld" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["epcisBody"]["eventList"]
fine = [e for e in ev if e.get("ilmd", {}).get("kiroku:lotCode") == "FINE-1"][0]
assert fine["type"] == "ObjectEvent" and fine["action"] == "ADD" and fine["bizStep"] == "commissioning"
il = fine["ilmd"]
assert (il["kiroku:materialGroup"], il["kiroku:materialForm"], il["cbvmda:countryOfOrigin"]) == ("PET", "flake", "DE")
assert fine["certificationInfo"] == "urn:kiroku:certificate:GRS:GRS%202%2Fb", fine["certificationInfo"]
assert fine["quantityList"][0]["epcClass"].startswith("urn:kiroku:lot:") and fine["quantityList"][0]["uom"] == "KGM"
PY
check "export: the transform is a TransformationEvent with its unledgered input and its output" python3 - "$T/all.jsonld" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["epcisBody"]["eventList"]
t = [e for e in ev if e["type"] == "TransformationEvent"][0]
assert [q["quantity"] for q in t["inputQuantityList"]] == [20000, 30000]
assert [q["quantity"] for q in t["outputQuantityList"]] == [47500]
assert t["ilmd"]["kiroku:unledgered"][0]["cbvmda:countryOfOrigin"] == "DE"
assert t["ilmd"]["kiroku:outputs"][0]["kiroku:lotCode"] == "SHEET-1"
PY
check "export: shipping and receiving name the owning parties; the receipt names the transfer" python3 - "$T/all.jsonld" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["epcisBody"]["eventList"]
ship = [e for e in ev if e.get("bizStep") == "shipping"]
recv = [e for e in ev if e.get("bizStep") == "receiving"]
assert len(ship) == 2 and len(recv) == 2
for s in ship:
    assert s["disposition"] == "in_transit" and s["sourceList"][0]["type"] == "owning_party"
    r = [x for x in recv if x["kiroku:transfer"] == s["kiroku:record"]][0]
    assert r["quantityList"] == s["quantityList"] and r["destinationList"] == s["destinationList"]
PY
check "export: the revocation is the revoked event declared in error, with the same eventID" python3 - "$T/all.jsonld" "$FLAKE" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["epcisBody"]["eventList"]
same = [e for e in ev if e["kiroku:record"] == sys.argv[2]]
assert len(same) == 2, len(same)
plain, declared = same
assert "errorDeclaration" not in plain and declared["errorDeclaration"]["kiroku:reason"] == "forged weighing slips"
assert plain["eventID"] == declared["eventID"]
assert ev.index(declared) > ev.index(plain)  # in time order: the revocation came later
PY
check "export: a member admitted with a GLN is its owning party as a GS1 Digital Link (417)" python3 - "$T/all.jsonld" <<'PY'
import json, sys
ev = json.load(open(sys.argv[1]))["epcisBody"]["eventList"]
t = [e for e in ev if e.get("ilmd", {}).get("kiroku:lotCode") == "T-1"][0]
assert t["destinationList"][0]["destination"] == "https://id.gs1.org/417/4012345000016"
assert t["kiroku:author"] == "https://id.gs1.org/417/4012345000016"
PY
check "export: every node holding the same records writes the same document, byte for byte" bash -c "
  for n in registry recycler processor certifier trader; do '$K' -C '$T/'\$n export --epcis 2>/dev/null | cmp -s - '$T/all.jsonld' || exit 1; done"
check "export: a lot's provenance holds its own history and not the other lots'" python3 - "$T" "$K" <<'PY'
import json, subprocess, sys
t, k = sys.argv[1], sys.argv[2]
d = json.loads(subprocess.run([k, "-C", t + "/manufacturer", "export", "--epcis", "SHEET-1"], capture_output=True, check=True).stdout)
ev = d["epcisBody"]["eventList"]
codes = {e.get("ilmd", {}).get("kiroku:lotCode") for e in ev} - {None}
assert codes == {"FLAKE-1"}, codes
steps = sorted(e.get("bizStep") for e in ev)
assert steps.count("shipping") == 2 and steps.count("receiving") == 2 and any("claiming" in s for s in steps), steps
assert any(e["type"] == "TransformationEvent" for e in ev)
PY
rc=0; k manufacturer export > /dev/null 2> "$T/err" || rc=$?
check "export: without --epcis it is a usage error naming the format" bash -c "[ $rc = 2 ] && grep -q -- '--epcis' '$T/err'"
rc=0; k manufacturer export --epcis NO-SUCH-LOT > /dev/null 2> "$T/err" || rc=$?
check "export: an unknown lot exits 2 and names it" bash -c "[ $rc = 2 ] && grep -q 'NO-SUCH-LOT' '$T/err'"
finish
