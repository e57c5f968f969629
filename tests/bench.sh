#!/usr/bin/env bash
# make bench: each figure is printed next to the limit measured in this same run, with
# the ratio and the target. Nothing here is a pass/fail test; it reports what it measured.
set -euo pipefail
: "${KIROKU_BIN:?}" "${KKGEN_BIN:?}" "${BENCH_BIN:?}"
K=$KIROKU_BIN
W=$(mktemp -d "${TMPDIR:-/tmp}/kiroku-bench.XXXXXX")
trap 'rm -rf "$W"' EXIT
N_APPEND=${BENCH_APPEND:-100000}
N_AUDIT=${BENCH_AUDIT:-100000}
N_CHAIN=${BENCH_CHAIN:-10000}
cores=$(nproc)
now() { date +%s.%N; }
jnum() { python3 -c "import json,sys; print(json.load(sys.stdin)$1)"; }

# best of three: a limit measured low (a busy moment of the machine) would flatter every
# ratio computed from it
best() { local i b=0 x; for i in 1 2 3; do x=$("$BENCH_BIN" "$1" | awk '{print $2}'); [ "${x%.*}" -gt "${b%.*}" ] && b=$x; done; echo "$b"; }
# Sectors the device under the bench directory has written so far (/sys/class/block),
# or nothing when unknown. What a process is charged for writing (/proc/PID/io,
# getrusage) counts whole page-cache folios dirtied, which on kernels with large folios
# is several times what reaches the device.
BLOCKDEV=$(basename "$(findmnt -no SOURCE --target "$W" 2>/dev/null)" 2>/dev/null || true)
dev_sectors() { [ -n "$BLOCKDEV" ] && [ -r "/sys/class/block/$BLOCKDEV/stat" ] && awk '{print $7}' "/sys/class/block/$BLOCKDEV/stat"; }
# dev_per N FROM TO: bytes written to the device per record, or "?"
dev_per() { [ -n "$2" ] && [ -n "$3" ] && python3 -c "print('%.0f' % (($3 - $2) * 512 / $1))" || echo "?"; }

echo "measuring the limits (Ed25519 on one core, libsodium, best of 3) ..."
sign=$(best sign)
verify=$(best verify)
printf '  sign   %8.0f /s per core\n  verify %8.0f /s per core, %d cores\n' "$sign" "$verify" "$cores"

echo "local appends: $N_APPEND records signed and durably committed ..."
mkdir "$W/append"
s0=$(dev_sectors)
append=$("$BENCH_BIN" append "$W/append" "$N_APPEND" | awk '{print $2}')
append_dev=$(dev_per "$N_APPEND" "$s0" "$(dev_sectors)")

echo "audit replay: $N_AUDIT records ..."
mkdir "$W/gen"
"$KKGEN_BIN" "$W/gen" issues "$N_AUDIT" >/dev/null
"$K" -C "$W/a" join "$W/gen/genesis.bin" >/dev/null 2>&1
t0=$(now); "$K" -C "$W/a" import-records "$W/gen/records.rec" >/dev/null 2>&1; t1=$(now)
import_rate=$(python3 -c "print(($N_AUDIT + 4) / ($t1 - $t0))")
"$K" -C "$W/a" audit --json > "$W/audit.json"
audit_secs=$(jnum '["seconds"]' < "$W/audit.json")
audit_n=$(jnum '["records"]' < "$W/audit.json")
audit_rate=$(python3 -c "print($audit_n / $audit_secs)")
# disk_per DIR GEN: bytes the store in DIR takes on disk per record (blocks allocated to
# data.mdb, its free pages included), and the records' own bytes per record (envelopes,
# without the records file's magic and length prefixes), from GEN's records file.
disk_per() { python3 - "$1/data.mdb" "$2/records.rec" <<'PY'
import os, struct, sys
disk = os.stat(sys.argv[1]).st_blocks * 512
data = open(sys.argv[2], 'rb').read()
at, n, env = 17, 0, 0
while at < len(data):
    (ln,) = struct.unpack('>I', data[at:at + 4]); at += 4 + ln; n += 1; env += ln
print('%.0f %.0f' % (disk / n, env / n))
PY
}
read -r per_rec env_per_rec < <(disk_per "$W/a" "$W/gen")

echo "verify of a lot whose provenance spans ~$N_CHAIN records ..."
mkdir "$W/chain"
last=$("$KKGEN_BIN" "$W/chain" chain "$N_CHAIN")
"$K" -C "$W/c" join "$W/chain/genesis.bin" >/dev/null 2>&1
"$K" -C "$W/c" import-records "$W/chain/records.rec" >/dev/null 2>&1
chain_n=$("$K" -C "$W/c" audit --json | jnum '["records"]')
times=()
for i in 1 2 3 4 5; do
  t0=$(now); "$K" -C "$W/c" verify "$last" >/dev/null; t1=$(now)
  times+=("$(python3 -c "print('%.1f' % (($t1 - $t0) * 1000))")")
done
verify_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)
certs=$("$K" -C "$W/c" verify "$last" --json | jnum '["certificates"].__len__()')

N_LONG=${BENCH_LONG_CHAIN:-20000}
echo "storage of a $N_LONG-step chain ($((N_LONG * 6)) records) ..."
mkdir "$W/long"
"$KKGEN_BIN" "$W/long" chain $((N_LONG * 6)) >/dev/null
"$K" -C "$W/l" join "$W/long/genesis.bin" >/dev/null 2>&1
"$K" -C "$W/l" import-records "$W/long/records.rec" >/dev/null 2>&1
read -r long_per_rec long_env < <(disk_per "$W/l" "$W/long")
rm -rf "$W/l" "$W/long"

N_DAG=${BENCH_DAG:-1000}
echo "a wide DAG: $N_DAG certificates blended into one lot, split into $N_DAG products ..."
mkdir "$W/dag"
dag_last=$("$KKGEN_BIN" "$W/dag" dag "$N_DAG")
"$K" -C "$W/d" join "$W/dag/genesis.bin" >/dev/null 2>&1
"$K" -C "$W/d" import-records "$W/dag/records.rec" >/dev/null 2>&1
read -r dag_per_rec dag_env < <(disk_per "$W/d" "$W/dag")
times=()
for i in 1 2 3 4 5; do
  t0=$(now); "$K" -C "$W/d" verify "$dag_last" >/dev/null; t1=$(now)
  times+=("$(python3 -c "print('%.1f' % (($t1 - $t0) * 1000))")")
done
dag_verify_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 3p)

N_CATCHUP=${BENCH_CATCHUP:-200000}
N_PROP=${BENCH_PROPAGATE:-1000}
KN=${KIROKU_NODE_BIN:?}
ROOT=$W
source "$(dirname "$0")/../tools/nodes.sh"
trap 'stop_nodes; rm -rf "$W"' EXIT

# anon_kb PID: the process's anonymous resident memory (heap, stacks) in KiB — VmHWM
# would also count the pages of the store's memory map, which are the file's cache.
anon_kb() { awk '/RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0; }
max() { [ "${1:-0}" -ge "${2:-0}" ] && echo "${1:-0}" || echo "${2:-0}"; }

echo "catch-up: a fresh node pulls $N_CATCHUP records from a peer over loopback ..."
mkdir -p "$W/cgen" "$W/src" "$W/dst"
"$KKGEN_BIN" "$W/cgen" issues "$N_CATCHUP" >/dev/null
cp "$W/cgen/proc-a.key" "$W/src/identity.key"; cp "$W/cgen/proc-b.key" "$W/dst/identity.key"
chmod 600 "$W/src/identity.key" "$W/dst/identity.key"
"$K" -C "$W/src" join "$W/cgen/genesis.bin" >/dev/null 2>&1
"$K" -C "$W/dst" join "$W/cgen/genesis.bin" >/dev/null 2>&1
"$K" -C "$W/src" import-records "$W/cgen/records.rec" >/dev/null 2>&1
want=$((N_CATCHUP + 4))
start_node src
t0=$(now)
s0=$(dev_sectors)
start_node dst src
anon_peak=0
while :; do
  anon_peak=$(max "$anon_peak" "$(anon_kb "${NODE_PID[dst]}")")
  got=$("$K" -C "$W/dst" status --json 2>/dev/null | python3 -c "import json,sys; print(sum(f['seq'] for f in json.load(sys.stdin).get('feeds', [])))" 2>/dev/null || echo 0)
  [ "${got:-0}" -ge "$want" ] && break
  sleep 0.2
done
t1=$(now)
catchup_rate=$(python3 -c "print($want / ($t1 - $t0))")
peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/${NODE_PID[dst]}/status")
# What the commit path costs the disk: bytes written to the device per record (the
# pages LMDB rewrote; the sending node only reads).
catchup_dev=$(dev_per "$want" "$s0" "$(dev_sectors)")
stop_node dst
stop_node src

N_CKPT=${BENCH_CKPT_CATCHUP:-1000000}
echo "checkpoint catch-up: a fresh node pulls $N_CKPT records authenticated by cosigned checkpoints ..."
mkdir -p "$W/kgen"
"$KKGEN_BIN" "$W/kgen" issues "$N_CKPT" >/dev/null
for n in registry recycler proc-a proc-b; do
  mkdir -p "$W/k/$n"; cp "$W/kgen/$n.key" "$W/k/$n/identity.key"; chmod 600 "$W/k/$n/identity.key"
  "$K" -C "$W/k/$n" join "$W/kgen/genesis.bin" >/dev/null 2>&1
done
"$K" -C "$W/k/recycler" import-records "$W/kgen/records.rec" >/dev/null 2>&1
cp "$W/k/recycler/data.mdb" "$W/k/registry/data.mdb"
cp "$W/k/recycler/data.mdb" "$W/k/proc-a/data.mdb"
ROOT=$W/k
start_node registry
start_node recycler registry
start_node proc-a recycler registry
for i in $(seq 1 600); do
  "$K" -C "$W/k/proc-a" checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
fs = [f for f in d['feeds'] if f['name'] in ('registry', 'recycler')]
sys.exit(0 if len(fs) == 2 and all(f['checkpoint'] and f['checkpoint']['size'] == f['records'] and f['checkpoint']['cosigned_by'] for f in fs) else 1)" && break
  sleep 0.2
done
stop_node registry
stop_node proc-a
want=$((N_CKPT + 4))
t0=$(now)
start_node proc-b recycler
committed_at=""
ckpt_anon_peak=0
while :; do
  ckpt_anon_peak=$(max "$ckpt_anon_peak" "$(anon_kb "${NODE_PID[proc-b]}")")
  st=$("$K" -C "$W/k/proc-b" status --json 2>/dev/null | python3 -c "
import json,sys; d=json.load(sys.stdin); print(sum(f['seq'] for f in d.get('feeds', [])), d.get('unverified_records', 0), d.get('checkpoint_synced_since_start', 0))" 2>/dev/null || echo "0 0 0")
  set -- $st
  if [ -z "$committed_at" ] && [ "${1:-0}" -ge "$want" ]; then committed_at=$(now); synced=$3; fi
  [ -n "$committed_at" ] && [ "${2:-1}" = 0 ] && break
  sleep 0.2
done
t2=$(now)
ckpt_rate=$(python3 -c "print($want / ($committed_at - $t0))")
ckpt_all_rate=$(python3 -c "print($want / ($t2 - $t0))")
ckpt_peak_kb=$(awk '/VmHWM/ {print $2}' "/proc/${NODE_PID[proc-b]}/status")
stop_nodes
ROOT=$W

echo "proof bundle of that lot: its feeds witnessed by four nodes, proven, checked offline ..."
for n in registry recycler proc-a proc-b; do
  mkdir -p "$W/b/$n"; cp "$W/chain/$n.key" "$W/b/$n/identity.key"; chmod 600 "$W/b/$n/identity.key"
  "$K" -C "$W/b/$n" join "$W/chain/genesis.bin" >/dev/null 2>&1
  "$K" -C "$W/b/$n" import-records "$W/chain/records.rec" >/dev/null 2>&1
done
ROOT=$W/b
start_node registry
start_node recycler registry
start_node proc-a recycler registry
start_node proc-b proc-a registry
for i in $(seq 1 300); do
  "$K" -C "$W/b/proc-b" checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
sys.exit(0 if all(f['checkpoint'] and f['checkpoint']['size'] == f['records'] and len(f['checkpoint']['cosigned_by']) == 3 for f in d['feeds']) else 1)" && break
  sleep 0.2
done
stop_nodes
ROOT=$W
t0=$(now); "$K" -C "$W/b/proc-b" prove "$last" > "$W/bundle.bin" 2>/dev/null; t1=$(now)
prove_ms=$(python3 -c "print('%.0f' % (($t1 - $t0) * 1000))")
bundle_kb=$(( $(stat -c %s "$W/bundle.bin") / 1024 ))
"$K" verify-bundle "$W/bundle.bin" --genesis "$W/chain/genesis.bin" --witnesses 3 --json > "$W/vb.json" || true
bundle_records=$(jnum '["bundle"]["records"]' < "$W/vb.json")
times=()
for i in 1 2 3; do
  t0=$(now); "$K" verify-bundle "$W/bundle.bin" --genesis "$W/chain/genesis.bin" --witnesses 3 >/dev/null || true; t1=$(now)
  times+=("$(python3 -c "print('%.0f' % (($t1 - $t0) * 1000))")")
done
vbundle_ms=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)

echo "propagation: $N_PROP records, each timed from its append to its commit two hops away ..."
mkdir -p "$W/p"
"$K" -C "$W/p/r" init --network bench >/dev/null 2>&1
for n in a b c; do
  key=$("$K" -C "$W/p/$n" join "$W/p/r/genesis.bin" --json | jnum '["key"]')
  "$K" -C "$W/p/r" admit --key "$key" --name "$n" --role recycler >/dev/null
done
"$K" -C "$W/p/r" export-records > "$W/p/r.rec" 2>/dev/null
for n in a b c; do "$K" -C "$W/p/$n" import-records "$W/p/r.rec" >/dev/null; done
ROOT=$W/p
start_node a
start_node b a
start_node c b
sleep 0.5
"$BENCH_BIN" propagate "$W/p/a" "$W/p/c" "$N_PROP" > "$W/prop.txt"
prop_med=$(awk '/median/ {print $2}' "$W/prop.txt")
prop_p99=$(awk '/p99/ {print $2}' "$W/prop.txt")
stop_nodes

echo
printf '%-48s %14s %16s %7s %8s %5s\n' figure measured limit ratio target met
# row FIGURE MEASURED LIMIT RATIO TARGET: "met" compares RATIO with a ">= X" or "<= X"
# TARGET, or MEASURED with a "< X ms" one.
row() {
  local met=-
  case $5 in
    ">= "*) met=$(python3 -c "print('yes' if $4 >= ${5#>= } else 'NO')") ;;
    "<= "*) met=$(python3 -c "print('yes' if $4 <= ${5#<= } else 'NO')") ;;
    "< "*" ms") local x=${5#< }; met=$(python3 -c "print('yes' if $2 < ${x% ms} else 'NO')") ;;
  esac
  printf '%-48s %14s %16s %7s %8s %5s\n' "$1" "$2" "$3" "$4" "$5" "$met"
}
ratio() { python3 -c "print('%.2f' % (($1) / ($2)))"; }
row "local appends (records/s)" "$(printf %.0f "$append")" "$(printf %.0f "$sign") sign/s" "$(ratio "$append" "$sign")" ">= 0.7"
row "  bytes written to the device per record" "$append_dev" "-" "-" "-"
row "audit replay (records/s)" "$(printf %.0f "$audit_rate")" "$(python3 -c "print('%.0f' % ($cores * $verify))") verify/s" \
    "$(ratio "$audit_rate" "$cores*$verify")" ">= 0.7"
row "import (records/s, same path as peers)" "$(printf %.0f "$import_rate")" "$(python3 -c "print('%.0f' % ($cores * $verify))") verify/s" \
    "$(ratio "$import_rate" "$cores*$verify")" "-"
row "verify, provenance of $chain_n records (ms)" "$verify_ms" "-" "-" "< 20 ms"
row "  ... certificates attributed in that lot" "$certs" "-" "-" "-"
row "catch-up over loopback (records/s)" "$(printf %.0f "$catchup_rate")" "$(python3 -c "print('%.0f' % ($cores * $verify))") verify/s" \
    "$(ratio "$catchup_rate" "$cores*$verify")" ">= 0.6"
row "  peak resident memory of that node (MiB)" "$((peak_kb / 1024))" "-" "-" "-"
row "  ... of it anonymous, not the store's map (MiB)" "$((anon_peak / 1024))" "-" "-" "-"
row "  bytes written to the device per record" "$catchup_dev" "-" "-" "-"
row "checkpoint catch-up, $N_CKPT records (records/s)" "$(printf %.0f "$ckpt_rate")" "$(python3 -c "print('%.0f' % ($cores * $verify))") verify/s" \
    "$(ratio "$ckpt_rate" "$cores*$verify")" ">= 3"
row "  ... of them taken on a checkpoint's word" "$synced" "-" "-" "-"
row "  ... until background signature checks done" "$(printf %.0f "$ckpt_all_rate")" "-" "$(ratio "$ckpt_all_rate" "$cores*$verify")" "-"
row "  peak resident memory of that node (MiB)" "$((ckpt_peak_kb / 1024))" "-" "-" "-"
row "  ... of it anonymous, not the store's map (MiB)" "$((ckpt_anon_peak / 1024))" "-" "-" "-"
row "prove, lot with $bundle_records records in its bundle (ms)" "$prove_ms" "-" "-" "-"
row "  ... bundle size (KiB)" "$bundle_kb" "-" "-" "-"
# what checking the bundle's signatures alone takes on every core
sig_ms=$(python3 -c "print('%.0f' % ($bundle_records / ($cores * $verify) * 1000))")
row "verify-bundle offline, same bundle (ms)" "$vbundle_ms" "$sig_ms its sigs" "$(ratio "$vbundle_ms" "$sig_ms")" "<= 2"
row "propagation, 2 hops: median (ms)" "$prop_med" "-" "-" "-"
row "propagation, 2 hops: p99 (ms)" "$prop_p99" "-" "-" "-"
row "bytes on disk per record, flat issues" "$per_rec" "$env_per_rec envelope" "$(ratio "$per_rec" "$env_per_rec")" "<= 2"
row "  ... a $N_LONG-step chain" "$long_per_rec" "$long_env envelope" "$(ratio "$long_per_rec" "$long_env")" "<= 3"
row "  ... a DAG of $N_DAG certificates, $N_DAG products" "$dag_per_rec" "$dag_env envelope" "$(ratio "$dag_per_rec" "$dag_env")" "<= 3"
row "verify of one of those products (ms)" "$dag_verify_ms" "-" "-" "-"
