#!/usr/bin/env bash
# kill -9 during a long import loses no acknowledged record, and the store stays sound.
source "$(dirname "$0")/lib.sh"
G=${KKGEN_BIN:?}
N=60000
"$G" "$T" issues $N >/dev/null
k node join "$T/genesis.bin" >/dev/null 2>&1
total=$((N + 4))
killed=0
for attempt in 1 2 3; do
  : > "$T/progress"
  "$K" -C "$T/node" import-records "$T/records.rec" 2>"$T/progress" >/dev/null &
  pid=$!
  # Wait for some commits to be acknowledged (more each attempt), then kill mid-import.
  for _ in $(seq 1 1000); do [ "$(grep -c imported "$T/progress")" -ge $((attempt * 3)) ] && break; sleep 0.005; done
  kill -9 $pid 2>/dev/null && killed=1
  wait $pid 2>/dev/null
  acked=$(grep -o 'imported [0-9]*' "$T/progress" | tail -1 | grep -o '[0-9]*' || echo 0)
  have=$(k node audit --json | json 'd["records"]')
  if [ "${acked:-0}" -gt 0 ] && [ "$have" -ge "$acked" ]; then ok "kill9: attempt $attempt: $acked acknowledged, $have stored"
  elif [ "${acked:-0}" = 0 ]; then ok "kill9: attempt $attempt: killed before the first acknowledgement ($have stored)"
  else notok "kill9: attempt $attempt: $acked acknowledged but only $have stored"; fi
  [ "$have" -ge "$total" ] && break
done
[ $killed = 1 ] && ok "kill9: the import was killed mid-way" || notok "kill9: the import finished before it could be killed"
check "kill9: audit passes after the crashes" k node audit
check "kill9: re-importing completes the store" k node import-records "$T/records.rec"
check "kill9: every record is there" test "$(k node audit --json | json 'd["records"], d["ok"]')" = "$total True"
finish
