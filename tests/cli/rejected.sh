#!/usr/bin/env bash
# Every "Rejected" case of DOMAIN.md, and other bad input: exit 2, store byte-identical.
source "$(dirname "$0")/lib.sh"
network
flake_to_processor
refused "rejected: 20 t sheet at 100 % ignores the yield (1 t overdraft)" processor \
  transform --model mass-balance --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-A:PET=20t,post=20t --out SHEET-B:PET=27.5t
refused "rejected: 47.5 t at 40 % plus 19 t at 100 % (double claim of credit)" processor \
  transform --model mass-balance --in FLAKE-1=20t --unledgered PET=30t@DE --out SHEET-A:PET=28.5t,post=19t --out SHEET-B:PET=19t,post=19t
refused "rejected: transferring the same flake twice" recycler transfer --lot FLAKE-1 --mass 20t --to manufacturer
refused "rejected: issuing by a member without the recycler role" processor \
  issue --lot FAKE --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate X
refused "rejected: outputs heavier than inputs" processor \
  transform --model controlled-blending --in FLAKE-1=20t --out S:PET=20.000001t
refused "rejected: post= under a proportional model" processor \
  transform --model controlled-blending --in FLAKE-1=20t --out S:PET=10t,post=10t
refused "rejected: virgin input under the segregated model" processor \
  transform --model segregated --in FLAKE-1=20t --unledgered PET=1t@DE --out S:PET=10t
refused "rejected: recycled mass above the lot's mass" recycler \
  issue --lot X --material PET --mass 1t --post-consumer 0.6t --pre-consumer 0.5t --origin JP --scheme S --certificate C
refused "rejected: a claim by a processor" processor claim --lot FLAKE-1 --recycled 10% --scope x
refused "rejected: admit by a non-registry member" recycler \
  admit --key 0000000000000000000000000000000000000000000000000000000000000001 --name x --role recycler
refused "rejected: revoke by neither a certifier nor the author" processor revoke --record "$FLAKE" --reason x
refused "rejected: quantity without a unit" recycler transfer --lot FLAKE-1 --mass 20 --to processor
refused "rejected: quantity finer than a milligram" recycler transfer --lot FLAKE-1 --mass 1.5mg --to processor
refused "rejected: quantity overflowing 64 bits" recycler \
  issue --lot Y --material PET --mass 18446744073.709551616t --post-consumer 1t --origin JP --scheme S --certificate C
refused "rejected: a lowercase country code" recycler \
  issue --lot Y --material PET --mass 1t --post-consumer 1t --origin jp --scheme S --certificate C
refused "rejected: unknown lot" processor transfer --lot NOPE --mass 1t --to manufacturer
refused "rejected: unknown member" processor transfer --lot FLAKE-1 --mass 1t --to nobody
refused "rejected: unknown command options" processor transfer --lot FLAKE-1 --mass 1t --to manufacturer --bogus
# every command explains itself on --help, writing nothing
before=$(k processor log --json | sha256sum)
helpless=""
for cmd in $("$K" --help | awk '/^commands:/ { on = 1; next } on { print $1 }'); do
  out=$("$K" -C "$T/processor" "$cmd" --help 2>/dev/null) && printf '%s' "$out" | grep -q "^usage: kiroku $cmd" \
    && printf '%s' "$out" | grep -A1 "^Example:" | grep -q "^  kiroku .*$cmd" || helpless="$helpless $cmd"
done
[ -z "$helpless" ] && [ "$(k processor log --json | sha256sum)" = "$before" ] && ok "every command answers --help (exit 0) with its synopsis and an example, and writes nothing" \
  || notok "every command answers --help (exit 0) with its synopsis and an example, and writes nothing: not$helpless"
check "kiroku help lists the commands" bash -c "'$K' help | grep -q '^  import-records '"
check "kiroku help COMMAND is COMMAND --help" bash -c "[ \"\$('$K' help transfer)\" = \"\$('$K' transfer --help)\" ]"
rc=0; "$K" help no-such-command 2>"$T/.help" || rc=$?
[ "$rc" = 2 ] && grep -q "no such command" "$T/.help" && ok "kiroku help of an unknown command: exit 2, says so" \
  || notok "kiroku help of an unknown command (exit $rc)"
check "kiroku --version names the version and the store layout" bash -c "'$K' --version | grep -Eq '^kiroku [0-9]+\.[0-9]+\.[0-9]+ \(store layout [0-9]+'"
check "kiroku-node --version too" bash -c "'${KIROKU_NODE_BIN:-false}' --version | grep -Eq '^kiroku-node [0-9]+\.[0-9]+'"
check "kiroku-node --help shows every option and an example" bash -c \
  "out=\$('${KIROKU_NODE_BIN:-false}' --help) && for o in -C --listen --peer --config --version Example; do echo \"\$out\" | grep -q -- \"\$o\" || exit 1; done"

# An issue's --facility shows with its certificate in verify, text and --json.
k recycler issue --lot FAC-1 --material PET --mass 1t --post-consumer 1t --origin JP --scheme GRS --certificate C-FAC \
  --facility "Osaka works" >/dev/null
check "issue --facility: verify names it with the certificate" bash -c "'$K' -C '$T/recycler' verify FAC-1 | grep -q 'C-FAC by recycler at Osaka works'"
check "issue --facility: ... and verify --json" bash -c \
  "'$K' -C '$T/recycler' verify FAC-1 --json | python3 -c 'import json,sys; assert json.load(sys.stdin)[\"certificates\"][0][\"facility\"] == \"Osaka works\"'"

# Key files readable by others are refused, with the fix in the message.
chmod 644 "$T/recycler/identity.key"
refused "rejected: an identity key readable by others" recycler \
  issue --lot Z --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C
grep -q "chmod 600" "$T/.out" && ok "rejected: the key error says how to fix it" || notok "rejected: the key error says how to fix it"
refused "rejected: lots refuses an exposed identity key like the write commands" recycler lots
chmod 600 "$T/recycler/identity.key"

# Files named on the command line that cannot be read are input errors (exit 2).
refused "rejected: --evidence naming a missing file" recycler \
  issue --lot Z --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C --evidence "$T/no-such-file"
refused "rejected: import-records of a missing file" recycler import-records "$T/no-such-file"
refused "rejected: import-records of a directory" recycler import-records "$T"
# A transfer to a key no member has: said so, not "waits".
refused "rejected: a transfer to a key no member has" processor \
  transfer --lot FLAKE-1 --mass 1t --to "$(printf 'ab%.0s' $(seq 1 32))"
grep -q "no admitted member has that key" "$T/.refused" && ok "rejected: ... says no admitted member has that key" \
  || { notok "rejected: ... says no admitted member has that key"; sed 's/^/    /' "$T/.refused"; }
# A command on a directory that holds no ledger creates nothing there.
rc=0; "$K" -C "$T/nowhere" issue --lot Z --material PET --mass 1t --post-consumer 1t --origin JP --scheme S \
  --certificate C 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ ! -e "$T/nowhere" ] && ok "rejected: a write without a ledger: exit 2, no directory created" \
  || notok "rejected: a write without a ledger (exit $rc, $(ls -d "$T/nowhere" 2>/dev/null || echo 'nothing') created)"
mkdir "$T/empty"
rc=0; "$K" -C "$T/empty" lots 2>/dev/null || rc=$?
[ "$rc" = 2 ] && [ -z "$(ls -A "$T/empty")" ] && ok "rejected: a read in an empty directory: exit 2, no store created" \
  || notok "rejected: a read in an empty directory (exit $rc, holds: $(ls -A "$T/empty"))"

# Records files: tampered, truncated, garbage.
k recycler export-records > "$T/all.rec" 2>/dev/null
mkdir -p "$T/fresh"
k fresh join "$T/registry/genesis.bin" >/dev/null 2>&1
python3 - "$T/all.rec" "$T/tampered.rec" <<'PY'
import sys
b = bytearray(open(sys.argv[1], 'rb').read())
b[-10] ^= 0x01          # a signature byte of the last record
open(sys.argv[2], 'wb').write(b)
PY
refused "rejected: a records file with a tampered record" fresh import-records "$T/tampered.rec"
head -c -5 "$T/all.rec" > "$T/truncated.rec"
refused "rejected: a truncated records file" fresh import-records "$T/truncated.rec"
head -c 100 /dev/urandom > "$T/garbage.rec"
refused "rejected: a file that is not a records file" fresh import-records "$T/garbage.rec"
printf 'KIROKU-RECORDS-1\n\xff\xff\xff\xff' > "$T/huge.rec"
refused "rejected: an oversized length prefix" fresh import-records "$T/huge.rec"
check "the intact file imports" k fresh import-records "$T/all.rec"

# Suspension: the registry suspends the recycler; its later records are refused.
k registry suspend --member recycler --reason "investigation" >/dev/null
replicate
refused "rejected: a suspended member's new record" recycler \
  issue --lot S1 --material PET --mass 1t --post-consumer 1t --origin JP --scheme S --certificate C
check "members shows the suspension" bash -c "'$K' -C '$T/processor' members | grep -q SUSPENDED"
# admit --facility: the facilities show in members, text and --json.
pkey=$(k plant join "$T/registry/genesis.bin" --json | json 'd["key"]')
k registry admit --key "$pkey" --name plant --role processor --facility "Osaka works" --facility "Kobe yard" >/dev/null
check "admit --facility: members lists the facilities" bash -c "'$K' -C '$T/registry' members | grep -A2 '^plant ' | grep -q 'facility Kobe yard'"
check "admit --facility: ... and members --json" bash -c "'$K' -C '$T/registry' members --json | python3 -c '
import json, sys
m = [x for x in json.load(sys.stdin) if x[\"name\"] == \"plant\"][0]
assert m[\"facilities\"] == [\"Osaka works\", \"Kobe yard\"], m'"
finish
