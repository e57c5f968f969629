# Shell helpers to run kiroku-node processes on loopback (sourced by tools/demo.sh and
# the integration tests). Needs: K (kiroku), KN (kiroku-node), ROOT (data directories).
# Every node started here is stopped by stop_nodes, which callers trap on EXIT.

declare -A NODE_PID NODE_PORT NODE_CONFIG NODE_LISTEN NODE_ARGS

# start_node NAME [PEER...]: runs a node for ROOT/NAME on a free loopback port, peering
# with the named nodes (already started), and waits until it listens. NODE_CONFIG[NAME],
# when set, names a config file for it (limits, timeouts); NODE_LISTEN[NAME] a fixed port
# (a node restarted on its old port is found again by peers that dial it); NODE_ARGS[NAME]
# more options, split on blanks (--standalone, a --peer address no node listens on).
start_node() {
  local name=$1; shift
  local args=() p
  for p in "$@"; do args+=(--peer "127.0.0.1:${NODE_PORT[$p]}"); done
  [ -n "${NODE_CONFIG[$name]:-}" ] && args+=(--config "${NODE_CONFIG[$name]}")
  # shellcheck disable=SC2206  # split on blanks on purpose
  [ -n "${NODE_ARGS[$name]:-}" ] && args+=(${NODE_ARGS[$name]})
  "$KN" -C "$ROOT/$name" --listen "127.0.0.1:${NODE_LISTEN[$name]:-0}" "${args[@]}" 2>>"$ROOT/$name.log" &
  NODE_PID[$name]=$!
  local i port=""
  for i in $(seq 1 200); do
    port=$("$K" -C "$ROOT/$name" status --json 2>/dev/null | sed -n 's/.*"listen": "127.0.0.1:\([0-9]*\)".*/\1/p')
    [ -n "$port" ] && break
    kill -0 "${NODE_PID[$name]}" 2>/dev/null || { echo "node $name failed to start:" >&2; cat "$ROOT/$name.log" >&2; return 1; }
    sleep 0.05
  done
  [ -n "$port" ] || { echo "node $name did not come up" >&2; return 1; }
  NODE_PORT[$name]=$port
}

# stop_node NAME [SIGNAL]: stops one node (default TERM, a clean shutdown) and waits.
stop_node() {
  local name=$1 sig=${2:-TERM} pid=${NODE_PID[$1]:-}
  [ -n "$pid" ] || return 0
  if [ "$sig" = KILL ]; then disown "$pid" 2>/dev/null || true; fi   # no "Killed" notice
  kill -"$sig" "$pid" 2>/dev/null || true
  local i
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "NODE_PID[$name]"
}

stop_nodes() {
  local n
  for n in "${!NODE_PID[@]}"; do stop_node "$n"; done
}

# await_record NAME ID [SECONDS]: waits until node NAME holds record ID (prefix ok).
await_record() {
  local name=$1 id=$2 limit=${3:-20} i
  for i in $(seq 1 $((limit * 20))); do
    "$K" -C "$ROOT/$name" show "$id" >/dev/null 2>&1 && return 0
    sleep 0.05
  done
  echo "record ${id:0:12} did not reach $name within ${limit}s" >&2
  return 1
}

# records NAME: how many records node NAME holds.
records() {
  "$K" -C "$ROOT/$1" log --json 2>/dev/null | grep -c '"id"'
}

# fingerprint NAME: a hash of the ids of every record node NAME holds.
fingerprint() {
  "$K" -C "$ROOT/$1" log --json 2>/dev/null | grep '"id"' | sort | sha256sum | cut -c1-16
}

# await_converged SECONDS NAME...: waits until every named node holds the same records.
await_converged() {
  local limit=$1; shift
  local i n c first same
  for i in $(seq 1 $((limit * 10))); do
    first=""; same=1
    for n in "$@"; do
      c=$(fingerprint "$n")
      [ -z "$first" ] && first=$c
      [ "$c" = "$first" ] || same=0
    done
    [ $same = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
