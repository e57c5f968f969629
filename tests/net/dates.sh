#!/usr/bin/env bash
# The equivocation scenario at several wall-clock dates (libfaketime, every process of
# the scenario on the same shifted clock). A fork once went unnoticed when an import
# landed while checkpoint gossip was still running — timing, which reports at first
# pinned on dates; nothing in Kiroku may depend on the date, and this shows it for the
# scenario that exposed it. Dates include the issue's reports, a year boundary, and
# both sides of the signed 32-bit seconds limit (2038-01-19).
source "$(dirname "$0")/lib.sh"
command -v faketime >/dev/null || { notok "dates: faketime is not installed (tools/deps.sh installs it)"; finish; }
here=$(dirname "$0")
now=$(date +%s)
# The wrapper names its semaphore after its PID and refuses to start when one of that
# name exists: objects left in /dev/shm by processes that died under LD_PRELOAD (killed
# before libfaketime's cleanup ran) must not make a reused PID fail. Only those of
# processes that are gone are removed.
for f in /dev/shm/sem.faketime_sem_* /dev/shm/faketime_shm_*; do
  [ -e "$f" ] || continue
  kill -0 "${f##*_}" 2>/dev/null || rm -f "$f"
done
for when in "2025-11-24 17:00" "2026-10-01 00:00" "2026-11-29 12:00" "2026-11-30 08:00" \
            "2026-12-01 00:00" "2026-12-31 23:00" "2027-03-01 00:00" "2038-01-20 00:00"; do
  offset=$(( $(date -u -d "$when" +%s) - now ))
  [ "$offset" -ge 0 ] && offset="+$offset"
  # A relative offset keeps every process on one clock (an absolute date would start
  # each process's clock at that instant, whenever it started). The faketime wrapper
  # owns libfaketime's shared state for the whole run: with LD_PRELOAD alone, the first
  # process creates it and any forked subshell of it that exits destroys it, so later
  # processes fail to start their fake clock. ASan (make check) must be told that a
  # preloaded library comes before it.
  out=$(ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}verify_asan_link_order=0" \
        faketime -m --exclude-monotonic -f "$offset" bash "$here/equivocation.sh" 2>&1)
  rc=$?
  seen=$(faketime -f "$offset" date -u +%Y-%m-%d)
  fails=$(printf '%s\n' "$out" | grep -c '^not ok - ' || true)
  passes=$(printf '%s\n' "$out" | grep -c '^ok - ' || true)
  if [ "$rc" = 0 ] && [ "$fails" = 0 ] && [ "$passes" -gt 10 ] && [ "$seen" = "${when%% *}" ]; then
    ok "dates: equivocation at $when ($passes checks)"
  else
    notok "dates: equivocation at $when (clock read $seen; $passes passed, $fails failed, exit $rc)"
    if [ "$fails" -gt 0 ]; then printf '%s\n' "$out" | grep -A8 '^not ok - ' | sed 's/^/    /' | head -40
    else printf '%s\n' "$out" | tail -15 | sed 's/^/    /'; fi
  fi
done
finish
