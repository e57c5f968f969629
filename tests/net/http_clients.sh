#!/usr/bin/env bash
# The HTTP interface with clients nobody here wrote: evrythng's epcis2.js (from npm)
# captures the worked example party by party — its document validation, its capture
# request, its polling of the capture job — and a refused document; then Debian's
# Chromium (driven by playwright-core) renders the explorer, a lot's page and the
# passport (served, and written by `kiroku passport`) with no console error, showing
# the lot code and its verified share; screenshots are kept under the scratch folder
# ($T/screens, KEEP=1 to keep it). The passport is self-contained, and the proof bundle
# inside it verifies offline to its figures. Each part is skipped, with a message, only
# where npm's registry cannot be reached or Chromium cannot be installed.
source "$(dirname "$0")/lib.sh"
HERE=$(cd "$(dirname "$0")" && pwd)
# The worked example as an EPCIS document (tests/cli/data/worked-example.jsonld) names the
# sheet by its bare lot code, which Kiroku's import accepts but the EPCIS schema does not
# (an epcClass is a URI): the copy given to epcis2.js names it by its class.
DOC=$T/worked-example.jsonld
python3 - "$HERE/../cli/data/worked-example.jsonld" "$DOC" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
for e in d["epcisBody"]["eventList"]:
    for q in e.get("quantityList", []):
        if q["epcClass"] == "SHEET-1": q["epcClass"] = "urn:epc:class:lgtin:4512345.012346.SHEET1"
json.dump(d, open(sys.argv[2], "w"), indent=1)
PY
NPM_DIR=${KIROKU_NPM_DIR:-$(cd "$HERE/../.." && pwd)/build/npm}
skip() { echo "# skipped: $*"; }

# The clients, installed once into build/npm. npm has no package "fs", which epcis2.js
# names as a dependency (a placeholder: Node has fs built in); an override points it at
# an empty package.
npm_ready() {
  [ -d "$NPM_DIR/node_modules/epcis2.js" ] && [ -d "$NPM_DIR/node_modules/playwright-core" ] && return 0
  command -v npm >/dev/null || return 1
  mkdir -p "$NPM_DIR/fs-stub"
  echo '{"name": "fs", "version": "0.0.1-security", "description": "placeholder: node has fs built in"}' > "$NPM_DIR/fs-stub/package.json"
  cat > "$NPM_DIR/package.json" <<'EOF'
{ "name": "kiroku-test-clients", "private": true, "version": "1.0.0",
  "dependencies": { "epcis2.js": "2.7.3", "playwright-core": "^1.40.0" },
  "overrides": { "fs": "file:./fs-stub" } }
EOF
  (cd "$NPM_DIR" && timeout 600 npm install --no-audit --no-fund --silent >"$T/npm.log" 2>&1)
}
have_npm=1
npm_ready || { have_npm=0; skip "npm's registry cannot be reached (or npm is missing): $(tail -1 "$T/npm.log" 2>/dev/null)"; }
have_chromium=1
if ! command -v chromium >/dev/null; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$T/apt.log" 2>&1 ||
      { apt-get update -qq >/dev/null 2>&1; DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >"$T/apt.log" 2>&1; }
  fi
  command -v chromium >/dev/null || { have_chromium=0; skip "Debian's chromium cannot be installed: $(tail -1 "$T/apt.log" 2>/dev/null)"; }
fi
[ $have_npm = 0 ] && finish

# The parties with their GLNs, each node serving HTTP.
gs1_network
for n in recycler processor manufacturer; do NODE_ARGS[$n]="--http 127.0.0.1:0"; done
start_node registry
start_node recycler registry
start_node processor registry recycler
start_node manufacturer registry recycler processor
declare -A URL TOKEN
for n in recycler processor manufacturer; do
  URL[$n]=$(k "$n" status --json | json 'd["http"]')
  TOKEN[$n]=$(k "$n" http-token)
done
client() { (cd "$NPM_DIR" && NODE_PATH="$NPM_DIR/node_modules" timeout 120 node "$HERE/clients/$1" "${@:2}"); }

# ---- epcis2.js captures the worked example ---------------------------------------------------
captured() { # WHO RECORDS: epcis2.js captures the document at WHO's node; the job succeeds with RECORDS records
  client epcis2_capture.js "${URL[$1]}" "${TOKEN[$1]}" "$DOC" > "$T/cap.json" 2>"$T/cap.err"
  local job
  job=$(json 'd.get("location", "")' < "$T/cap.json")
  python3 -c "import json,sys; d=json.load(open(sys.argv[1])); sys.exit(not (d.get('status') == 202 and d.get('success') is True and d.get('running') is False and d.get('errors') == []))" "$T/cap.json" &&
    [ "$(curl -s "${URL[$1]}$job" | json 'd["kiroku:records"]')" = "$2" ]
}
check "http clients: epcis2.js validates the worked example and captures it at the recycler's node (202, the job polled to success)" captured recycler 2
check "http clients: ... whose records reach the processor" await_converged 20 recycler processor
check "http clients: epcis2.js captures it at the processor's node (its receipt and transform)" captured processor 3
check "http clients: ... whose records reach the manufacturer" await_converged 20 processor manufacturer
check "http clients: epcis2.js captures it at the manufacturer's node (its receipt and claim)" captured manufacturer 2
python3 - "$DOC" "$T/over.jsonld" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
ev = [e for e in d["epcisBody"]["eventList"] if e.get("bizStep") == "shipping"][0]
ev["quantityList"][0]["quantity"] = 1000000   # far more than the lot holds
ev["eventTime"] = "2026-12-01T23:00:00Z"
d["epcisBody"]["eventList"] = [ev]
json.dump(d, open(sys.argv[2], "w"))
PY
before=$(k recycler log --feed recycler --json | json 'len(d)')
client epcis2_capture.js "${URL[recycler]}" "${TOKEN[recycler]}" "$T/over.jsonld" > "$T/cap.json" 2>"$T/cap.err"
check "http clients: a document that overspends: epcis2.js sees the job fail with the reason in errors, nothing written" \
  python3 -c "
import json,sys
d=json.load(open(sys.argv[1]))
assert d.get('success') is False and d.get('running') is False, d
assert any('spend exceeds' in e.get('detail', '') for e in d['errors']), d
assert sys.argv[2] == sys.argv[3], (sys.argv[2], sys.argv[3])" "$T/cap.json" "$before" "$(k recycler log --feed recycler --json | json 'len(d)')"
M=${URL[manufacturer]}
check "http clients: the sheet verifies to the worked example's figures (40 %)" \
  test "$(curl -s "$M/kiroku/v1/lots/SHEET-1" | json 'd["recycled"]["share_ppm"], d["ok"]')" = "400000 True"

# ---- the passport ----------------------------------------------------------------------------
# A bundle needs every feed's checkpoint, witnessed: the nodes do that on their own.
provable() { k manufacturer prove SHEET-1 > "$T/sheet.bundle" 2>/dev/null; }
await() { local i; for i in $(seq 1 200); do "$@" && return 0; sleep 0.1; done; "$@"; }
check "http clients: the nodes witness each other's checkpoints (the sheet's proof bundle can be made)" await provable
check "http clients: kiroku passport writes the page (exit 0: the lot passes) with its proof bundle" \
  bash -c "'$K' -C '$T/manufacturer' passport SHEET-1 --html '$T/passport.html' > '$T/passport.out' && grep -q 'proof bundle inside it, SHA-256' '$T/passport.out'"
check "http clients: the passport is self-contained: nothing it loads comes from elsewhere" \
  bash -c "! grep -Eq '(src|href)=\"(https?:|//|/)' '$T/passport.html'"
python3 - "$T/passport.html" "$T/inside.bundle" <<'PY'
import base64, re, sys
page = open(sys.argv[1]).read()
m = re.search(r'href="data:application/octet-stream;base64,([^"]+)"', page)
open(sys.argv[2], "wb").write(base64.b64decode(m.group(1)) if m else b"")
PY
digest=$(sha256sum "$T/inside.bundle" | cut -d' ' -f1)
check "http clients: the bundle inside the passport has the SHA-256 the page states" grep -q "$digest" "$T/passport.html"
check "http clients: ... and verifies offline to the page's figures (19 t recycled)" \
  bash -c "'$K' verify-bundle '$T/inside.bundle' --genesis '$T/registry/genesis.bin' --witnesses 2 --json | python3 -c \"import json,sys; d=json.load(sys.stdin); sys.exit(d['recycled']['post_consumer_mg'] != 19000000000)\""
curl -s "$M/kiroku/v1/lots/SHEET-1/passport" -o "$T/served-passport.html" -D "$T/hdr"
check "http clients: the node serves the passport too (text/html, its proof bundle inside)" \
  bash -c "grep -qi '^content-type: text/html' '$T/hdr' && grep -q 'data:application/octet-stream;base64,' '$T/served-passport.html'"

# ---- in a browser ----------------------------------------------------------------------------
if [ $have_chromium = 1 ]; then
  mkdir -p "$T/screens"
  sheet=$(curl -s "$M/kiroku/v1/lots/SHEET-1" | json 'd["lot"]')
  CHROMIUM=$(command -v chromium) client browse.js "$T/screens" \
    "$M/::Lots|SHEET-1|FLAKE1" \
    "$M/?code=sheet::SHEET-1" \
    "$M/ui/lots/$sheet::Lot SHEET-1|40 %|OK: nothing tainted|GRS|DE|JP" \
    "$M/ui/members::manufacturer|recycler|4512345000011" \
    "$M/ui/checkpoints::Feeds and checkpoints|manufacturer" \
    "$M/kiroku/v1/lots/SHEET-1/passport::product passport|Lot SHEET-1|40 %|SHA-256" \
    "$T/passport.html::SHEET-1|40 %|Check it yourself" > "$T/browse.json" 2>"$T/browse.err"
  names=("the explorer's home" "a search by code" "the sheet's page" "the members" "the checkpoints" "the served passport" "the passport file")
  i=0
  while IFS= read -r line; do
    check "http clients: Chromium renders ${names[$i]} with no console error and shows what it should" python3 -c "
import json,sys
d=json.loads(sys.argv[1])
assert not d['problems'] and not d['missing'] and d['status'] in (200, None, 0), d" "$line"
    i=$((i + 1))
  done < "$T/browse.json"
  check "http clients: every page was rendered (${#names[@]})" test "$i" = "${#names[@]}"
  check "http clients: the lot's page and the passport draw the provenance as SVG" \
    python3 -c "import json,sys; l=[json.loads(x) for x in open(sys.argv[1])]; sys.exit(not (l[2]['svg'] >= 1 and l[6]['svg'] >= 1))" "$T/browse.json"
  check "http clients: a screenshot of each is kept under the scratch folder" bash -c "[ \$(ls '$T/screens'/*.png | wc -l) = ${#names[@]} ]"
  [ -s "$T/browse.err" ] && sed 's/^/    /' "$T/browse.err" | head -5
fi
check "http clients: no node logged an error (nor a sanitizer a fault)" bash -c "! grep -h ' ERROR \|Sanitizer' '$T'/*.log"
finish
