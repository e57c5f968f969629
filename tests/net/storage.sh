#!/usr/bin/env bash
# Storage faults: a full disk (the file size limit) during a long import, a read-only
# data directory, lax permissions, and a damaged data file — truncated, meta pages
# overwritten, one record's bytes flipped. Each is reported in words, changes nothing
# already committed, and damaged bytes are never served to a peer.
source "$(dirname "$0")/lib.sh"
G=${KKGEN_BIN:?}

# --- a full disk ----------------------------------------------------------------------
mkdir -p "$T/gen"
"$G" "$T/gen" issues 40000 >/dev/null
k full join "$T/gen/genesis.bin" >/dev/null 2>&1
total=$((40000 + 4))
# RLIMIT_FSIZE stands in for a full disk: writes past it fail (EFBIG, SIGXFSZ ignored).
rc=0
( trap '' XFSZ; ulimit -f 16384; exec "$K" -C "$T/full" import-records "$T/gen/records.rec" ) \
  >/dev/null 2>"$T/full.err" || rc=$?
acked=$(grep -o 'imported [0-9]*' "$T/full.err" | tail -1 | grep -o '[0-9]*' || echo 0)
[ "$rc" = 3 ] && ok "storage: disk full: the import stops with exit 3" || notok "storage: disk full: the import stops with exit 3 (exit $rc)"
check "storage: disk full: the reason is given" grep -q "could not be written" "$T/full.err"
have=$(k full audit --json | json 'd["records"]')
[ "$have" -ge "${acked:-0}" ] && [ "$have" -lt "$total" ] \
  && ok "storage: disk full: $acked acknowledged, $have stored, nothing lost" \
  || notok "storage: disk full: $acked acknowledged but $have stored (of $total)"
check "storage: disk full: audit passes on what was committed" k full audit
check "storage: disk full: with space again the import completes" k full import-records "$T/gen/records.rec"
check "storage: disk full: every record is there and audit passes (the audit's scratch store grew)" \
  test "$(k full audit --json | json 'd["records"], d["ok"]')" = "$total True"

# --- a full map, grown under load ----------------------------------------------------
# A node whose map starts at 1 MiB catches up the 40,000 records while its CLI reads:
# the map fills again and again; each time it is grown between transactions.
for n in ga gb; do mkdir -p "$T/$n"; chmod 700 "$T/$n"; done
cp "$T/gen/proc-a.key" "$T/ga/identity.key"; cp "$T/gen/proc-b.key" "$T/gb/identity.key"
chmod 600 "$T/ga/identity.key" "$T/gb/identity.key"
k ga join "$T/gen/genesis.bin" >/dev/null 2>&1; k gb join "$T/gen/genesis.bin" >/dev/null 2>&1
k ga import-records "$T/gen/records.rec" >/dev/null 2>&1
echo "map_size_mb = 1" > "$T/small.conf"
NODE_CONFIG[gb]=$T/small.conf
start_node ga
start_node gb ga
( while [ ! -e "$T/readers.stop" ]; do k gb status --json >/dev/null 2>&1; k gb lots --all >/dev/null 2>&1; done ) &
READERS=$!
check "storage: full map: a node catches up 40,000 records while being read" await_converged 120 ga gb
touch "$T/readers.stop"; wait $READERS
grown=$(k gb status --json | json 'd["map"]["grown_since_start"]')
[ "${grown:-0}" -ge 3 ] && ok "storage: full map: grown $grown times under load, as logged" \
  || notok "storage: full map: grown ${grown:-0} times (want at least 3)"
check "storage: full map: ... and each growth logged" await_log "map full at" "$T/gb.log"
stop_node gb
check "storage: full map: audit passes" k gb audit

# --- a map grown by another process ----------------------------------------------------
# A node whose map is 1 MiB runs while import-records, beside it, writes the 40,000
# records and grows the file's map itself. The node adopts the new size when no thread of
# it holds a transaction (never under a reader), then serves the records to a peer.
for n in gc gd; do mkdir -p "$T/$n"; chmod 700 "$T/$n"; done
cp "$T/gen/proc-a.key" "$T/gc/identity.key"; cp "$T/gen/proc-b.key" "$T/gd/identity.key"
chmod 600 "$T/gc/identity.key" "$T/gd/identity.key"
k gc join "$T/gen/genesis.bin" >/dev/null 2>&1; k gd join "$T/gen/genesis.bin" >/dev/null 2>&1
NODE_CONFIG[gc]=$T/small.conf
start_node gc
check "storage: resized map: records imported beside a node with a 1 MiB map" k gc import-records "$T/gen/records.rec"
check "storage: resized map: ... the node adopts the map the import grew" \
  await_log "map grown by another process" "$T/gc.log" 20
check "storage: resized map: ... and still answers its CLI" k gc status
start_node gd gc
check "storage: resized map: ... and serves every record to a peer" await_converged 120 ga gc gd
stop_node gd
stop_node gc
stop_node ga

# --- a network of two for the rest ----------------------------------------------------
members recycler peer
for i in 1 2 3 4 5; do
  k recycler issue --lot "LOT-$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done
k recycler export-records > "$T/recycler.rec" 2>/dev/null

# --- permissions ----------------------------------------------------------------------
chmod 770 "$T/recycler"
rc=0; "$KN" -C "$T/recycler" --listen 127.0.0.1:0 2>"$T/perm.err" || rc=$?
[ "$rc" = 2 ] && grep -q "writable by others" "$T/perm.err" && ok "storage: a group-writable data directory: the node refuses to start" \
  || { notok "storage: a group-writable data directory: the node refuses to start (exit $rc)"; cat "$T/perm.err"; }
chmod 700 "$T/recycler"
chmod 666 "$T/recycler/data.mdb"
rc=0; "$KN" -C "$T/recycler" --listen 127.0.0.1:0 2>"$T/perm.err" || rc=$?
[ "$rc" = 2 ] && grep -q "data.mdb" "$T/perm.err" && ok "storage: a world-writable data file: refused, and named" \
  || { notok "storage: a world-writable data file: refused, and named (exit $rc)"; cat "$T/perm.err"; }
chmod 600 "$T/recycler/data.mdb"

# --- a read-only data directory -------------------------------------------------------
# As root, file modes do not bind: the read-only case runs as an unprivileged user.
cp -a "$T/recycler" "$T/ro"
as_user=()
if [ "$(id -u)" = 0 ]; then chown -R 65534:65534 "$T/ro"; chmod 755 "$T"; as_user=(setpriv --reuid=65534 --regid=65534 --clear-groups); fi
chmod 500 "$T/ro"; chmod 400 "$T/ro/data.mdb"
before=$(sha256sum "$T/ro/data.mdb" | cut -d' ' -f1)
rc=0; "${as_user[@]}" "$KN" -C "$T/ro" --listen 127.0.0.1:0 2>"$T/ro.err" || rc=$?
[ "$rc" = 3 ] && ok "storage: read-only data directory: the node refuses to start (exit 3)" \
  || { notok "storage: read-only data directory: the node refuses to start (exit $rc)"; cat "$T/ro.err"; }
check "storage: read-only data directory: the reason is given" grep -qi "permission denied\|read-only" "$T/ro.err"
rc=0; "${as_user[@]}" "$K" -C "$T/ro" issue --lot RO --material PET --mass 1t --post-consumer 1t --origin JP \
  --scheme S --certificate RO >"$T/ro.err" 2>&1 || rc=$?
[ "$rc" = 3 ] && ok "storage: read-only data directory: a write command fails (exit 3)" \
  || { notok "storage: read-only data directory: a write command fails (exit $rc)"; cat "$T/ro.err"; }
check "storage: read-only data directory: nothing changed" test "$(sha256sum "$T/ro/data.mdb" | cut -d' ' -f1)" = "$before"
chmod 700 "$T/ro"; chmod 600 "$T/ro/data.mdb"; chmod 700 "$T"

# --- a damaged data file --------------------------------------------------------------
# flip_record DIR RECFILE CODE: flips one bit inside the signature of the record whose
# envelope holds CODE wherever it lies in DIR/data.mdb (signatures are stored nowhere else).
flip_record() {
  python3 - "$1/data.mdb" "$2" "$3" <<'PY'
import sys
db, rec, code = sys.argv[1], open(sys.argv[2], 'rb').read(), sys.argv[3].encode()
off, envs = 17, []
while off < len(rec):
    n = int.from_bytes(rec[off:off + 4], 'big'); envs.append(rec[off + 4:off + 4 + n]); off += 4 + n
env = next(e for e in envs if code in e)
data = bytearray(open(db, 'rb').read())
# LMDB is copy-on-write: stale copies may linger in free pages, so flip every one.
at = data.find(env[-32:])
assert at > 0
while at >= 0:
    data[at + 5] ^= 0x01
    at = data.find(env[-32:], at + 1)
open(db, 'wb').write(bytes(data))
PY
}
damaged() { # damaged NAME HOW: a copy of the recycler's store, damaged HOW
  rm -rf "$T/$1"; cp -a "$T/recycler" "$T/$1"
  case $2 in
    truncate) truncate -s 100 "$T/$1/data.mdb" ;;
    meta) head -c 8192 /dev/urandom | dd of="$T/$1/data.mdb" conv=notrunc 2>/dev/null ;;
    head) flip_record "$T/$1" "$T/recycler.rec" LOT-5 ;;
    middle) flip_record "$T/$1" "$T/recycler.rec" LOT-3 ;;
  esac
}
for how in truncate meta head; do
  damaged bad "$how"
  rc=0; "$KN" -C "$T/bad" --listen 127.0.0.1:0 2>"$T/bad.err" || rc=$?
  [ "$rc" = 3 ] && grep -q "stored data is corrupt" "$T/bad.err" \
    && ok "storage: damaged file ($how): detected when the node opens it (exit 3)" \
    || { notok "storage: damaged file ($how): detected when the node opens it (exit $rc)"; cat "$T/bad.err"; }
done
for how in truncate meta; do
  damaged bad "$how"
  rc=0; k bad log >/dev/null 2>"$T/bad.err" || rc=$?
  [ "$rc" = 3 ] && grep -q "stored data is corrupt" "$T/bad.err" \
    && ok "storage: damaged file ($how): the CLI says so (exit 3)" \
    || { notok "storage: damaged file ($how): the CLI says so (exit $rc)"; cat "$T/bad.err"; }
done
damaged bad middle
rc=0; k bad audit >"$T/bad.out" 2>&1 || rc=$?
[ "$rc" != 0 ] && ok "storage: a record damaged in the middle: audit fails (exit $rc)" \
  || notok "storage: a record damaged in the middle: audit fails"
# The node opens (its heads are sound) but never serves the damaged record.
start_node bad
start_node peer bad
check "storage: a record damaged in the middle: the node refuses to serve it" await_log "does not match its Merkle leaf: not served" "$T/bad.log"
check "storage: ... the peer stored nothing damaged: its audit passes" k peer audit
n=$(k peer log --json | json 'sum(1 for r in d if r["kind"] == "issue")' 2>/dev/null || echo "?")
[ "$n" = 2 ] && ok "storage: ... it holds the records before the damaged one (2 issues)" \
  || notok "storage: ... it holds the records before the damaged one (has $n issues, want 2)"
finish
