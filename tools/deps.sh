#!/usr/bin/env bash
# Installs Kiroku's build and test dependencies from Debian when pkg-config cannot find them.
# Called by the Makefile before the first build; safe to run again (does nothing then).
set -euo pipefail
pcs=(lmdb libsodium libprotobuf-c libuv jansson libmicrohttpd libgvc)
need=0
command -v pkg-config >/dev/null 2>&1 || need=1
command -v protoc-c >/dev/null 2>&1 || need=1
command -v python3 >/dev/null 2>&1 || need=1   # the CLI tests read --json with it
command -v faketime >/dev/null 2>&1 || need=1  # the clock-skew test runs a node on a skewed clock
command -v groff >/dev/null 2>&1 || need=1     # the install test renders the man pages
command -v curl >/dev/null 2>&1 || need=1      # the HTTP tests talk to the node with it
command -v openssl >/dev/null 2>&1 || need=1   # the HTTPS test makes its certificate with it
if [ "$need" = 0 ]; then
  for p in "${pcs[@]}"; do pkg-config --exists "$p" || need=1; done
fi
[ "$need" = 0 ] && exit 0
pkgs=(pkg-config liblmdb-dev libsodium-dev libprotobuf-c-dev protobuf-c-compiler libuv1-dev libjansson-dev libmicrohttpd-dev libgraphviz-dev)
command -v python3 >/dev/null 2>&1 || pkgs+=(python3)
command -v faketime >/dev/null 2>&1 || pkgs+=(faketime)
command -v groff >/dev/null 2>&1 || pkgs+=(groff-base)
command -v curl >/dev/null 2>&1 || pkgs+=(curl)
command -v openssl >/dev/null 2>&1 || pkgs+=(openssl)
if [ "$(id -u)" != 0 ]; then
  echo "deps: missing build dependencies; install as root: apt-get install -y ${pkgs[*]}" >&2
  exit 1
fi
echo "deps: installing ${pkgs[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get install -y -qq "${pkgs[@]}" >/dev/null 2>&1 || {
  apt-get update -qq >/dev/null
  apt-get install -y -qq "${pkgs[@]}" >/dev/null
}
for p in "${pcs[@]}"; do pkg-config --exists "$p" || { echo "deps: $p still missing" >&2; exit 1; }; done
