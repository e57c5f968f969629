#!/usr/bin/env bash
# HTTPS: a node given a certificate and key (http_tls_cert, http_tls_key) serves the
# same interface over TLS, and plain HTTP to it fails; a key that does not load stops the
# node at start with the reason (exit 3), and so does a certificate without its key.
source "$(dirname "$0")/lib.sh"
command -v curl >/dev/null && command -v openssl >/dev/null ||
  { notok "http tls: curl and openssl are needed (tools/deps.sh installs them)"; finish; }
members recycler
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
  -keyout "$T/key.pem" -out "$T/cert.pem" >/dev/null 2>&1
printf 'http = 127.0.0.1:0\nhttp_tls_cert = %s\nhttp_tls_key = %s\n' "$T/cert.pem" "$T/key.pem" > "$T/tls.conf"
NODE_CONFIG[recycler]="$T/tls.conf"
NODE_ARGS[recycler]="--standalone"
start_node recycler
U=$(k recycler status --json | json 'd["http"]')
check "http tls: the node says it serves https" bash -c "[[ '$U' == https://127.0.0.1:* ]]"
check "http tls: GET /kiroku/v1/members over TLS, the certificate checked" \
  test "$(curl -s --cacert "$T/cert.pem" "$U/kiroku/v1/members" | json 'sorted(m["name"] for m in d)')" = "['recycler', 'registry']"
check "http tls: OPTIONS / over TLS has the discovery headers" \
  bash -c "curl -s -X OPTIONS --cacert '$T/cert.pem' -D - -o /dev/null '$U/' | grep -qi '^GS1-EPCIS-Version: 2.0.0'"
check "http tls: plain HTTP to the TLS port gets no answer" bash -c "! curl -s -m 5 -o /dev/null '${U/https/http}/'"
stop_node recycler
printf 'not a key\n' > "$T/bad.pem"
printf 'http = 127.0.0.1:0\nhttp_tls_cert = %s\nhttp_tls_key = %s\n' "$T/cert.pem" "$T/bad.pem" > "$T/bad.conf"
rc=0; "$KN" -C "$T/recycler" --standalone --listen 127.0.0.1:0 --config "$T/bad.conf" 2>"$T/bad.log" || rc=$?
check "http tls: a key that does not load stops the node at start (exit 3) saying why" \
  bash -c "[ $rc = 3 ] && grep -q 'do not load as a pair' '$T/bad.log'"
printf 'http = 127.0.0.1:0\nhttp_tls_cert = %s\n' "$T/cert.pem" > "$T/half.conf"
rc=0; "$KN" -C "$T/recycler" --standalone --listen 127.0.0.1:0 --config "$T/half.conf" 2>"$T/half.log" || rc=$?
check "http tls: a certificate without its key stops the node at start (exit 3)" \
  bash -c "[ $rc = 3 ] && grep -q 'both http_tls_cert and http_tls_key' '$T/half.log'"
finish
