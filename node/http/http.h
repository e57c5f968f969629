/*
 * http — the node's HTTP interface (docs/http.md): the EPCIS 2.0 REST binding (GET /,
 * OPTIONS, /capture, /events, /eventTypes), Kiroku's JSON API under /kiroku/v1/, and its
 * OpenAPI description. Served by libmicrohttpd on threads of its own, one a connection
 * (at most HTTP_CONNECTIONS, HTTP_CONNECTIONS_PER_IP from one address, each cut off
 * after timeout_s without progress); it reads the store directly, inside the reader gate
 * the daemon gives it, and hands every write to the running node over its control
 * socket, as the command line does (so a write takes the node's one writer, its rules
 * and its own-head gate, and never blocks ingest).
 *
 * Reads are open on the bound address; writes need the bearer token kept in the data
 * directory (token.h). Request bodies are capped at body_max bytes; every error is an
 * RFC 7807 application/problem+json document.
 *
 * Ownership: the server borrows cfg's pointers (the store, the keys, the strings) until
 * http_stop returns. Threads: http_start and http_stop on the daemon's thread; the
 * gate's functions are called on the server's threads. Errors: http_start returns 0 or
 * a negative code with why (the address does not bind, the TLS files do not load).
 */
#ifndef KK_HTTP_H
#define KK_HTTP_H

#include <stddef.h>
#include <stdint.h>
#include "../ledger/store.h"

#define HTTP_BODY_MAX (16u << 20)      /* largest request body (default), bytes */
#define HTTP_CAPTURE_EVENTS 10000      /* events in one captured document (GS1-EPCIS-Capture-Limit) */
#define HTTP_CONNECTIONS 64
#define HTTP_CONNECTIONS_PER_IP 16
#define HTTP_TIMEOUT_S 30              /* a connection idle this long is closed (default) */
#define HTTP_JOBS 1000                 /* capture jobs remembered (newest) */

/* The daemon's promise not to resize the store's map while a server thread reads it:
 * enter before a read transaction begins (0, or an error: the request gets 503), leave
 * after it ends. */
struct http_gate {
  int (*enter)(void *arg);
  void (*leave)(void *arg);
  void *arg;
};

struct http_config {
  const char *host;                    /* address to bind (a numeric IPv4 or IPv6 address) */
  int port;                            /* 0: any free port (http_port tells which) */
  const char *dir;                     /* data directory: token, control socket, master data */
  struct store *s;
  const uint8_t *pk, *sk, *network;    /* the member (32, 64, 32 bytes): captured records */
  const char *tls_cert, *tls_key;      /* PEM files, both or neither */
  size_t body_max;                     /* 0: HTTP_BODY_MAX */
  unsigned timeout_s;                  /* 0: HTTP_TIMEOUT_S */
  struct http_gate gate;
};

struct http_server;

int http_start(const struct http_config *cfg, struct http_server **out, char *why, size_t whylen);
/* The port it listens on; its base URL ("http://127.0.0.1:8080"). */
int http_port(const struct http_server *h);
const char *http_url(const struct http_server *h);
/* Stops accepting, waits for the requests in flight, frees h (NULL is ignored). */
void http_stop(struct http_server *h);

#endif
