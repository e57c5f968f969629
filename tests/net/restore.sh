#!/usr/bin/env bash
# A data directory restored from an old backup must not fork its own feed. Its node does
# not append a record of its own until a peer has said what it holds of that feed and
# the node holds as much: with no peer reachable the write waits, then fails saying why
# (nothing written); with a peer, the node fetches its newer records first and the write
# lands after them. --standalone (a network of one) writes at once.
source "$(dirname "$0")/lib.sh"
members recycler
cat > "$T/wait.conf" <<CONF
own_head_wait_ms = 1500
CONF
NODE_CONFIG[recycler]=$T/wait.conf
start_node registry
start_node recycler registry
k recycler issue --lot B1 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C1 >/dev/null
check "restore: the first record goes through the node" await_converged 20 registry recycler
stop_node recycler
cp -a "$T/recycler" "$T/backup"
start_node recycler registry
for i in 2 3 4; do
  k recycler issue --lot "B$i" --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate "C$i" >/dev/null
done
check "restore: three more records after the backup" await_converged 20 registry recycler
newest=$(k registry log --feed recycler --json | grep -c '"id"')
stop_node recycler

# The old backup comes back, and its node starts where no peer can be reached.
rm -rf "$T/recycler"
cp -a "$T/backup" "$T/recycler"
old=$(k recycler log --feed recycler --json | grep -c '"id"')
dead=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
# start_node waits until the node listens: a write before that would go to the store
# directly, not through the node's gate.
NODE_ARGS[recycler]="--peer 127.0.0.1:$dead"
start_node recycler
rc=0
k recycler issue --lot B9 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C9 \
  > "$T/lonely.out" 2>&1 || rc=$?
[ "$rc" = 3 ] && ok "restore: with no peer reachable the write fails (exit 3)" \
  || { notok "restore: with no peer reachable the write fails (exit $rc)"; sed 's/^/    /' "$T/lonely.out"; }
check "restore: ... saying why" grep -q "no peer has told this node" "$T/lonely.out"
check "restore: ... and nothing was written" test "$(k recycler log --feed recycler --json | grep -c '"id"')" = "$old"
stop_node recycler
NODE_ARGS[recycler]=""
# Written with no node after that run (in a copy, to keep the real one unforked): said.
cp -a "$T/recycler" "$T/copy1"
"$K" -C "$T/copy1" issue --lot W1 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate W \
  > "$T/copy1.out" 2>&1
check "restore: a write with no node after a run no peer confirmed: warned" grep -q "no peer confirmed this member's feed" "$T/copy1.out"

# With its peer back, the node fetches its newer records, then writes after them.
start_node recycler registry
check "restore: with a peer the write waits for the feed and lands after it" k recycler issue --lot B9 \
  --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C9
check "restore: ... at the next seq ($((newest + 1)))" test "$(k recycler log --feed recycler --json | grep -c '"id"')" = "$((newest + 1))"
check "restore: ... which reaches the registry" await_converged 20 registry recycler
check "restore: no fork: no evidence anywhere" bash -c "for n in registry recycler; do '$K' -C '$T/'\$n evidence | grep -q 'no evidence' || exit 1; done"
stop_node recycler
cp -a "$T/recycler" "$T/copy2"
"$K" -C "$T/copy2" issue --lot W2 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate W \
  > "$T/copy2.out" 2>&1
check "restore: ... and not after a run a peer confirmed" bash -c "! grep -q 'no peer confirmed' '$T/copy2.out'"

# A network of one says so, and writes at once.
NODE_CONFIG[recycler]=""
NODE_ARGS[recycler]="--standalone"
start_node recycler
check "restore: --standalone writes with no peer" k recycler issue --lot B10 --material PET --mass 1t \
  --post-consumer 1t --origin JP --scheme S --certificate C10
stop_node recycler
finish
