#!/usr/bin/env bash
# The HTTP interface (docs/http.md), driven with curl as a client would: the EPCIS 2.0
# discovery headers; the worked example captured party by party with POST /capture at
# each party's node (the figures are the CLI path's); capture jobs; GET /events equal
# to `kiroku export --epcis`, its filters and its linked pages; one event by its id;
# POST /events (201, then 409); refusals that write nothing; Kiroku's read API equal to
# the CLI's --json; the token, its rotation; the body cap and slow requests cut off.
source "$(dirname "$0")/lib.sh"
DOC=$(dirname "$0")/../cli/data/worked-example.jsonld
command -v curl >/dev/null || { notok "http: curl is not installed (tools/deps.sh installs it)"; finish; }

gs1_network

printf 'http_max_body_mb = 1\nhttp_timeout_s = 2\n' > "$T/http.conf"
for n in recycler processor manufacturer; do NODE_ARGS[$n]="--http 127.0.0.1:0"; NODE_CONFIG[$n]="$T/http.conf"; done
start_node registry
start_node recycler registry
start_node processor registry recycler
start_node manufacturer registry recycler processor
url() { k "$1" status --json | json 'd["http"]'; }
declare -A URL TOKEN
for n in recycler processor manufacturer; do URL[$n]=$(url "$n"); TOKEN[$n]=$(k "$n" http-token); done

# req METHOD URL [CURL ARGS...]: prints the status; the body is in $T/body, the headers in $T/hdr.
req() { local m=$1 u=$2; shift 2; curl -s -o "$T/body" -D "$T/hdr" -w '%{http_code}' -X "$m" "$u" "$@"; }
hdr() { tr -d '\r' < "$T/hdr" | sed -n "s/^$1: //Ip" | head -1; }
body() { json "$1" < "$T/body"; }
head_of() { k "$1" log --feed "$1" --json | json 'len(d)'; }

R=${URL[recycler]}
check "http: the node says where it serves HTTP (status)" bash -c "[[ '$R' == http://127.0.0.1:* ]]"

# ---- discovery -----------------------------------------------------------------------------
for p in / /capture /events /eventTypes; do
  code=$(req OPTIONS "$R$p")
  allow=$(hdr Allow)
  all=1
  for h in GS1-EPCIS-Version GS1-EPCIS-Min GS1-EPCIS-Max GS1-CBV-Version GS1-CBV-Min GS1-CBV-Max \
           GS1-EPCIS-Capture-Limit GS1-EPCIS-Capture-File-Size-Limit GS1-Vendor-Version; do
    [ -n "$(hdr "$h")" ] || all=0
  done
  want="OPTIONS, GET"; case $p in /capture|/events) want="OPTIONS, GET, POST" ;; esac
  check "http: OPTIONS $p answers 204 with Allow ($want) and every GS1 discovery header" \
    test "$code $allow $all" = "204 $want 1"
done
check "http: the capture file size limit announced is the configured cap (1 MiB)" \
  test "$(req OPTIONS "$R/capture" >/dev/null; hdr GS1-EPCIS-Capture-File-Size-Limit)" = 1048576
check "http: GET / lists the top-level resources" \
  test "$(req GET "$R/"; echo " $(body 'sorted(d["@set"])')")" = "200 ['capture', 'eventTypes', 'events']"

# ---- capture: the worked example, party by party ---------------------------------------------
capture() { # WHO FILE: POST /capture; prints the job's URL path
  req POST "${URL[$1]}/capture" -H "Authorization: Bearer ${TOKEN[$1]}" -H 'Content-Type: application/ld+json' \
    --data-binary "@$2" >/dev/null
  hdr Location
}
job() { req GET "${URL[$1]}$2" >/dev/null; cat "$T/body"; }
code=$(req POST "$R/capture" -H 'Content-Type: application/ld+json' --data-binary "@$DOC")
check "http: POST /capture without the token is refused (401, RFC 7807), nothing written" \
  test "$code $(hdr Content-Type) $(body 'd["status"]') $(head_of recycler)" = "401 application/problem+json 401 0"
code=$(req POST "$R/capture" -H "Authorization: Bearer ${TOKEN[processor]}" -H 'Content-Type: application/ld+json' --data-binary "@$DOC")
check "http: another node's token is not this node's (401)" test "$code" = 401
code=$(req POST "$R/capture" -H "Authorization: Bearer ${TOKEN[recycler]}" -H 'Content-Type: text/plain' --data-binary "@$DOC")
check "http: a body that is not JSON-LD is refused (415)" test "$code $(body 'd["type"]')" = "415 epcisException:UnsupportedMediaTypeException"
code=$(req POST "$R/capture" -H "Authorization: Bearer ${TOKEN[recycler]}" -H 'Content-Type: application/json' --data-binary '{"type": ')
check "http: a body that does not parse is refused (400 ValidationException)" \
  test "$code $(body 'd["type"]')" = "400 epcisException:ValidationException"
code=$(req POST "$R/capture" -H "Authorization: Bearer ${TOKEN[recycler]}" -H 'Content-Type: application/json' \
  -H 'GS1-Capture-Error-Behaviour: proceed' --data-binary "@$DOC")
check "http: captureErrorBehaviour proceed is refused (501: all or none only)" test "$code $(head_of recycler)" = "501 0"
python3 -c "print('{\"pad\": \"' + 'x' * (1100 * 1024) + '\"}')" > "$T/big.json"
code=$(req POST "$R/capture" -H "Authorization: Bearer ${TOKEN[recycler]}" -H 'Content-Type: application/json' --data-binary "@$T/big.json")
check "http: a body above the cap is refused (413 CaptureLimitExceededException)" \
  test "$code $(body 'd["type"]')" = "413 epcisException:CaptureLimitExceededException"

loc=$(capture recycler "$DOC")
check "http: POST /capture answers 202 with Location /capture/{id}" bash -c "[[ '$loc' == /capture/* ]]"
check "http: the recycler's capture job succeeded with its two records" \
  test "$(job recycler "$loc" | json 'd["success"], d["running"], d["kiroku:records"], d["errors"], d["captureErrorBehaviour"], bool(d["finishedAt"])')" \
       = "True False 2 [] rollback True"
check "http: the records reached the processor's node" await_converged 20 recycler processor
loc=$(capture processor "$DOC")
check "http: the processor's capture wrote its receipt and its transform" test "$(job processor "$loc" | json 'd["success"], d["kiroku:records"]')" = "True 3"
check "http: ... which reached the manufacturer's node" await_converged 20 processor manufacturer
loc=$(capture manufacturer "$DOC")
check "http: the manufacturer's capture wrote its receipt and its claim" test "$(job manufacturer "$loc" | json 'd["success"], d["kiroku:records"]')" = "True 2"
M=${URL[manufacturer]}
code=$(req GET "$M/kiroku/v1/lots/SHEET-1")
check "http: GET /kiroku/v1/lots/SHEET-1: 19 t recycled in 47.5 t, from JP and DE, the claim holding (the CLI path's figures)" \
  test "$code $(body 'd["mass_mg"], d["recycled"]["post_consumer_mg"], d["recycled"]["share"], [(o["country"], o["mass_mg"]) for o in d["origins"]], d["claims"][0]["holds"], d["ok"]')" \
       = "200 47500000000 19000000000 0.4 [('DE', 28500000000), ('JP', 19000000000)] True True"
before=$(head_of manufacturer)
loc=$(capture manufacturer "$DOC")
check "http: capturing the same document again succeeds and writes nothing" \
  test "$(job manufacturer "$loc" | json 'd["success"], d["kiroku:records"]') $(head_of manufacturer)" = "True 0 $before"
check "http: GET /capture lists the jobs, newest first" \
  test "$(job manufacturer /capture | json '[j["captureID"] for j in d]')" = "['2', '1']"
check "http: an unknown capture job is 404" test "$(req GET "$M/capture/99")" = 404

# A document that breaks an invariant: accepted (it parses), its job fails with the
# event and the rule, and nothing of it is written.
python3 - "$T/over.jsonld" <<'PY'
import json, sys
ev = [{"type": "ObjectEvent", "eventTime": "2026-12-01T00:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "OBSERVE",
       "bizStep": "shipping", "quantityList": [{"epcClass": "SHEET-1", "quantity": 99, "uom": "TNE"}],
       "destinationList": [{"type": "owning_party", "destination": "urn:epc:id:pgln:4512345.00001"}]}]
json.dump({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"], "type": "EPCISDocument",
           "schemaVersion": "2.0", "epcisBody": {"eventList": ev}}, open(sys.argv[1], "w"))
PY
before=$(head_of manufacturer)
loc=$(capture manufacturer "$T/over.jsonld")
job manufacturer "$loc" > "$T/job.json"
check "http: a document that overspends a lot is accepted, its job fails naming the event and the rule, nothing written" \
  test "$(json 'd["success"], d["errors"][0]["index"], d["errors"][0]["eventID"][:14], "spend exceeds" in d["errors"][0]["detail"]' < "$T/job.json") $(head_of manufacturer)" \
       = "False 0 ni:///sha-256; True $before"

# ---- the events ------------------------------------------------------------------------------
k manufacturer export --epcis > "$T/export.jsonld" 2>/dev/null
ids() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); b=d['epcisBody']; l=b['eventList'] if 'eventList' in b else b['queryResults']['resultsBody']['eventList']; print(' '.join(e['eventID'] + ('d' if 'errorDeclaration' in e else '') for e in l))" "$1"; }
code=$(req GET "$M/events?perPage=1000")
cp "$T/body" "$T/events.json"
check "http: GET /events is the ledger's export: the same events in the same order" \
  test "$code $(ids "$T/events.json")" = "200 $(ids "$T/export.jsonld")"
check "http: ... as an EPCISQueryDocument" \
  test "$(body 'd["type"], d["epcisBody"]["queryResults"]["queryName"]')" = "EPCISQueryDocument SimpleEventQuery"
check "http: ... with its quantities as exact numbers (47.5 t is 47500 kg, no float noise)" \
  grep -q '"quantity": 47500' "$T/events.json"
# pages: follow rel="next" to the end
all=""; next="/events?perPage=2"; pages=0
while [ -n "$next" ] && [ $pages -lt 50 ]; do
  req GET "$M$next" >/dev/null
  all="$all $(ids "$T/body")"
  next=$(hdr Link | sed -n 's/^<\([^>]*\)>; rel="next"$/\1/p')
  pages=$((pages + 1))
done
check "http: pages of two, linked by rel=\"next\", hold every event once, in order ($pages pages)" \
  test "$(echo $all)" = "$(ids "$T/export.jsonld")"
n_type() { req GET "$M/events?$1" >/dev/null; python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(len(d['epcisBody']['queryResults']['resultsBody']['eventList']))" "$T/body"; }
want_type=$(python3 -c "import json,sys; print(sum(e['type']=='TransformationEvent' for e in json.load(open(sys.argv[1]))['epcisBody']['eventList']))" "$T/export.jsonld")
check "http: eventType=TransformationEvent keeps the transformations ($want_type)" test "$(n_type eventType=TransformationEvent)" = "$want_type"
check "http: eventType takes a pipe-separated list" test "$(n_type 'eventType=TransformationEvent%7CObjectEvent')" = "$(n_type perPage=1000)"
check "http: EQ_bizStep matches the bare CBV word and its URI alike" \
  test "$(n_type EQ_bizStep=shipping)" = "$(n_type EQ_bizStep=https%3A%2F%2Fref.gs1.org%2Fcbv%2FBizStep-shipping)"
check "http: ... and there are shipments to match" test "$(n_type EQ_bizStep=shipping)" -gt 0
check "http: EQ_action=ADD keeps the commissionings" test "$(n_type EQ_action=ADD)" -gt 0
check "http: GE_eventTime after every event keeps none" test "$(n_type GE_eventTime=2999-01-01T00:00:00Z)" = 0
check "http: LT_eventTime after every event keeps them all" test "$(n_type 'LT_eventTime=2999-01-01T00:00:00Z&perPage=1000')" = "$(n_type perPage=1000)"
sheet_class=$(python3 -c "
import json,sys
for e in json.load(open(sys.argv[1]))['epcisBody']['eventList']:
  for q in e.get('outputQuantityList', []): print(q['epcClass']); sys.exit()" "$T/export.jsonld")
enc=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$sheet_class")
check "http: MATCH_anyEPCClass finds the sheet's events (its transform, shipment, receipt, claim)" test "$(n_type "MATCH_anyEPCClass=$enc")" -ge 3
check "http: MATCH_epcClass leaves out the transformation that made it (an output, not a quantity)" \
  test "$(n_type "MATCH_epcClass=$enc")" -lt "$(n_type "MATCH_anyEPCClass=$enc")"
check "http: MATCH_anyEPCClass with a trailing * matches by prefix: every event that names a Kiroku lot" \
  test "$(n_type 'MATCH_anyEPCClass=urn%3Akiroku%3Alot%3A*&perPage=1000')" = "$(python3 -c "
import json,sys
ks=('quantityList','childQuantityList','inputQuantityList','outputQuantityList')
print(sum(any(q['epcClass'].startswith('urn:kiroku:lot:') for k in ks for q in e.get(k, [])) for e in json.load(open(sys.argv[1]))['epcisBody']['eventList']))" "$T/export.jsonld")"
check "http: MATCH_epc keeps none: Kiroku's events name lots as classes, never instances" \
  test "$(n_type 'MATCH_epc=urn%3Aepc%3Aid%3Asgtin%3A4512345.012345.1')" = 0
check "http: EQ_action=OBSERVE|ADD (a list) is the sum of each" \
  test "$(n_type 'EQ_action=OBSERVE%7CADD&perPage=1000')" = "$(( $(n_type 'EQ_action=OBSERVE&perPage=1000') + $(n_type 'EQ_action=ADD&perPage=1000') ))"
code=$(req GET "$M/events?EQ_colour=red")
check "http: an unknown query parameter is a 400 QueryParameterException naming it" \
  test "$code $(body 'd["type"]') $(body '"EQ_colour" in d["detail"]')" = "400 epcisException:QueryParameterException True"
check "http: a bad GE_eventTime is a 400" test "$(req GET "$M/events?GE_eventTime=yesterday")" = 400
check "http: a stale nextPageToken is a 400" test "$(req GET "$M/events?nextPageToken=abc")" = 400
first=$(ids "$T/export.jsonld" | cut -d' ' -f1)
efirst=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$first")
code=$(req GET "$M/events/$efirst")
check "http: GET /events/{eventID} (URL-encoded ni:/// id) gives that event" \
  test "$code $(body 'd["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["eventID"]')" = "200 $first"
check "http: EQ_eventID gives the same event" test "$(n_type "EQ_eventID=$efirst")" = 1
check "http: an unknown eventID is 404 NoSuchResourceException" \
  test "$(req GET "$M/events/ni%3A%2F%2F%2Fsha-256%3Babc"; echo " $(body 'd["type"]')")" = "404 epcisException:NoSuchResourceException"
# the event the recycler captured is found by the id it had in the captured document
src=$(k recycler epcis-hash "$DOC" --json | json 'd["events"][0]["hash"]')
esrc=$(python3 -c "import urllib.parse,sys; print(urllib.parse.quote(sys.argv[1], safe=''))" "$src")
code=$(req GET "$M/events/$esrc")
check "http: a captured event is found by its own eventID (kiroku:sourceEvent)" \
  test "$code $(body 'd["epcisBody"]["queryResults"]["resultsBody"]["eventList"][0]["kiroku:sourceEvent"]')" = "200 $src"
check "http: GET /eventTypes lists the types held" \
  test "$(req GET "$M/eventTypes"; echo " $(body 'sorted(d["@set"])')")" = "200 ['ObjectEvent', 'TransformationEvent']"

# POST /events: one event
python3 - "$T/one.json" <<'PY'
import json, sys
json.dump({"@context": ["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", {"kiroku": "urn:kiroku:epcis:"}],
           "type": "ObjectEvent", "eventTime": "2026-12-01T08:00:00Z", "eventTimeZoneOffset": "+00:00", "action": "ADD",
           "bizStep": "commissioning", "quantityList": [{"epcClass": "FLAKE-77", "quantity": 1000, "uom": "KGM"}],
           "ilmd": {"kiroku:material": "PET/flake", "kiroku:postConsumerMass": 1000, "cbvmda:countryOfOrigin": "JP",
                    "kiroku:scheme": "GRS", "kiroku:certificate": "GRS-77"}}, open(sys.argv[1], "w"))
PY
post_one() { req POST "$R/events" -H "Authorization: Bearer ${TOKEN[recycler]}" -H 'Content-Type: application/ld+json' --data-binary "@$T/one.json"; }
code=$(post_one)
loc=$(hdr Location)
check "http: POST /events records one event (201, Location /events/{its eventID})" bash -c "[ '$code' = 201 ] && [[ '$loc' == /events/ni%3A%2F%2F%2Fsha-256* ]]"
check "http: ... which is served at its Location" test "$(req GET "$R$loc")" = 200
check "http: ... and is the recycler's lot FLAKE-77 of 1 t" test "$(k recycler verify FLAKE-77 --json | json 'd["mass_mg"], d["owner"]')" = "1000000000 recycler"
before=$(head_of recycler)
check "http: POST /events of the same event again is 409, nothing written" test "$(post_one) $(head_of recycler)" = "409 $before"

# ---- Kiroku's API: the CLI's objects ---------------------------------------------------------
same() { # NAME PATH CLI-ARGS...: the API's JSON equals the CLI's --json at the manufacturer
  local name=$1 path=$2; shift 2
  req GET "$M/kiroku/v1/$path" >/dev/null
  k manufacturer "$@" --json > "$T/cli.json"
  check "http: GET /kiroku/v1/$path equals kiroku $* --json ($name)" \
    python3 -c "import json,sys; a=json.load(open(sys.argv[1])); b=json.load(open(sys.argv[2])); sys.exit(a != b)" "$T/body" "$T/cli.json"
}
same "the members" members members
same "the verdict" lots/SHEET-1 verify SHEET-1
same "where it came from" lots/SHEET-1/trace trace SHEET-1
first_lot=$(k manufacturer lots --all --json | json 'd[0]["ref"]')   # the recycler's flake
same "where it went" "lots/$first_lot/trace?direction=down" trace "$first_lot" --down
same "the feeds and checkpoints" checkpoints checkpoints
same "the evidence" evidence evidence
flake=${first_lot%%:*}
same "a record" "records/$flake" show "$flake"
req GET "$M/kiroku/v1/lots?perPage=1000" >/dev/null
k manufacturer lots --all --json > "$T/cli.json"
check "http: GET /kiroku/v1/lots lists every lot as kiroku lots --all --json does" \
  python3 -c "import json,sys; a=json.load(open(sys.argv[1]))['lots']; b=json.load(open(sys.argv[2])); sys.exit(a != b)" "$T/body" "$T/cli.json"
check "http: lots?code=sheet finds SHEET-1 (case ignored) and nothing else" \
  test "$(req GET "$M/kiroku/v1/lots?code=sheet" >/dev/null; body 'sorted(set(l["code"] for l in d["lots"]))')" = "['SHEET-1']"
check "http: lots?held=1 lists only lots with mass left" \
  test "$(req GET "$M/kiroku/v1/lots?held=1" >/dev/null; body 'all(l["available_mg"] > 0 for l in d["lots"]) and len(d["lots"]) > 0')" = True
all=""; next="/kiroku/v1/lots?perPage=2"; pages=0
while [ -n "$next" ] && [ $pages -lt 50 ]; do
  req GET "$M$next" >/dev/null
  all="$all $(body '" ".join(l["ref"] for l in d["lots"])')"
  next=$(hdr Link | sed -n 's/^<\([^>]*\)>; rel="next"$/\1/p')
  pages=$((pages + 1))
done
check "http: lots in pages of two hold every lot once, in order" \
  test "$(echo $all)" = "$(json '" ".join(l["ref"] for l in d)' < "$T/cli.json")"
check "http: lots/{ref} of an unknown lot is 404 with what it may have meant" \
  test "$(req GET "$M/kiroku/v1/lots/SHET-1"; echo " $(body '"SHEET-1" in d["detail"]')")" = "404 True"
check "http: lots/{ref}?claim=50% checks a claim that does not fit (holds false)" \
  test "$(req GET "$M/kiroku/v1/lots/SHEET-1?claim=50%25" >/dev/null; body 'd["claim_checked"]["holds"]')" = False
code=$(req GET "$M/kiroku/v1/lots/SHEET-1/bundle")
cp "$T/body" "$T/sheet.bundle"
check "http: lots/{ref}/bundle is a proof bundle that verifies offline to the same figures" \
  bash -c "[ '$code' = 200 ] && [ '$(hdr Content-Type)' = application/octet-stream ] &&
    '$K' verify-bundle '$T/sheet.bundle' --genesis '$T/registry/genesis.bin' --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(d['recycled']['post_consumer_mg'] != 19000000000)\""
check "http: status is the node's own (its HTTP address in it)" \
  test "$(req GET "$M/kiroku/v1/status" >/dev/null; body 'd["http"]')" = "$M"
check "http: an unknown API path is 404 problem+json" \
  test "$(req GET "$M/kiroku/v1/nope") $(hdr Content-Type)" = "404 application/problem+json"
check "http: POST on a read-only path is 405 with Allow" test "$(req POST "$M/kiroku/v1/members") $(hdr Allow)" = "405 GET"

# every path the OpenAPI document names is answered
req GET "$M/kiroku/v1/openapi.json" >/dev/null
cp "$T/body" "$T/openapi.json"
check "http: openapi.json is OpenAPI 3 and names this server" \
  test "$(body 'd["openapi"][:2], d["servers"][0]["url"]')" = "3. $M"
missing=""
for p in $(json '" ".join(d["paths"])' < "$T/openapi.json"); do
  p=${p//\{ref\}/SHEET-1}; p=${p//\{id\}/${flake:0:12}}; p=${p//\{captureID\}/1}; p=${p//\{eventID\}/$efirst}
  code=$(req GET "$M$p")
  [ "$code" = 404 ] || [ "$code" -ge 500 ] && missing="$missing $p:$code"
done
check "http: every path of openapi.json answers GET (none 404 or 5xx)${missing:+:$missing}" test -z "$missing"

# ---- Kiroku's writes: the command line's arguments, rules and errors ---------------------------
P=${URL[processor]}
post() { # WHO OP JSON
  req POST "${URL[$1]}/kiroku/v1/$2" -H "Authorization: Bearer ${TOKEN[$1]}" -H 'Content-Type: application/json' --data "$3"
}
issue='{"lot": "FLAKE-H", "material": "PET/flake", "mass": "10t", "post-consumer": "10t", "origin": "JP", "scheme": "GRS", "certificate": "GRS-H"}'
code=$(req POST "$R/kiroku/v1/issue" -H 'Content-Type: application/json' --data "$issue")
check "http: a write without the token is 401, nothing written" test "$code $(head_of recycler)" = "401 $(head_of recycler)"
before=$(head_of recycler)
code=$(post recycler issue "$issue")
check "http: POST /kiroku/v1/issue writes the lot (201, Location of its record, the CLI's --json report)" \
  test "$code $(hdr Location | cut -c1-19) $(body 'd["kind"], len(d["lots"])') $(head_of recycler)" = "201 /kiroku/v1/records/ issue 1 $((before + 1))"
check "http: ... and the lot verifies: 10 t, all post-consumer" \
  test "$(req GET "$R/kiroku/v1/lots/FLAKE-H" >/dev/null; body 'd["mass_mg"], d["recycled"]["share"]')" = "10000000000 1.0"
before=$(head_of recycler)
code=$(post recycler issue "$issue")
check "http: the same lot code again is refused by the rules (400 urn:kiroku:problem:dup-code), nothing written" \
  test "$code $(body 'd["type"]') $(head_of recycler)" = "400 urn:kiroku:problem:dup-code $before"
k recycler issue --lot FLAKE-H --material PET/flake --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate GRS-H > /dev/null 2> "$T/cli.err"
check "http: ... the error the command line gives (exit 2, the same message)" \
  bash -c "grep -qF \"$(body 'd["title"]')\" '$T/cli.err'"
code=$(post recycler issue '{"lot": "X-1", "material": "PET", "mass": "1t", "origin": "JP", "scheme": "S", "certificate": "C"}')
check "http: a missing argument is a 400 naming it (post-consumer)" \
  test "$code $(body '"missing post-consumer" in d["detail"]')" = "400 True"
code=$(post recycler issue '{"lot": "X-1", "material": "PET", "mass": "1t", "post-consumer": "1t", "origin": "jp", "scheme": "S", "certificate": "C"}')
check "http: a country code that is not one is a 400 suggesting JP" \
  test "$code $(body 'd["type"], "JP (Japan)" in d["detail"]')" = "400 urn:kiroku:problem:country True"
code=$(post recycler issue '{"lot": "X-1", "material": "PET", "mass": 1000, "post-consumer": "1t", "origin": "JP", "scheme": "S", "certificate": "C"}')
check "http: a quantity as a bare number is refused (give it with its unit)" test "$code $(body '"unit" in d["detail"]')" = "400 True"
code=$(post recycler issue '{"lot": "X-1", "colour": "red"}')
check "http: an unknown argument is a 400 listing the ones issue takes" test "$code $(body '"colour" in d["detail"] and "post-consumer" in d["detail"]')" = "400 True"
code=$(post recycler transfer '{"lot": "FLAKE-J", "mass": "1t", "to": "processor"}')
check "http: a transfer of an unknown lot is a 404 that says what was meant" \
  test "$code $(body 'd["type"], "FLAKE-H" in d["detail"]')" = "404 urn:kiroku:problem:unknown-lot True"
code=$(post recycler transfer '{"lot": "FLAKE-H", "mass": "10t", "to": "processor"}')
check "http: POST transfer ships it (201)" test "$code $(body 'd["kind"]')" = "201 transfer"
xfer=$(body 'd["record"]')
check "http: the transfer reached the processor" await_record processor "$xfer" 20
code=$(post processor receive '{"all": true}')
check "http: POST receive {all: true} receives it (201, [{transfer, record, lot}])" \
  test "$code $(body 'len(d), d[0]["transfer"] == "'"$xfer"'"')" = "201 1 True"
code=$(post processor receive '{"all": true}')
check "http: ... and again there is nothing pending (200, [])" test "$code $(body 'len(d)')" = "200 0"
code=$(post processor transform '{"model": "segregated", "in": ["FLAKE-H=10t"], "out": ["SHEET-H:PET/sheet=9.5t"], "process": "extrusion"}')
check "http: POST transform with arrays of in and out makes the sheet (201, one lot)" test "$code $(body 'd["kind"], len(d["lots"])')" = "201 transform 1"
code=$(post processor transform '{"model": "segregated", "in": ["SHEET-H=9.5t"], "out": ["TRAY-H:PET/tray=10t"]}')
check "http: a transform that makes mass is refused by the rules (conservation), with the figures" \
  test "$code $(body 'd["type"], "9.5 t" in d["detail"] or "9.5t" in d["detail"]')" = "400 urn:kiroku:problem:conservation True"
code=$(post processor transfer '{"lot": "SHEET-H", "mass": "9.5t", "to": "manufacturer"}')
xfer=$(body 'd["record"]')
check "http: the sheet ships to the manufacturer (201)" test "$code" = 201
check "http: ... and arrives" await_record manufacturer "$xfer" 20
code=$(post manufacturer receive "{\"transfer\": \"${xfer:0:12}\"}")
check "http: POST receive {transfer: ID prefix} receives that one" test "$code $(body 'len(d)')" = "201 1"
code=$(post manufacturer claim '{"lot": "SHEET-H", "recycled": "60%", "scope": "EU 2027"}')
check "http: POST claim 60 % of the sheet (201)" test "$code $(body 'd["kind"]')" = "201 claim"
claim=$(body 'd["record"]')
before=$(head_of manufacturer)
code=$(post manufacturer claim '{"lot": "SHEET-H", "recycled": "50%", "scope": "more"}')
check "http: a claim above the verified unclaimed content is refused with the figures, nothing written" \
  test "$code $(body 'd["type"], "is verified and unclaimed" in d["detail"]') $(head_of manufacturer)" = "400 urn:kiroku:problem:claim-exceeds True $before"
sheet_h=$(req GET "$M/kiroku/v1/lots/SHEET-H" >/dev/null; body 'd["lot"].split(":")[0]')
code=$(post manufacturer incident "{\"kind\": \"quality\", \"about\": \"$sheet_h\", \"text\": \"label misprinted\"}")
check "http: POST incident (201)" test "$code $(body 'd["kind"]')" = "201 incident"
code=$(post manufacturer revoke "{\"record\": \"$claim\", \"reason\": \"label withdrawn\"}")
check "http: POST revoke withdraws the claim (201); the lot's verdict shows it revoked, and the incident" \
  test "$code $(req GET "$M/kiroku/v1/lots/SHEET-H" >/dev/null; body '[c["revoked"] for c in d["claims"]], len(d["incidents"])')" = "201 [True] 1"
check "http: GET on a write path is 405 with Allow: POST" test "$(req GET "$M/kiroku/v1/claim") $(hdr Allow)" = "405 POST"

# ---- pages (rendered in a browser by tests/net/http_clients.sh) ------------------------------
page() { curl -s -H 'Accept: text/html' -o "$T/page.html" -w '%{http_code} %{content_type}' "$M$1"; }
has() { grep -q -- "$1" "$T/page.html"; }
got=$(page /)
check "http: a browser asking for / gets the explorer (HTML), every lot listed" \
  bash -c "[ '$got' = '200 text/html; charset=utf-8' ] && grep -q SHEET-1 '$T/page.html' && grep -q FLAKE-H '$T/page.html'"
page '/?code=flake-h' >/dev/null
check "http: ... a search by code keeps the lots that match" bash -c "grep -q FLAKE-H '$T/page.html' && ! grep -q '>SHEET-1<' '$T/page.html'"
page '/?from=100000' >/dev/null
check "http: ... a page past the last lot has none" has 'no lots'
got=$(page /ui/lots/SHEET-1)
check "http: a lot's page draws its provenance (SVG) and states its verdict" \
  bash -c "[ '${got%% *}' = 200 ] && grep -q '<svg' '$T/page.html' && grep -q 'OK: nothing tainted' '$T/page.html'"
got=$(page /ui/lots/SHET-1)
check "http: an unknown lot's page is a 404 page saying what was meant" bash -c "[ '${got%% *}' = 404 ] && grep -q SHEET-1 '$T/page.html'"
check "http: pages load nothing from anywhere (Content-Security-Policy default-src 'none')" \
  bash -c "curl -s -D - -o /dev/null -H 'Accept: text/html' '$M/' | grep -qi \"^content-security-policy: default-src 'none'\""
check "http: a lot code with markup in it is escaped on every page" bash -c "
  code=\$(curl -s -o /dev/null -w '%{http_code}' -X POST '$R/kiroku/v1/issue' -H 'Authorization: Bearer ${TOKEN[recycler]}' \
    -H 'Content-Type: application/json' --data '{\"lot\": \"<b>X</b>\", \"material\": \"PET\", \"mass\": \"1t\", \"post-consumer\": \"1t\", \"origin\": \"JP\", \"scheme\": \"S\", \"certificate\": \"C\"}')
  [ \"\$code\" = 201 ] && curl -s -H 'Accept: text/html' '$R/' | grep -q '&lt;b&gt;X&lt;/b&gt;' && ! curl -s -H 'Accept: text/html' '$R/' | grep -q '<b>X</b>'"

# ---- the token ---------------------------------------------------------------------------------
check "http: the token file is the owner's alone (0600)" test "$(stat -c %a "$T/recycler/http.token")" = 600
old=${TOKEN[recycler]}
TOKEN[recycler]=$(k recycler http-token --rotate 2>/dev/null)
code=$(req POST "$R/capture" -H "Authorization: Bearer $old" -H 'Content-Type: application/ld+json' --data-binary "@$DOC")
check "http: after http-token --rotate the old token is refused at once" test "$code" = 401
loc=$(capture recycler "$DOC")
check "http: ... and the new one works (the document is held already: nothing new)" \
  test "$(job recycler "$loc" | json 'd["success"], d["kiroku:records"]')" = "True 0"

# ---- slow requests are cut off -----------------------------------------------------------------
port=${R##*:}
cut_off() {
  exec 3<>"/dev/tcp/127.0.0.1/$port" || return 1
  printf 'POST /capture HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{' >&3
  # the server closes the connection once it has been idle http_timeout_s (2 s)
  timeout 20 cat <&3 >/dev/null
  local rc=$?
  exec 3>&-
  [ $rc = 0 ]
}
check "http: a request that stops sending is cut off after http_timeout_s" cut_off
check "http: ... and the server still answers" test "$(req GET "$R/")" = 200
check "http: no node logged an error (nor a sanitizer a fault)" bash -c "! grep -h ' ERROR \|Sanitizer' '$T'/*.log"
finish
