#!/usr/bin/env bash
# `kiroku epcis-hash` against the CBV 2.0 event hash vectors of the reference
# implementation (../shared/data/epcis/hash/): every .hashes file exactly, every
# .prehashes file but the three that are stale against their own documents — for those,
# the test shows the staleness: the file's pre-hash does not hash to the file's hash, and
# ours does. Then every GS1 and OpenEPCIS example document runs through it without a
# crash, and the refusals.
source "$(dirname "$0")/lib.sh"
SHARED=${KIROKU_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}
DATA=$SHARED/data/epcis
if [ ! -d "$DATA/hash" ]; then notok "epcis-hash: $DATA/hash not found"; finish; fi
STALE=" epcisDocWithAllGS1Keys epcisDocWithCustomSchemaInContext epcisDocWithDefaultSchemaInContext "
sha() { python3 -c "import hashlib,sys; print('ni:///sha-256;' + hashlib.sha256(sys.argv[1].encode()).hexdigest() + '?ver=CBV2.0')" "$1"; }

docs=0 hash_bad=0 pre_bad=0 pre_checked=0 stale_shown=0
for f in "$DATA"/hash/*.jsonld; do
  b=${f%.jsonld}; name=$(basename "$b")
  docs=$((docs + 1))
  "$K" epcis-hash "$f" > "$T/h" 2>/dev/null
  if ! diff -q "$T/h" <(sed -e '$a\' "$b.hashes") >/dev/null; then
    hash_bad=$((hash_bad + 1)); echo "    $name: hashes differ"; diff "$T/h" "$b.hashes" | head -4 | sed 's/^/      /'
  fi
  [ -f "$b.prehashes" ] || continue
  "$K" epcis-hash --prehash "$f" 2>/dev/null | awk 'NR % 2 == 0' > "$T/p"
  if [[ "$STALE" == *" $name "* ]]; then
    # where the file's pre-hash differs from ours, it does not hash to the .hashes line
    # and ours does
    i=0 shown=1 stale=0
    while IFS= read -r line; do
      i=$((i + 1))
      want=$(sed -n "${i}p" "$b.hashes"); mine=$(sed -n "${i}p" "$T/p")
      [ "$line" = "$mine" ] && continue
      stale=$((stale + 1))
      [ "$(sha "$line")" != "$want" ] && [ "$(sha "$mine")" = "$want" ] || shown=0
    done < <(sed -e '$a\' "$b.prehashes" | grep -v '^$')
    if [ $shown = 1 ] && [ $stale -gt 0 ]; then stale_shown=$((stale_shown + 1)); else echo "    $name: expected a stale .prehashes file"; fi
    continue
  fi
  pre_checked=$((pre_checked + 1))
  if ! diff -q "$T/p" <(sed -e '$a\' "$b.prehashes") >/dev/null; then
    pre_bad=$((pre_bad + 1)); echo "    $name: pre-hashes differ"
  fi
done
check "epcis-hash: the hashes of all $docs JSON-LD vector documents match the reference's .hashes files" test "$hash_bad" = 0 -a "$docs" -ge 20
check "epcis-hash: the pre-hash strings of all $pre_checked other vectors match the reference's .prehashes files" test "$pre_bad" = 0 -a "$pre_checked" -ge 15
check "epcis-hash: the three stale .prehashes files are stale (they do not hash to their .hashes; ours do)" test "$stale_shown" = 3

# Every example document parses without a crash: exit 0 (hashed), 1 (a declared hash ID
# differs) or 2 (not a document it can read), in bounded time.
n=0 crashed=0
while IFS= read -r f; do
  n=$((n + 1)); rc=0
  timeout 20 "$K" epcis-hash "$f" >/dev/null 2>&1 || rc=$?
  [ "$rc" -le 2 ] || { crashed=$((crashed + 1)); echo "    ${f#$DATA/}: exit $rc"; }
done < <(find "$DATA/gs1" "$DATA/openepcis" -name '*.json*' | sort)
check "epcis-hash: all $n GS1 and OpenEPCIS example documents run without a crash" test "$crashed" = 0 -a "$n" -gt 30

# The same event written differently hashes the same; a changed value does not.
cat > "$T/a.json" <<'DOC'
{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","epcisBody":{"eventList":[
 {"type":"ObjectEvent","eventTime":"2026-11-30T09:00:00+09:00","eventTimeZoneOffset":"+09:00","action":"OBSERVE","bizStep":"shipping",
  "epcList":["urn:epc:id:sgtin:4512345.012345.1","urn:epc:id:sgtin:4512345.012345.2"],"quantityList":[{"epcClass":"urn:epc:class:lgtin:4512345.012345.L1","quantity":20.50,"uom":"KGM"}]}]}}
DOC
cat > "$T/b.json" <<'DOC'
{"type":"EPCISDocument","@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"epcisBody":{"eventList":[
 {"quantityList":[{"uom":"KGM","quantity":2.05e1,"epcClass":"https://id.gs1.org/01/04512345123451/10/L1"}],"epcList":["https://example.jp/01/04512345123451/21/2","urn:epc:id:sgtin:4512345.012345.1"],
  "bizStep":"https://ref.gs1.org/cbv/BizStep-shipping","action":"OBSERVE","eventTimeZoneOffset":"+09:00","eventTime":"2026-11-30T00:00:00.000Z","type":"ObjectEvent"}]}}
DOC
sed 's/"OBSERVE"/"ADD"/' "$T/a.json" > "$T/c.json"
check "epcis-hash: the same event in another key order, notation and time zone has the same hash" \
  test "$("$K" epcis-hash "$T/a.json")" = "$("$K" epcis-hash "$T/b.json")"
check "epcis-hash: a changed value changes the hash" test "$("$K" epcis-hash "$T/a.json")" != "$("$K" epcis-hash "$T/c.json")"
check "epcis-hash: --json gives each event's index, hash and pre-hash" \
  bash -c "'$K' epcis-hash '$T/a.json' --prehash --json | python3 -c \"import json,sys; e=json.load(sys.stdin)['events']; assert len(e)==1 and e[0]['index']==0 and e[0]['hash'].startswith('ni:///sha-256;') and e[0]['prehash'].startswith('eventType=ObjectEvent')\""

# A declared hash ID that is not the event's hash: exit 1, named on stderr.
python3 - "$T/a.json" "$T/d.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1])); d["epcisBody"]["eventList"][0]["eventID"] = "ni:///sha-256;" + "0" * 64 + "?ver=CBV2.0"
json.dump(d, open(sys.argv[2], "w"))
PY
rc=0; "$K" epcis-hash "$T/d.json" > /dev/null 2> "$T/err" || rc=$?
check "epcis-hash: a declared eventID that is not the event's hash exits 1 and says so" \
  bash -c "[ $rc = 1 ] && grep -q 'declares eventID' '$T/err'"

echo nope > "$T/x.json"
rc=0; "$K" epcis-hash "$T/x.json" > /dev/null 2> "$T/err" || rc=$?
check "epcis-hash: a file that is not JSON exits 2 with the line of the fault" bash -c "[ $rc = 2 ] && grep -q 'line 1' '$T/err'"
echo '{"type":"EPCISDocument"}' > "$T/y.json"
rc=0; "$K" epcis-hash "$T/y.json" > /dev/null 2> "$T/err" || rc=$?
check "epcis-hash: JSON without an event list exits 2 and says what is missing" bash -c "[ $rc = 2 ] && grep -q 'eventList' '$T/err'"
rc=0; "$K" epcis-hash > /dev/null 2> "$T/err" || rc=$?
check "epcis-hash: no FILE is a usage error naming it" bash -c "[ $rc = 2 ] && grep -q 'missing FILE' '$T/err'"
finish
