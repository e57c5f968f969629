#!/usr/bin/env bash
# Every RFC 6962/9162 proof vector of transparency-dev/merkle through `kiroku merkle-check`:
# happy paths verify (exit 0), corrupted cases fail (exit 1).
source "$(dirname "$0")/lib.sh"
DATA=${KIROKU_SHARED:-$(cd "$(dirname "$0")/../../.." && pwd)/shared}/data/merkle
if [ ! -d "$DATA" ]; then notok "merkle vectors: $DATA not found"; finish; fi
for kind in inclusion consistency subtreeinclusion subtreeconsistency; do
  n=0; bad=0
  while IFS= read -r f; do
    n=$((n + 1))
    want=$(python3 -c "import json,sys; print(1 if json.load(open(sys.argv[1]))['wantErr'] else 0)" "$f")
    rc=0; timeout 10 "$K" merkle-check "$f" >/dev/null 2>&1 || rc=$?
    if [ "$rc" != "$want" ]; then bad=$((bad + 1)); echo "    ${f#$DATA/}: exit $rc, expected $want"; fi
  done < <(find "$DATA/$kind" -name '*.json' | sort)
  if [ $n -gt 0 ] && [ $bad = 0 ]; then ok "merkle vectors: all $n $kind vectors give the expected verdict"
  else notok "merkle vectors: $bad of $n $kind vectors wrong"; fi
done
check "merkle-check: a file that is not JSON exits 2" bash -c "echo nope > '$T/x.json'; '$K' merkle-check '$T/x.json'; [ \$? = 2 ]"
check "merkle-check: JSON that is no proof exits 2" bash -c "echo '{\"a\":1}' > '$T/y.json'; '$K' merkle-check '$T/y.json'; [ \$? = 2 ]"
finish
