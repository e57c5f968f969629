#!/usr/bin/env bash
# Key rotation: a member signs its feed with a new key from a RotateKey record on
# (kiroku rotate-key, the node stopped). Its node then handshakes with the new key, its
# records and checkpoints are signed with it and accepted everywhere, and it witnesses
# other feeds' checkpoints under its feed's name with the new key.
source "$(dirname "$0")/lib.sh"
members recycler processor
start_node registry
start_node processor registry
start_node recycler registry processor
k recycler issue --lot L1 --material PET --mass 10t --post-consumer 10t --origin JP --scheme GRS --certificate C1 >/dev/null
await_converged 20 registry recycler processor || true
feed=$(k recycler members --json | json '[m["key"] for m in d if m["name"] == "recycler"][0]')

rc=0; k recycler rotate-key > "$T/running.out" 2>&1 || rc=$?
[ "$rc" = 2 ] && grep -q "stop it first" "$T/running.out" && ok "rotate: refused while the node runs (exit 2)" \
  || { notok "rotate: refused while the node runs (exit $rc)"; sed 's/^/    /' "$T/running.out"; }
stop_node recycler
check "rotate: kiroku rotate-key writes the RotateKey record" bash -c "'$K' -C '$T/recycler' rotate-key --json > '$T/rot.json'"
new=$(json 'd["key"]' < "$T/rot.json")
check "rotate: the identity file names the feed beside the new key" bash -c \
  "grep -q '^feed $feed\$' '$T/recycler/identity.key' && [ ! -e '$T/recycler/identity.key.next' ] && [ \$(stat -c %a '$T/recycler/identity.key') = 600 ]"
check "rotate: the member is still itself: same feed id" bash -c "[ '$(json 'd["feed"]' < "$T/rot.json")' = '$feed' ] && [ '$new' != '$feed' ]"

# The node comes back with the new key: peers accept its handshake and its records.
start_node recycler registry processor
k recycler issue --lot L2 --material PET --mass 5t --post-consumer 5t --origin JP --scheme GRS --certificate C2 >/dev/null
l2=$(k recycler log --feed recycler --json | json 'd[-1]["id"]')
check "rotate: a record signed with the new key reaches the processor" await_record processor "$l2" 20
check "rotate: ... and is valid there" bash -c "'$K' -C '$T/processor' lots --all | grep -q L2"
head=$(k recycler log --feed recycler --json | grep -c '"id"')
ckpt_after() {
  k processor checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
f = [x for x in d['feeds'] if x['author'] == '$feed'][0]
assert f['checkpoint'] and f['checkpoint']['size'] == $head, f"
}
await() { local i; for i in $(seq 1 ${2:-150}); do "$1" && return 0; sleep 0.1; done; return 1; }
check "rotate: the processor holds the recycler's checkpoint signed after the rotation" await ckpt_after
k processor incident --kind note --about "$l2" --text "seen" >/dev/null
cosigned_by_recycler() {
  k processor checkpoints --json | python3 -c "
import json, sys
d = json.load(sys.stdin)
f = [x for x in d['feeds'] if x['name'] == 'processor'][0]
assert f['checkpoint'] and any(c['key'] == '$feed' for c in f['checkpoint']['cosigned_by']), f"
}
check "rotate: the recycler witnesses the processor's checkpoint with its new key" await cosigned_by_recycler 200
await_same() { local i; for i in $(seq 1 100); do same_digests "$@" && return 0; sleep 0.1; done; return 1; }
check "rotate: every node ends in the same state" await_same registry processor recycler
check "rotate: audit passes" k processor audit
finish
