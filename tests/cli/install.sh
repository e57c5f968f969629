#!/usr/bin/env bash
# make install: the programs, man pages made from their own help text (rendered here
# with no roff warning, one section per command) and bash completion that offers the
# commands and each command's options; make uninstall takes them all away again.
source "$(dirname "$0")/lib.sh"
SRC=$(cd "$(dirname "$0")/../.." && pwd)
R=$T/root
# The binaries under test, where make built them (UNIT_BIN lives in the build folder).
mk() { make -s -C "$SRC" BUILD="$(dirname "$UNIT_BIN")" BIN="$(dirname "$K")" DESTDIR="$R" PREFIX=/usr "$@"; }
check "install: make install" mk install
check "install: the programs, executable" test -x "$R/usr/bin/kiroku" -a -x "$R/usr/bin/kiroku-node"
check "install: ... the ones built" test "$("$R/usr/bin/kiroku" --version)" = "$("$K" --version)"
check "install: man pages for both" test -f "$R/usr/share/man/man1/kiroku.1" -a -f "$R/usr/share/man/man1/kiroku-node.1"
for page in kiroku kiroku-node; do
  groff -man -Tutf8 -P-cbou -ww "$R/usr/share/man/man1/$page.1" > "$T/$page.txt" 2> "$T/$page.warn"
  check "install: $page.1 renders with no warning" test ! -s "$T/$page.warn"
done
missing=""
for cmd in $("$K" help --commands); do
  grep -q "^   $cmd\$" "$T/kiroku.txt" || missing="$missing $cmd"
  syn=$("$K" help "$cmd" | head -1 | sed 's/^usage: //')
  grep -qF -- "$syn" "$T/kiroku.txt" || missing="$missing $cmd(synopsis)"
done
check "install: kiroku.1 has every command with its synopsis${missing:+ (missing:$missing)}" test -z "$missing"
check "install: kiroku-node.1 has every option" bash -c "for o in --listen --peer --config --standalone; do grep -q -- \"\$o\" '$T/kiroku-node.txt' || exit 1; done"

# Completion, as bash-completion would load it.
comp=$R/usr/share/bash-completion/completions
check "install: completion for both programs" test -f "$comp/kiroku" -a -e "$comp/kiroku-node"
complete_words() { # PROGRAM WORD...: what completing the last word offers
  bash -c 'source "$1"; shift; fn=_kiroku; [ "${1##*/}" = kiroku-node ] && fn=_kiroku_node
           COMP_WORDS=("$@"); COMP_CWORD=$(($# - 1)); $fn; printf "%s\n" "${COMPREPLY[@]}" | sort | tr "\n" " "' \
    _ "$comp/kiroku" "$@"
}
check "install: completes commands" test "$(complete_words "$R/usr/bin/kiroku" verif)" = "verify verify-bundle verify-evidence "
check "install: ... after -C DIR" test "$(complete_words "$R/usr/bin/kiroku" -C "$T" aud)" = "audit "
check "install: completes a command's options" test "$(complete_words "$R/usr/bin/kiroku" verify X --c)" = "--claim "
check "install: ... and kiroku-node's" test "$(complete_words "$R/usr/bin/kiroku-node" --st)" = "--standalone "
check "install: make uninstall" mk uninstall
check "install: ... leaves nothing behind" test -z "$(find "$R" -type f -o -type l)"
finish
