#!/usr/bin/env bash
# mkman.sh NAME BINARY: prints a man page (roff) for kiroku or kiroku-node made from the
# program's own help text, so that the page and `--help` never disagree (make builds
# both pages into $(BUILD)/man; make install installs them).
set -euo pipefail
name=$1 bin=$2

# Help text as roff body: backslashes escaped, a line starting with . or ' kept literal,
# characters beyond ASCII as roff's \[uXXXX] (perl is part of every Debian system).
esc() { sed -e 's/\\/\\e/g' -e "s/^\([.']\)/\\\\\&\1/" | perl -CS -pe 's/([^\x00-\x7f])/sprintf("\\[u%04X]", ord($1))/ge'; }

version=$("$bin" --version | awk '{ print $2 }')
printf '.TH %s 1 "" "%s %s" "Kiroku"\n' "$(tr a-z A-Z <<<"$name")" "$name" "$version"
echo ".SH NAME"
case $name in
  kiroku) echo 'kiroku \- traceability ledger for recycled material: the command line' ;;
  kiroku-node) echo 'kiroku-node \- a Kiroku node: replicates every feed with its peers' ;;
  *) echo "mkman.sh: unknown program $name" >&2; exit 2 ;;
esac
echo ".SH DESCRIPTION"
echo ".nf"
"$bin" --help | esc
echo ".fi"
if [ "$name" = kiroku ]; then
  echo ".SH COMMANDS"
  for cmd in $("$bin" help --commands); do
    echo ".SS $cmd"
    echo ".nf"
    "$bin" help "$cmd" | esc
    echo ".fi"
  done
  echo ".SH ENVIRONMENT"
  echo ".TP"
  echo ".B KIROKU_DIR"
  echo "the data directory when \\fB-C\\fR is not given (else ./.kiroku)."
fi
echo ".SH SEE ALSO"
if [ "$name" = kiroku ]; then echo ".BR kiroku-node (1)"; else echo ".BR kiroku (1)"; fi
echo ".PP"
echo "docs/cli.md and docs/operations.md in the Kiroku sources."
