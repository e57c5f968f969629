# Helpers for the CLI scenario tests: a five-participant network in a scratch folder,
# records moved as files, and checks that print "ok - NAME" / "not ok - NAME".
K=${KIROKU_BIN:?}
T=$(mktemp -d "${TMPDIR:-/tmp}/kiroku-cli.XXXXXX")
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT
NODES=(registry recycler processor manufacturer certifier)
FAILED=0

k() { local who=$1; shift; "$K" -C "$T/$who" "$@"; }
ok() { echo "ok - $1"; }
notok() { echo "not ok - $1"; FAILED=1; }
# check NAME COMMAND...: passes when the command exits 0.
check() { local name=$1; shift; if "$@" >"$T/.out" 2>&1; then ok "$name"; else notok "$name"; sed 's/^/    /' "$T/.out"; fi; }
# json FILTER: reads JSON on stdin and prints a Python expression over it (d).
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
# refused NAME WHO ARGS...: the command must exit 2 and leave WHO's store byte-identical;
# what it printed is kept in $T/.refused.
refused() {
  local name=$1 who=$2; shift 2
  local before after rc=0
  before=$(sha256sum "$T/$who/data.mdb" | cut -d' ' -f1)
  "$K" -C "$T/$who" "$@" >"$T/.out" 2>&1 || rc=$?
  after=$(sha256sum "$T/$who/data.mdb" | cut -d' ' -f1)
  cp "$T/.out" "$T/.refused"   # what it said, for the checks that follow
  if [ "$rc" = 2 ] && [ "$before" = "$after" ]; then ok "$name"
  else notok "$name (exit $rc, store $( [ "$before" = "$after" ] && echo unchanged || echo CHANGED))"; sed 's/^/    /' "$T/.out"; fi
}
replicate() {
  local from to
  for from in "${NODES[@]}"; do k "$from" export-records > "$T/$from.rec" 2>/dev/null; done
  for to in "${NODES[@]}"; do
    for from in "${NODES[@]}"; do [ "$from" = "$to" ] || k "$to" import-records "$T/$from.rec" >/dev/null; done
  done
}
# network: registry plus four admitted members, all holding every record.
network() {
  k registry init --network test >/dev/null 2>&1
  local n key
  for n in recycler processor manufacturer certifier; do
    key=$(k "$n" join "$T/registry/genesis.bin" --json | json 'd["key"]')
    k registry admit --key "$key" --name "$n" --role "$n" --country JP >/dev/null
  done
  replicate
}
# gs1_network: the parties of the worked example's EPCIS document
# (tests/cli/data/worked-example.jsonld): registry, recycler, processor and manufacturer
# admitted with the GLNs it names them by, and a certifier; all hold the registry's records.
gs1_network() {
  k registry init --network test >/dev/null 2>&1
  local gln=(4512345000011 4512345000028 4512345000035) i=0 n key extra
  for n in recycler processor manufacturer certifier; do
    key=$(k "$n" join "$T/registry/genesis.bin" --json | json 'd["key"]')
    extra=(); [ $i -lt 3 ] && extra=(--gln "${gln[$i]}")
    k registry admit --key "$key" --name "$n" --role "$n" --country JP "${extra[@]}" >/dev/null
    i=$((i + 1))
  done
  k registry export-records > "$T/registry.rec" 2>/dev/null
  for n in recycler processor manufacturer certifier; do k "$n" import-records "$T/registry.rec" >/dev/null; done
}
# The worked example up to the processor's sheet; sets FLAKE (issue record id).
flake_to_processor() {
  FLAKE=$(k recycler issue --json --lot FLAKE-1 --material PET --mass 20t --post-consumer 20t --origin JP \
    --scheme GRS --certificate GRS-1 | json 'd["record"]')
  k recycler transfer --lot FLAKE-1 --mass 20t --to processor >/dev/null
  replicate
  k processor receive --all >/dev/null
}
finish() { exit $FAILED; }
