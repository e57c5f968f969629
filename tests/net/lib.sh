# Helpers for the integration tests: real kiroku-node processes on 127.0.0.1.
source "$(dirname "${BASH_SOURCE[0]}")/../cli/lib.sh"
KN=${KIROKU_NODE_BIN:?}
EVIL=${EVILPEER_BIN:-}
ROOT=$T
source "$(dirname "${BASH_SOURCE[0]}")/../../tools/nodes.sh"
trap 'stop_nodes; [ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# members NAME...: registry plus the named members, all admitted (as recycler,
# processor, manufacturer or certifier by name, else recycler), every directory
# holding the registry's records, as after an offline bootstrap.
members() {
  k registry init --network nettest >/dev/null 2>&1
  local n key role
  for n in "$@"; do
    key=$(k "$n" join "$T/registry/genesis.bin" --json | json 'd["key"]')
    case $n in recycler*|processor*|manufacturer*|certifier*) role=${n%%[0-9]*} ;; *) role=recycler ;; esac
    k registry admit --key "$key" --name "$n" --role "$role" >/dev/null
  done
  k registry export-records > "$T/registry.rec" 2>/dev/null
  for n in "$@"; do k "$n" import-records "$T/registry.rec" >/dev/null; done
}

# digests NAME...: prints each node's audit digest (one per line).
digests() { local n; for n in "$@"; do k "$n" audit --json | json 'd["digest"]'; done; }
same_digests() { [ "$(digests "$@" | sort -u | wc -l)" = 1 ]; }

# await_log PATTERN FILE [SECONDS]: true once FILE holds a line matching PATTERN
# (waits up to SECONDS, default 10). A node logs what it noticed on its own timers, so
# a test that checks the log must wait for the line, not look once.
await_log() {
  local i tries=$(( ${3:-10} * 10 ))
  for i in $(seq 1 $tries); do grep -q -- "$1" "$2" 2>/dev/null && return 0; sleep 0.1; done
  return 1
}
