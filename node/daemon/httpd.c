/*
 * httpd — the node's HTTP server (node/http/http.h) wired into the daemon: its settings,
 * the bearer token made at first start, the reader gate that keeps the map from being
 * resized under the server's read transactions, start and stop.
 */
#include "node.h"
#include "repl.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../http/http.h"
#include "../http/token.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int node_set_http(struct node *n, const char *hostport, const char **why)
{
  /* PORT or :PORT alone: loopback (reads are open to whoever reaches the address) */
  char buf[300];
  if (hostport[0] == ':' || (hostport[0] && strspn(hostport, "0123456789") == strlen(hostport))) {
    snprintf(buf, sizeof buf, "127.0.0.1:%s", hostport + (hostport[0] == ':'));
    hostport = buf;
  }
  const char *colon = strrchr(hostport, ':');
  *why = "not [HOST:]PORT (e.g. 8080 for 127.0.0.1:8080, [::1]:8080, 0.0.0.0:8080; port 0: any free one)";
  if (!colon || colon == hostport || !colon[1]) return KK_ERR(USAGE);
  size_t l = (size_t)(colon - hostport);
  if (hostport[0] == '[' && colon[-1] == ']') { hostport++; l -= 2; }
  if (l == 0 || l >= sizeof n->http_host) return KK_ERR(USAGE);
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || colon[1] == '-' || colon[1] == '+' || p < 0 || p > 65535) {
    *why = "the port is not a number from 0 to 65535";
    return KK_ERR(USAGE);
  }
  memcpy(n->http_host, hostport, l);
  n->http_host[l] = 0;
  n->http_port = (int)p;
  n->http_on = 1;
  *why = NULL;
  return 0;
}

int node_set_http_file(struct node *n, const char *key, const char *path, const char **why)
{
  char *dst = !strcmp(key, "http_tls_cert") ? n->http_cert : !strcmp(key, "http_tls_key") ? n->http_key : NULL;
  if (!dst) { *why = "unknown setting"; return KK_ERR(USAGE); }
  if (strlen(path) >= sizeof n->http_cert) { *why = "the path is too long"; return KK_ERR(USAGE); }
  strcpy(dst, path);
  return 0;
}

/* ---- the reader gate --------------------------------------------------------------------- */

/* How long a new reader holds back while a growth waits for the readers before it to
 * leave: under a steady stream of requests readers always overlap, and a growth that
 * waited for a moment with none would wait forever (and with it the node's writes). */
#define GATE_HOLD_BACK_MS 200

static int gate_enter(void *arg)
{
  struct node *n = arg;
  struct timespec until;
  clock_gettime(CLOCK_REALTIME, &until);
  until.tv_nsec += GATE_HOLD_BACK_MS * 1000000L;
  if (until.tv_nsec >= 1000000000L) { until.tv_sec++; until.tv_nsec -= 1000000000L; }
  pthread_mutex_lock(&n->gate.mu);
  for (;;) {
    if (n->gate.growing) pthread_cond_wait(&n->gate.cv, &n->gate.mu);
    else if (n->gate.want && pthread_cond_timedwait(&n->gate.cv, &n->gate.mu, &until) == 0) continue;
    else break;
  }
  n->gate.readers++;
  pthread_mutex_unlock(&n->gate.mu);
  return 0;
}

static void gate_leave(void *arg)
{
  struct node *n = arg;
  pthread_mutex_lock(&n->gate.mu);
  if (--n->gate.readers == 0 && n->gate.want && !n->gate.closed) uv_async_send(&n->gate_async);
  pthread_mutex_unlock(&n->gate.mu);
}

int node_readers_hold(struct node *n)
{
  if (!n->gate_open) return 1;  /* no HTTP server: no other reader */
  pthread_mutex_lock(&n->gate.mu);
  int free_ = n->gate.readers == 0;
  if (free_) n->gate.growing = 1;
  n->gate.want = !free_;
  pthread_mutex_unlock(&n->gate.mu);
  return free_;
}

void node_readers_release(struct node *n)
{
  if (!n->gate_open) return;
  pthread_mutex_lock(&n->gate.mu);
  n->gate.growing = n->gate.want = 0;
  pthread_cond_broadcast(&n->gate.cv);
  pthread_mutex_unlock(&n->gate.mu);
}

/* The last reader left while a growth waited: run it now (a map another process grew
 * is adopted by the next tick). */
static void on_gate_async(uv_async_t *a)
{
  struct node *n = a->data;
  repl_grow_resume(n);
  /* nothing left to grow (or it waits for ingest): readers need not hold back */
  pthread_mutex_lock(&n->gate.mu);
  if (!n->gate.growing && n->gate.readers == 0 && n->gate.want) {
    n->gate.want = 0;
    pthread_cond_broadcast(&n->gate.cv);
  }
  pthread_mutex_unlock(&n->gate.mu);
}

/* ---- lifecycle --------------------------------------------------------------------------- */

int node_http_start(struct node *n)
{
  if (!n->http_on) return 0;
  char token[HTTP_TOKEN_LEN + 1], why[400] = "";
  int rc = http_token_ensure(n->dir, 0, token);
  if (rc) {
    log_error("http: the bearer token %s/%s: %s", n->dir, HTTP_TOKEN_FILE, kk_strerror(rc));
    return rc;
  }
  if (!!n->http_cert[0] != !!n->http_key[0]) {
    log_error("http: TLS needs both http_tls_cert and http_tls_key");
    return KK_ERR(USAGE);
  }
  pthread_mutex_init(&n->gate.mu, NULL);
  pthread_cond_init(&n->gate.cv, NULL);
  uv_async_init(n->loop, &n->gate_async, on_gate_async);
  n->gate_async.data = n;
  n->gate_open = 1;
  struct http_config cfg = {
    .host = n->http_host, .port = n->http_port, .dir = n->dir, .s = n->s, .pk = n->pk, .sk = n->sk,
    .network = n->network, .tls_cert = n->http_cert[0] ? n->http_cert : NULL, .tls_key = n->http_key[0] ? n->http_key : NULL,
    .body_max = (size_t)(n->http_body_mb << 20), .timeout_s = (unsigned)n->http_timeout_s,
    .gate = { gate_enter, gate_leave, n },
  };
  if ((rc = http_start(&cfg, &n->http, why, sizeof why))) {
    log_error("http: %s", why[0] ? why : kk_strerror(rc));
    return rc;
  }
  log_info("http: serving %s (the EPCIS 2.0 REST binding, /kiroku/v1/ and the explorer)", http_url(n->http));
  return 0;
}

void node_http_close(struct node *n)
{
  if (!n->gate_open) return;
  pthread_mutex_lock(&n->gate.mu);
  n->gate.closed = 1;
  pthread_mutex_unlock(&n->gate.mu);
  if (!uv_is_closing((uv_handle_t *)&n->gate_async)) uv_close((uv_handle_t *)&n->gate_async, NULL);
}

void node_http_free(struct node *n)
{
  http_stop(n->http);
  n->http = NULL;
  if (n->gate_open) {
    pthread_mutex_destroy(&n->gate.mu);
    pthread_cond_destroy(&n->gate.cv);
    n->gate_open = 0;
  }
}
