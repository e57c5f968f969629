#!/usr/bin/env bash
# The worked example of DOMAIN.md through the CLI, checked through --json.
source "$(dirname "$0")/lib.sh"
network
flake_to_processor
check "cli: lots --json lists the received flake" \
  bash -c "[ \"\$('$K' -C '$T/processor' lots --json | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d[0][\"code\"], d[0][\"mass_mg\"], d[0][\"available_mg\"], d[0][\"recycled\"][\"post_consumer_mg\"], d[0][\"model\"])')\" = 'FLAKE-1 20000000000 20000000000 20000000000 segregated' ]"
k processor transform --model controlled-blending --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-1:PET=47.5t >/dev/null
k processor verify SHEET-1 --json > "$T/v.json"
check "cli: controlled blending gives 19 t recycled in 47.5 t (40 %)" \
  test "$(json 'd["mass_mg"], d["recycled"]["post_consumer_mg"], d["recycled"]["pre_consumer_mg"], d["recycled"]["share"], d["model"], d["ok"]' < "$T/v.json")" \
       = "47500000000 19000000000 0 0.4 controlled-blending True"
check "cli: origins attribute 60 % of the mass to DE and all recycled mass to JP" \
  test "$(json '[(o["country"], o["mass_mg"], o["recycled_mg"]) for o in d["origins"]]' < "$T/v.json")" \
       = "[('DE', 28500000000, 0), ('JP', 19000000000, 19000000000)]"
check "cli: the certificate is named with its recycled share" \
  test "$(json '[(c["record"], c["scheme"], c["certificate"], c["issuer_name"], c["recycled_mg"]) for c in d["certificates"]]' < "$T/v.json")" \
       = "[('$FLAKE', 'GRS', 'GRS-1', 'recycler', 19000000000)]"
check "cli: verify --claim 40% holds" k processor verify SHEET-1 --claim 40%
rc=0; k processor verify SHEET-1 --claim 40.0001% >/dev/null || rc=$?
[ $rc = 1 ] && ok "cli: verify --claim 40.0001% exits 1" || notok "cli: verify --claim 40.0001% exits 1 (got $rc)"

# Mass balance on a second flake: 19 t at 100 % and 28.5 t at 0 %.
k recycler issue --lot FLAKE-2 --material PET --mass 20t --post-consumer 20t --origin JP --scheme GRS --certificate GRS-2 >/dev/null
k recycler transfer --lot FLAKE-2 --mass 20t --to processor >/dev/null
replicate; k processor receive --all >/dev/null
check "cli: mass balance allocates 19 t of credit to one output" \
  k processor transform --model mass-balance --in FLAKE-2=20t --unledgered PET=30t@DE \
    --out MB-A:PET=19t,post=19t --out MB-B:PET=28.5t
check "cli: the mass-balance output is 100 % (mass balance)" \
  test "$(k processor verify MB-A --json | json 'd["recycled"]["share"], d["model"]')" = "1.0 mass-balance"

# Downstream: transfer, receive, claim once, revoke, taint.
k processor transfer --lot SHEET-1 --mass 47.5t --to manufacturer >/dev/null
replicate; k manufacturer receive --all >/dev/null
check "cli: the manufacturer claims 40 %" k manufacturer claim --lot SHEET-1 --recycled 40% --scope "trays"
refused "cli: a second claim on the same mass is refused" manufacturer claim --lot SHEET-1 --recycled 1% --scope "again"
check "cli: trace walks back to the certificate and the unledgered input" \
  bash -c "'$K' -C '$T/manufacturer' trace SHEET-1 | grep -q 'certificate GRS GRS-1, JP' && '$K' -C '$T/manufacturer' trace SHEET-1 | grep -q 'unledgered PET from DE'"
check "cli: trace --down from the flake reaches the manufacturer's sheet" \
  bash -c "'$K' -C '$T/recycler' trace FLAKE-1 --down --json | python3 -c 'import json,sys; s=json.dumps(json.load(sys.stdin)); assert \"manufacturer\" in s'"
k certifier attest --record "$FLAKE" --statement "audited" >/dev/null
replicate
check "cli: the attestation shows in verify" \
  test "$(k manufacturer verify SHEET-1 --json | json 'd["certificates"][0]["attestations"]')" = 1
k certifier revoke --record "$FLAKE" --reason "forged weighing slips" >/dev/null
replicate
rc=0; k manufacturer verify SHEET-1 --json > "$T/t.json" || rc=$?
[ $rc = 1 ] && ok "cli: verify exits 1 once the certificate is revoked" || notok "cli: verify exits 1 once the certificate is revoked (got $rc)"
check "cli: the revocation taints 19 t and the claim no longer holds" \
  test "$(json 'd["tainted_mg"], d["recycled"]["post_consumer_mg"], d["claims"][0]["holds"], d["taint"][0]["reason"], d["ok"]' < "$T/t.json")" \
       = "19000000000 0 False forged weighing slips False"
check "cli: audit passes and every node has the same digest" bash -c '
  d=""; for n in registry recycler processor manufacturer certifier; do
    x=$("'"$K"'" -C "'"$T"'/$n" audit --json | python3 -c "import json,sys; d=json.load(sys.stdin); assert d[\"ok\"]; print(d[\"digest\"])") || exit 1
    [ -z "$d" ] || [ "$d" = "$x" ] || exit 1; d=$x; done'
finish
