#!/usr/bin/env bash
# The layers of docs/architecture.md, checked on the sources: what each folder may
# include. A violation is printed as file:line: the include.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
cd "$SRC"

# violations GLOB... -- PATTERN: the #include lines of the files that match PATTERN.
violations() {
  local files=() pattern
  while [ "$1" != -- ]; do files+=("$1"); shift; done
  pattern=$2
  grep -Hn -E "^#include +$pattern" "${files[@]}" 2>/dev/null
}
layer_check() { # NAME GLOB... -- PATTERN: passes when no file includes PATTERN
  local name=$1; shift
  local found
  found=$(violations "$@")
  if [ -z "$found" ]; then ok "layers: $name"; else notok "layers: $name"; sed 's/^/    /' <<<"$found"; fi
}

# proto/ and crypto/ sit on the base layer only.
layer_check "proto/ and crypto/ include nothing of node/ but node/base/" \
  proto/*.[ch] crypto/*.[ch] -- '"[./]*node/(ledger|daemon|client)/'
# The base layer is the bottom: nothing above it, no protocol, no crypto.
layer_check "node/base/ includes no other layer" \
  node/base/*.[ch] -- '"\.\./(ledger|daemon|client)/|"\.\./\.\./(proto|crypto|tools)/'
# The ledger knows no connections: no libuv, nothing of the daemon or the client.
layer_check "node/ledger/ includes no libuv header" node/ledger/*.[ch] -- '<uv\.h>'
layer_check "node/ledger/ includes nothing of node/daemon/ or node/client/" \
  node/ledger/*.[ch] -- '"\.\./(daemon|client)/'
# The EPCIS interchange (node/epcis/) is an edge: it may use the ledger, never the daemon,
# and nothing below it knows EPCIS.
layer_check "node/epcis/ includes nothing of node/daemon/ or node/client/, and no libuv header" \
  node/epcis/*.[ch] -- '"\.\./(daemon|client)/|<uv\.h>'
layer_check "node/ledger/ and node/base/ include nothing of node/epcis/" \
  node/ledger/*.[ch] node/base/*.[ch] -- '"\.\./epcis/'
# The views (node/view/) are the ledger as people read it: the ledger's API and nothing
# above it; the ledger does not know them.
layer_check "node/view/ includes nothing of node/daemon/, node/client/, node/epcis/ or node/http/, and no libuv header" \
  node/view/*.[ch] -- '"\.\./(daemon|client|epcis|http)/|<uv\.h>'
layer_check "node/ledger/, node/base/ and node/epcis/ include nothing of node/view/" \
  node/ledger/*.[ch] node/base/*.[ch] node/epcis/*.[ch] -- '"\.\./view/'
# A member's commands (node/ops/) and the pages (node/pages/) sit on the views and the
# ledger: no connections, nothing of the daemon, the client, the EPCIS edge or HTTP.
layer_check "node/ops/ and node/pages/ include nothing of node/daemon/, node/client/, node/epcis/ or node/http/, and no libuv header" \
  node/ops/*.[ch] node/pages/*.[ch] -- '"\.\./(daemon|client|epcis|http)/|<uv\.h>'
layer_check "node/ledger/, node/base/, node/view/ and node/epcis/ include nothing of node/ops/ or node/pages/" \
  node/ledger/*.[ch] node/base/*.[ch] node/view/*.[ch] node/epcis/*.[ch] -- '"\.\./(ops|pages)/'
# The HTTP server (node/http/) is an edge beside the daemon: it reads through the views,
# the ledger and the EPCIS edge, writes through the control-socket client, and knows
# nothing of the daemon or libuv (it runs on libmicrohttpd's threads); only the daemon
# and the command line include it.
layer_check "node/http/ includes nothing of node/daemon/, and no libuv header" \
  node/http/*.[ch] -- '"\.\./daemon/|<uv\.h>'
layer_check "nothing below the daemon includes node/http/ (the command line only its token.h)" \
  node/ledger/*.[ch] node/base/*.[ch] node/epcis/*.[ch] node/view/*.[ch] node/client/*.[ch] node/ops/*.[ch] node/pages/*.[ch] -- '"\.\./http/'
# The control-socket client is the base layer plus the protocol it speaks.
layer_check "node/client/ includes only node/base/" \
  node/client/*.[ch] -- '"\.\./(ledger|daemon)/|<uv\.h>'
# The command line uses the ledger's API and the control-socket client, never the daemon.
layer_check "tools/ includes nothing of node/daemon/ and no libuv header" \
  tools/*.[ch] -- '"[./]*node/daemon/|<uv\.h>'
# LMDB is the store's: only the store module (store.c, its scans in store_scan.c, its
# private store_lmdb.h, and posdb.c, how it keeps position-keyed databases) calls mdb_*,
# names an LMDB type or constant, includes lmdb.h or store_lmdb.h (where struct store
# is defined); everything else goes through their functions, with an opaque struct
# store, transactions as the opaque struct store_txn and databases named by enum
# store_db.
lmdb_uses() { # FILE...: file:line of every LMDB call, constant or include
  grep -Hn -E '\bmdb_[a-z_]+ *\(|\bMDB_[A-Za-z]\w*|^#include +<lmdb\.h>|^#include +"[^"]*store_lmdb\.h"' "$@" 2>/dev/null || true
}
lmdb_outside=$(lmdb_uses node/base/*.[ch] node/epcis/*.[ch] node/daemon/*.[ch] node/client/*.[ch] tools/*.[ch] proto/*.[ch] crypto/*.[ch])
if [ -z "$lmdb_outside" ]; then ok "layers: no LMDB outside node/ledger/"; else notok "layers: no LMDB outside node/ledger/"; sed 's/^/    /' <<<"$lmdb_outside"; fi
lmdb_ledger=$(for f in node/ledger/*.[ch]; do
  case "$(basename "$f")" in store.[ch] | store_scan.c | store_lmdb.h | posdb.[ch]) continue ;; esac
  lmdb_uses "$f"
done)
if [ -z "$lmdb_ledger" ]; then ok "layers: in node/ledger/, only the store module calls LMDB"; else notok "layers: in node/ledger/, only the store module calls LMDB"; sed 's/^/    /' <<<"$lmdb_ledger"; fi
# Every C file of node/ is in a layer's folder.
stray=$(ls node/*.[ch] 2>/dev/null)
check "layers: every source of node/ is in a layer's folder${stray:+ (not: $stray)}" test -z "$stray"
# No source file grows past ~800 lines. The ones still above it are named here, and
# leave this list when they are split (docs/architecture.md, "Issue 11's rules").
LONG_PENDING=""
long=""
for f in node/*/*.[ch] proto/*.[ch] crypto/*.[ch] tools/*.[ch]; do
  case " $LONG_PENDING " in *" $f "*) continue ;; esac
  n=$(wc -l < "$f")
  [ "$n" -le 850 ] || long="$long $f($n)"
done
check "layers: no other source file over ~800 lines${long:+ (over:$long)}" test -z "$long"

# No include cycles between the modules of a layer (a module: x.c with its x.h; a
# header without a .c passes its includes through). None is left; one that must stay
# for a while is named here, with its reason in docs/architecture.md.
CYCLES_PENDING=""
find_cycles() { # DIR PENDING: the cycles found under DIR/node/*/, but PENDING
  (cd "$1" && python3 - "$2" <<'PY'
import glob, os, re, sys
pending = ' '.join(sorted(sys.argv[1].split()))
found = []
for layer in sorted(glob.glob('node/*/')):
    inc = {}
    for f in glob.glob(layer + '*.[ch]'):
        m = os.path.splitext(os.path.basename(f))[0]
        inc.setdefault(m, set()).update(re.findall(r'^#include "([a-z_]+)\.h"', open(f).read(), re.M))
    mods = {os.path.splitext(os.path.basename(f))[0] for f in glob.glob(layer + '*.c')}
    def targets(m, seen):            # the modules m's includes reach, through headers only
        out = set()
        for h in inc.get(m, ()):
            if h in seen: continue
            seen.add(h)
            out |= {h} if h in mods else targets(h, seen)
        return out
    edges = {m: targets(m, {m}) - {m} for m in mods}
    def reach(a):
        seen, todo = set(), [a]
        while todo:
            for n in edges.get(todo.pop(), ()):
                if n not in seen: seen.add(n); todo.append(n)
        return seen
    r = {m: reach(m) for m in mods}
    done = set()
    for m in sorted(mods):
        scc = sorted({m} | {n for n in r[m] if m in r[n]})
        if len(scc) > 1 and tuple(scc) not in done:
            done.add(tuple(scc))
            if ' '.join(scc) != pending: found.append(layer + '{' + ' '.join(scc) + '}')
print(' '.join(found))
PY
  )
}
cycles=$(find_cycles . "$CYCLES_PENDING")
check "layers: no include cycle between modules${cycles:+ (cycles: $cycles)}" test -z "$cycles"

# The check itself can fail: the same patterns find planted violations.
mkdir -p "$T/node/ledger"
printf '#include "../daemon/node.h"\n#include <uv.h>\n' > "$T/node/ledger/planted.c"
check "layers: ... a planted include of the daemon is found" \
  test -n "$(violations "$T/node/ledger/planted.c" -- '"\.\./(daemon|client)/')"
check "layers: ... and a planted libuv include" test -n "$(violations "$T/node/ledger/planted.c" -- '<uv\.h>')"
printf 'static int f(MDB_txn *t) { MDB_cursor *c; return mdb_cursor_open(t, 0, &c) == MDB_NOTFOUND; }\n' > "$T/node/ledger/planted.c"
check "layers: ... and a planted LMDB call" test "$(lmdb_uses "$T/node/ledger/planted.c" | wc -l)" -eq 1
printf '#include "../ledger/store_lmdb.h"\n' > "$T/node/ledger/planted.c"
check "layers: ... and a planted include of the store's private header" test "$(lmdb_uses "$T/node/ledger/planted.c" | wc -l)" -eq 1
printf '#include "b.h"\n' > "$T/node/ledger/a.c"; printf '#include "a.h"\n' > "$T/node/ledger/b.c"
: > "$T/node/ledger/a.h"; : > "$T/node/ledger/b.h"
check "layers: ... and a planted include cycle" test "$(find_cycles "$T" "")" = "node/ledger/{a b}"
finish
