#!/usr/bin/env bash
# Proof bundles: a lot's verification proven by a node and checked with no node — the
# same figures as verify, every byte mattering, and clear reasons when it fails.
source "$(dirname "$0")/lib.sh"
members recycler processor manufacturer certifier
start_node registry
start_node recycler registry
start_node processor recycler registry
start_node manufacturer processor registry
start_node certifier manufacturer registry recycler
NODES_ALL="registry recycler processor manufacturer certifier"

k recycler issue --lot FLAKE-1 --material PET --mass 20t --post-consumer 20t --origin JP --scheme GRS --certificate GRS-1 >/dev/null
k recycler issue --lot FLAKE-2 --material PET --mass 5t --post-consumer 5t --origin VN --scheme GRS --certificate GRS-2 >/dev/null
k recycler transfer --lot FLAKE-1 --mass 12t --to processor >/dev/null
k recycler transfer --lot FLAKE-1 --mass 8t --to processor >/dev/null
k recycler transfer --lot FLAKE-2 --mass 5t --to processor >/dev/null
receive_all() { local i; for i in $(seq 1 100); do [ "$(k "$1" receive --all 2>/dev/null | grep -c received)" -ge "$2" ] && return 0; sleep 0.1; done; return 1; }
receive_all processor 3
k processor transform --model controlled-blending --in "$(k processor lots --json | json '[l["ref"] for l in d if l["mass_mg"]==12*10**9][0]')=12t" \
  --in FLAKE-2=5t --unledgered PET=8t@DE --out SHEET-1:PET=24t >/dev/null
k processor transfer --lot SHEET-1 --mass 24t --to manufacturer >/dev/null
receive_all manufacturer 1
k manufacturer claim --lot SHEET-1 --recycled 30% --scope "trays" >/dev/null
k certifier attest --record "$(k recycler log --feed recycler --json | json '[r["id"] for r in d if r["kind"]=="issue"][0]')" --statement audited >/dev/null
await_converged 20 $NODES_ALL || true

# Every feed's head witnessed by the four other nodes before proving.
witnessed_all() {
  k manufacturer checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
assert all(f['checkpoint'] and f['checkpoint']['size'] == f['records'] and len(f['checkpoint']['cosigned_by']) == 4 for f in d['feeds']), d"
}
await_witnessed() { local i; for i in $(seq 1 150); do witnessed_all >/dev/null 2>&1 && return 0; sleep 0.1; done; witnessed_all; }
check "bundle: every head is cosigned by four witnesses" await_witnessed

G="$T/registry/genesis.bin"
check "bundle: prove writes a bundle" bash -c "'$K' -C '$T/manufacturer' prove SHEET-1 > '$T/b.bin'"
check "bundle: verify-bundle checks it with no node" "$K" verify-bundle "$T/b.bin" --genesis "$G"
check "bundle: verify-bundle --json gives exactly verify's figures" bash -c "
  '$K' -C '$T/manufacturer' verify SHEET-1 --json > '$T/v.json' &&
  '$K' verify-bundle '$T/b.bin' --genesis '$G' --json > '$T/vb.json' &&
  python3 -c '
import json
a = json.load(open(\"$T/v.json\")); b = json.load(open(\"$T/vb.json\"))
info = b.pop(\"bundle\")
assert info[\"valid\"] and info[\"min_cosignatures\"] == 4 and info[\"records\"] >= 10, info
assert a == b, (a, b)
assert a[\"recycled\"][\"post_consumer_mg\"] > 0 and len(a[\"origins\"]) == 3'"
check "bundle: a bundle proven by another member verifies the same" bash -c "
  '$K' -C '$T/certifier' prove SHEET-1 > '$T/b2.bin' && '$K' verify-bundle '$T/b2.bin' --genesis '$G' --witnesses 4 --json > '$T/vb2.json' &&
  python3 -c '
import json
a = json.load(open(\"$T/vb.json\")); b = json.load(open(\"$T/vb2.json\"))
a.pop(\"bundle\", None); b.pop(\"bundle\")
assert a == b'"

# A bundle that does not verify: exit 4 with the exact reason (1 is for a bundle that
# verifies and a lot that fails).
fails_with() {
  local want=$1; shift
  local out rc=0
  out=$("$K" "$@" 2>&1) || rc=$?
  [ "$rc" = 4 ] && echo "$out" | grep -q "$want" || { echo "exit $rc: $out"; return 1; }
}
check "bundle: more witnesses than cosigned: refused, saying so" \
  fails_with "has 4 cosignatures, 5 required" verify-bundle "$T/b.bin" --genesis "$G" --witnesses 5
k mallory init --network other >/dev/null 2>&1
check "bundle: another network's genesis: refused" \
  fails_with "another network" verify-bundle "$T/b.bin" --genesis "$T/mallory/genesis.bin"
head -c 5000 "$T/b.bin" > "$T/trunc.bin"
check "bundle: a truncated bundle: refused" fails_with "not a proof bundle" verify-bundle "$T/trunc.bin" --genesis "$G"
check "bundle: a missing file exits 2" bash -c "'$K' verify-bundle '$T/none.bin' --genesis '$G'; [ \$? = 2 ]"
flips_rejected() {
  python3 - "$K" "$T/b.bin" "$T/flip.bin" "$G" <<'PY'
import subprocess, sys
k, src, dst, g = sys.argv[1:]
orig = open(src, 'rb').read()
bad = 0
for i in range(0, len(orig), 7):
    b = bytearray(orig); b[i] ^= 0x10
    open(dst, 'wb').write(b)
    r = subprocess.run([k, 'verify-bundle', dst, '--genesis', g], capture_output=True)
    if r.returncode != 4 or b'bundle verified' in r.stdout:
        print('byte', i, 'flipped: exit', r.returncode); bad = 1
sys.exit(bad)
PY
}
check "bundle: flipping any byte makes it fail" flips_rejected

# The bundle is a snapshot: a later revocation shows in a new bundle.
k certifier revoke --record "$(k recycler log --feed recycler --json | json '[r["id"] for r in d if r["kind"]=="issue"][0]')" --reason "forged" >/dev/null
await_converged 20 $NODES_ALL || true
await_witnessed >/dev/null 2>&1 || true
check "bundle: a new bundle carries the revocation and its taint" bash -c "
  '$K' -C '$T/manufacturer' prove SHEET-1 > '$T/b3.bin'
  '$K' verify-bundle '$T/b3.bin' --genesis '$G' --json > '$T/vb3.json'; [ \$? = 1 ] &&
  python3 -c '
import json
d = json.load(open(\"$T/vb3.json\"))
assert d[\"tainted_mg\"] > 0 and d[\"passed\"] is False and d[\"ok\"] is False and d[\"bundle\"][\"valid\"], d'"
check "bundle: prove of an unknown lot: exit 2" bash -c "'$K' -C '$T/manufacturer' prove NOPE > '$T/x.bin'; [ \$? = 2 ]"
finish
