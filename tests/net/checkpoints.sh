#!/usr/bin/env bash
# Checkpoints: each author signs its feed's head; every other node cosigns it as a
# witness once it holds those records; the cosignatures travel along a line of nodes
# to the ones that are not connected to the witness.
source "$(dirname "$0")/lib.sh"
members recycler processor manufacturer
start_node registry
start_node recycler registry
start_node processor recycler
start_node manufacturer processor
for i in 1 2 3; do
  k recycler issue --lot "C$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate "K$i" >/dev/null
done
want=$(k recycler log --feed recycler --json | grep -c '"id"')

# witnessed NAME: node NAME shows the recycler's checkpoint at its head, cosigned by
# the three other members, with an author signature and cosignatures that verify.
witnessed() {
  k "$1" checkpoints --json | python3 -c "
import base64, json, sys
d = json.load(sys.stdin)
f = [x for x in d['feeds'] if x['name'] == 'recycler'][0]
c = f['checkpoint']
assert c and c['size'] == $want, c
assert sorted(w['name'] for w in c['cosigned_by']) == ['manufacturer', 'processor', 'registry'], c
lines = c['note'].split('\n')
assert lines[0].startswith('kiroku/') and lines[0].endswith(f['author']) and lines[1] == str($want), lines
"
}
await_witnessed() {
  local i n
  for i in $(seq 1 150); do
    for n in "$@"; do witnessed "$n" >/dev/null 2>&1 || { sleep 0.1; continue 2; }; done
    return 0
  done
  witnessed "$1"
}
check "checkpoints: the recycler's head is cosigned by every other node, on every node" \
  await_witnessed registry recycler processor manufacturer
check "checkpoints: text output lists the witnesses" bash -c \
  "'$K' -C '$T/manufacturer' checkpoints | grep recycler | grep -q 'cosigned by 3'"
# The feed grows: witnesses move on to the new head.
k recycler issue --lot C4 --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate K4 >/dev/null
want=$((want + 1))
check "checkpoints: the next head is witnessed too" await_witnessed registry recycler processor manufacturer
# Records written while a node was down get their checkpoint when it starts.
stop_node recycler
k recycler issue --lot C5 --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate K5 >/dev/null
start_node recycler registry processor
want=$((want + 1))
check "checkpoints: records written offline are checkpointed and witnessed" \
  await_witnessed registry recycler processor manufacturer
finish
