#!/usr/bin/env bash
# Verdicts a buyer can rely on (issue 10 §2) and refusals that say what to do (§5):
# taint fails verify and verify-bundle's lot, text and --json agree, claims stay within
# what is verified and unclaimed, transfers and receipts of tainted lots warn, lists
# show verified shares, incidents are listed; refusals name the figures.
source "$(dirname "$0")/lib.sh"
network
flake_to_processor
k processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-1:PET=47.5t >/dev/null
k processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer >/dev/null
replicate; k manufacturer receive --all >/dev/null

# --claim P holds only when P fits in what is not claimed yet (40 % recycled).
check "verdicts: an untainted lot passes (exit 0, OK)" bash -c "'$K' -C '$T/manufacturer' verify SHEET-1 | tail -1 | grep -q '^OK'"
check "verdicts: a claim of 30 %" k manufacturer claim --lot SHEET-1 --recycled 30% --scope "trays"
rc=0; k manufacturer verify SHEET-1 --claim 20% > "$T/out" || rc=$?
check "verdicts: verify --claim 20% fails once 30 % is claimed (exit 1)" bash -c "[ $rc = 1 ] && grep -q 'DOES NOT HOLD' '$T/out'"
check "verdicts: verify --claim 10% still fits (exit 0)" k manufacturer verify SHEET-1 --claim 10%
refused "verdicts: claim refuses a share above the unclaimed content" manufacturer claim --lot SHEET-1 --recycled 11% --scope x
check "verdicts: ... naming the figures" grep -q "unclaimed" "$T/.refused"

# An incident about the flake's certificate shows up downstream.
k processor incident --kind quality --about "$FLAKE" --text "moisture above spec" >/dev/null
replicate
check "verdicts: verify lists the incident about a record upstream" \
  test "$(k manufacturer verify SHEET-1 --json | json '[(i["kind"], i["text"], i["author_name"]) for i in d["incidents"]]')" \
       = "[('quality', 'moisture above spec', 'processor')]"
check "verdicts: ... and so does trace" \
  test "$(k manufacturer trace SHEET-1 --json | json '[i["text"] for i in d["incidents"]]')" = "['moisture above spec']"
check "verdicts: ... also in text" bash -c "'$K' -C '$T/manufacturer' verify SHEET-1 | grep -q 'quality by processor about'"
# ... and about the transfer that moved the flake, and about the recycler (a member of
# the provenance); one about a record elsewhere is not listed.
xfer=$(k recycler log --feed recycler --json | json '[r["id"] for r in d if r["kind"] == "transfer"][0]')
recycler_key=$(k recycler members --json | json '[m["key"] for m in d if m["name"] == "recycler"][0]')
k recycler issue --lot ELSEWHERE --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate GRS-9 >/dev/null
other=$(k recycler log --feed recycler --json | json '[r["id"] for r in d if r["kind"] == "issue"][-1]')
k processor incident --kind custody --about "$xfer" --text "seal broken on arrival" >/dev/null
k processor incident --kind audit --about "$recycler_key" --text "site audit due" >/dev/null
k processor incident --kind quality --about "$other" --text "not upstream" >/dev/null
replicate
check "verdicts: verify lists incidents about a transfer and a member upstream, not others" \
  test "$(k manufacturer verify SHEET-1 --json | json 'sorted(i["text"] for i in d["incidents"])')" \
       = "['moisture above spec', 'seal broken on arrival', 'site audit due']"

# A revocation upstream: verify fails, text and JSON agree, never "OK".
k certifier revoke --record "$FLAKE" --reason "forged weighing slips" >/dev/null
replicate
rc=0; k manufacturer verify SHEET-1 > "$T/v.txt" || rc=$?
k manufacturer verify SHEET-1 --json > "$T/v.json" || true
check "verdicts: a tainted lot fails verify (exit 1)" test "$rc" = 1
check "verdicts: ... and the text never says OK" bash -c "! grep -q '^OK' '$T/v.txt' && tail -1 '$T/v.txt' | grep -q '^FAILED: .*revoked certificates'"
check "verdicts: --json says passed false, with the reason" \
  test "$(json 'd["passed"], d["ok"], d["claims_hold"], len(d["reasons"]) > 0, d["tainted"]["revoked_mg"]' < "$T/v.json")" \
       = "False False False True 19000000000"
check "verdicts: text and --json agree on the revoked certificate's mass" bash -c "
  grep -q 'GRS GRS-1 by recycler .*: 19 t recycled, .*REVOKED' '$T/v.txt' &&
  [ \"\$(python3 -c 'import json; c=json.load(open(\"$T/v.json\"))[\"certificates\"][0]; print(c[\"recycled_mg\"], c[\"counted_mg\"], c[\"revoked\"])')\" = '19000000000 0 True' ]"
check "verdicts: lots shows the verified share and marks the lot" bash -c \
  "'$K' -C '$T/manufacturer' lots | grep SHEET-1 | grep -q '40 % *0 % .*TAINTED'"
check "verdicts: lots --json agrees with verify --json" \
  test "$(k manufacturer lots --json | json '[(l["verified"]["share_ppm"], l["tainted_mg"]) for l in d if l["code"] == "SHEET-1"]')" \
       = "[(0, 19000000000)]"
check "verdicts: trace marks the revoked certificate and the tainted lots" bash -c \
  "'$K' -C '$T/manufacturer' trace SHEET-1 | grep -q 'REVOKED' && [ \$('$K' -C '$T/manufacturer' trace SHEET-1 | grep -c TAINTED) -ge 3 ]"
check "verdicts: show marks the revoked record and its lot" bash -c \
  "'$K' -C '$T/manufacturer' show '$FLAKE' | grep -q '^REVOKED by' && '$K' -C '$T/manufacturer' show '$FLAKE' | grep -q 'TAINTED'"
refused "verdicts: no claim on tainted content (exit 2, nothing written)" manufacturer claim --lot SHEET-1 --recycled 1% --scope x
check "verdicts: ... the refusal names the verified unclaimed share and the taint" \
  bash -c "grep -q 'only 0 mg .* is verified and unclaimed' '$T/.refused' && grep -q 'tainted' '$T/.refused'"
k manufacturer transfer --lot SHEET-1 --mass 1t --to processor >/dev/null 2>"$T/warn"
check "verdicts: shipping a tainted lot warns on stderr" grep -q "warning: lot SHEET-1 is tainted" "$T/warn"
replicate
k processor receive --all >/dev/null 2>"$T/warn2"
check "verdicts: ... and so does receiving it" grep -q "warning: the lot being received (SHEET-1) is tainted" "$T/warn2"

# Refusals that quantify.
refused "verdicts: an over-spend" processor transfer --lot SHEET-1 --mass 2t --to manufacturer
check "verdicts: ... names what is left" grep -q "has 1 t left (of 1 t); the transfer asks for 2 t" "$T/.refused"
k recycler issue --lot FLAKE-3 --material PET --mass 20t --post-consumer 20t --origin JP --scheme GRS --certificate GRS-3 >/dev/null
k recycler transfer --lot FLAKE-3 --mass 20t --to processor >/dev/null
replicate; k processor receive --all >/dev/null 2>&1
refused "verdicts: a mass-balance overdraft" processor \
  transform --model mass-balance --in FLAKE-3=20t --unledgered PET=30t@DE --out A:PET=20t,post=20t --out B:PET=27.5t
check "verdicts: ... names the limit after the yield" grep -q "yield of 95 %.*at most 19 t post-consumer" "$T/.refused"
refused "verdicts: an unknown lot code" processor transfer --lot FLAKE3 --mass 1t --to manufacturer
check "verdicts: ... suggests the closest codes held" grep -q "did you mean FLAKE-3" "$T/.refused"
refused "verdicts: a missing option" recycler issue --lot X --material PET --mass 1t
check "verdicts: ... is named" grep -q "missing --post-consumer Q" "$T/.refused"
refused "verdicts: a country code that does not exist" recycler \
  issue --lot X --material PET --mass 1t --post-consumer 1t --origin UK --scheme S --certificate C
check "verdicts: ... suggests the nearest" grep -q "did you mean GB (United Kingdom)" "$T/.refused"
refused "verdicts: a country name for a code" recycler \
  issue --lot X --material PET --mass 1t --post-consumer 1t --origin Japan --scheme S --certificate C
check "verdicts: ... says which code" grep -q "Japan is JP" "$T/.refused"
refused "verdicts: an unknown country in an unledgered input" processor \
  transform --model controlled-blending --in FLAKE-3=1t --unledgered PET=1t@XX --out C:PET=2t
refused "verdicts: a material that is neither GROUP nor GROUP/FORM" recycler \
  issue --lot X --material PET/ --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C
check "verdicts: audit passes" k manufacturer audit
finish
