/*
 * server — the HTTP server's plumbing (http.h): libmicrohttpd started on its own
 * threads, one request's body gathered under the cap, the route found, the response
 * sent; and the helpers of http_int.h.
 */
#include "http_int.h"
#include "token.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/mem.h"
#include "../base/version.h"
#include "../epcis/ejson.h"

#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>

/* One request while its body arrives. */
struct pending {
  char *body;
  size_t len, cap;
  int too_large;
};

uint64_t http_now_ms(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

void http_time_iso(char out[32], uint64_t ms)
{
  time_t t = (time_t)(ms / 1000);
  struct tm tm;
  gmtime_r(&t, &tm);
  size_t n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out + n, 32 - n, ".%03uZ", (unsigned)(ms % 1000));
}

/* ---- requests ---------------------------------------------------------------------------- */

const char *http_arg(const struct http_req *q, const char *name)
{
  return MHD_lookup_connection_value(q->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *http_header(const struct http_req *q, const char *name)
{
  return MHD_lookup_connection_value(q->conn, MHD_HEADER_KIND, name);
}

struct args_each { int (*fn)(void *, const char *, const char *); void *arg; int rc; };

static enum MHD_Result args_one(void *cls, enum MHD_ValueKind kind, const char *key, const char *value)
{
  struct args_each *a = cls;
  (void)kind;
  a->rc = a->fn(a->arg, key, value ? value : "");
  return a->rc ? MHD_NO : MHD_YES;
}

int http_args_each(const struct http_req *q, int (*fn)(void *arg, const char *name, const char *value), void *arg)
{
  struct args_each a = { fn, arg, 0 };
  MHD_get_connection_values(q->conn, MHD_GET_ARGUMENT_KIND, args_one, &a);
  return a.rc;
}

int http_authorised(const struct http_req *q, struct http_resp *r)
{
  char token[HTTP_TOKEN_LEN + 1];
  int rc = http_token_read(q->srv->cfg.dir, token);
  if (rc) {
    http_problem(q, r, 500, "urn:kiroku:problem:token", "the bearer token cannot be read",
                 "%s/%s: %s (kiroku http-token --rotate makes a new one)", q->srv->cfg.dir, HTTP_TOKEN_FILE,
                 kk_strerror(rc));
    return 0;
  }
  if (http_token_matches(http_header(q, "Authorization"), token)) return 1;
  http_header_add(r, "WWW-Authenticate", "Bearer realm=\"kiroku\"");
  http_problem(q, r, 401, "urn:kiroku:problem:unauthorised", "writes need the node's bearer token",
               "send Authorization: Bearer TOKEN; kiroku http-token prints it on the node's machine");
  return 0;
}

int http_read_begin(const struct http_req *q, struct http_resp *r, struct store_txn **txn)
{
  const struct http_gate *g = &q->srv->cfg.gate;
  int rc = g->enter ? g->enter(g->arg) : 0;
  if (rc == 0 && (rc = store_read(q->srv->cfg.s, txn)) != 0 && g->leave) g->leave(g->arg);
  if (rc == 0) return 0;
  http_header_add(r, "Retry-After", "1");
  if (rc == STORE_MAP_RESIZED || rc == KK_ERR(BUSY))
    http_problem(q, r, 503, "urn:kiroku:problem:busy", "the node is growing its data file", "try again in a moment");
  else http_problem_rc(q, r, rc, NULL);
  return rc;
}

void http_read_end(const struct http_req *q, struct store_txn *txn)
{
  const struct http_gate *g = &q->srv->cfg.gate;
  store_txn_abort(txn);
  if (g->leave) g->leave(g->arg);
}

/* Whether an Accept header names type before (or without) the other. */
static int accepts(const struct http_req *q, const char *type, const char *other)
{
  const char *a = http_header(q, "Accept");
  if (!a) return 0;
  const char *t = strcasestr(a, type), *o = other ? strcasestr(a, other) : NULL;
  return t && (!o || t < o);
}

int http_wants_ld(const struct http_req *q) { return accepts(q, "application/ld+json", "application/json"); }
int http_wants_html(const struct http_req *q) { return accepts(q, "text/html", "application/json"); }

size_t http_url_encode(char *out, size_t cap, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  size_t n = 0;
  for (; *s && n + 4 <= cap; s++) {
    unsigned char c = (unsigned char)*s;
    int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' ||
               c == '_' || c == '~';
    if (keep) out[n++] = (char)c;
    else { out[n++] = '%'; out[n++] = hex[c >> 4]; out[n++] = hex[c & 15]; }
  }
  if (cap) out[n < cap ? n : cap - 1] = 0;
  return n;
}

struct link { char *buf; size_t n, cap; };

static int link_arg(void *arg, const char *name, const char *value)
{
  struct link *l = arg;
  if (!strcmp(name, "nextPageToken")) return 0;
  char en[512], ev[3072];
  http_url_encode(en, sizeof en, name);
  http_url_encode(ev, sizeof ev, value);
  int w = snprintf(l->buf + l->n, l->cap - l->n, "%s=%s&", en, ev);
  if (w > 0 && (size_t)w < l->cap - l->n) l->n += (size_t)w;
  return 0;
}

void http_link_next(const struct http_req *q, struct http_resp *r, const char *path, const char *token)
{
  char buf[8192], tok[256];
  struct link l = { buf, 0, sizeof buf };
  http_args_each(q, link_arg, &l);
  buf[l.n] = 0;
  http_url_encode(tok, sizeof tok, token);
  http_header_add(r, "Link", "<%s?%snextPageToken=%s>; rel=\"next\"", path, buf, tok);
}

/* ---- responses --------------------------------------------------------------------------- */

void http_header_add(struct http_resp *r, const char *name, const char *fmt, ...)
{
  if (r->n_headers == HTTP_RESP_HEADERS) return;
  char *v = NULL;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  if (n < 0 || !(v = mem_alloc((size_t)n + 1))) return;
  va_start(ap, fmt);
  vsnprintf(v, (size_t)n + 1, fmt, ap);
  va_end(ap);
  char *k = mem_strdup(name);
  if (!k) { mem_free(v); return; }
  r->headers[r->n_headers][0] = k;
  r->headers[r->n_headers][1] = v;
  r->n_headers++;
}

static void resp_body(struct http_resp *r, unsigned status, const char *type, char *body, size_t len)
{
  mem_free(r->body);
  r->status = status;
  r->type = type;
  r->body = body;
  r->len = len;
}

void http_send_bytes(struct http_resp *r, unsigned status, const char *type, const void *p, size_t n)
{
  char *b = mem_alloc(n ? n : 1);
  if (!b) { resp_body(r, 500, NULL, NULL, 0); return; }
  memcpy(b, p, n);
  resp_body(r, status, type, b, n);
}

/* j (taken) as the body, typed. */
static void send_typed(struct http_resp *r, unsigned status, json_t *j, int epcis, const char *type)
{
  if (!j) { resp_body(r, 500, NULL, NULL, 0); return; }
  size_t flags = JSON_INDENT(2) | JSON_REAL_PRECISION(10);
  char *text = epcis ? ejson_dump(j, flags) : json_dumps(j, flags); /* both mem_alloc'd (mem_init) */
  json_decref(j);
  size_t n = text ? strlen(text) : 0;
  char *b = text ? mem_realloc(text, n + 1) : NULL;
  if (!b) { mem_free(text); resp_body(r, 500, NULL, NULL, 0); return; }
  b[n] = '\n';
  resp_body(r, status, type, b, n + 1);
}

void http_send_json(const struct http_req *q, struct http_resp *r, unsigned status, json_t *j, int epcis)
{
  send_typed(r, status, j, epcis, epcis && http_wants_ld(q) ? "application/ld+json" : "application/json");
}

void http_problem(const struct http_req *q, struct http_resp *r, unsigned status, const char *type, const char *title,
                  const char *fmt, ...)
{
  char detail[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(detail, sizeof detail, fmt, ap);
  va_end(ap);
  json_t *j = json_pack("{s:s,s:s,s:i,s:s,s:s}", "type", type, "title", title, "status", (int)status, "detail", detail,
                        "instance", q->path);
  send_typed(r, status, j, 0, "application/problem+json");
}

void http_problem_rc(const struct http_req *q, struct http_resp *r, int rc, const char *detail)
{
  unsigned status = 500;
  if (rc == KK_ERR(UNKNOWN_LOT) || rc == KK_ERR(UNKNOWN_RECORD) || rc == KK_ERR(UNKNOWN_MEMBER) || rc == STORE_ABSENT)
    status = 404;
  else if (rc == KK_ERR(BUSY) || rc == KK_ERR(UNCONFIRMED)) status = 503;
  else if (kk_err_is_input(rc)) status = 400;
  char type[96], name[64];
  snprintf(name, sizeof name, "%s", kk_errname(rc));
  for (char *p = name; *p; p++) *p = *p == '_' ? '-' : (char)(*p >= 'A' && *p <= 'Z' ? *p + 32 : *p);
  snprintf(type, sizeof type, "urn:kiroku:problem:%s", name);
  if (status == 503) http_header_add(r, "Retry-After", "1");
  http_problem(q, r, status, type, kk_strerror(rc), "%s", detail && *detail ? detail : kk_strerror(rc));
}

void http_epcis_headers(const struct http_req *q, struct http_resp *r)
{
  http_header_add(r, "GS1-EPCIS-Version", "2.0.0");
  http_header_add(r, "GS1-EPCIS-Min", "2.0.0");
  http_header_add(r, "GS1-EPCIS-Max", "2.0.0");
  http_header_add(r, "GS1-CBV-Version", "2.0.0");
  http_header_add(r, "GS1-CBV-Min", "2.0.0");
  http_header_add(r, "GS1-CBV-Max", "2.0.0");
  http_header_add(r, "GS1-EPCIS-Capture-Limit", "%u", HTTP_CAPTURE_EVENTS);
  http_header_add(r, "GS1-EPCIS-Capture-File-Size-Limit", "%zu", q->srv->cfg.body_max);
  http_header_add(r, "GS1-Vendor-Version", "kiroku %s", KIROKU_VERSION);
}

/* ---- the connection ---------------------------------------------------------------------- */

static void resp_free(struct http_resp *r)
{
  mem_free(r->body);
  for (size_t i = 0; i < r->n_headers; i++) { mem_free(r->headers[i][0]); mem_free(r->headers[i][1]); }
}

static enum MHD_Result respond(struct MHD_Connection *conn, struct http_resp *r)
{
  struct MHD_Response *m;
  if (r->body) {
    m = MHD_create_response_from_buffer_with_free_callback(r->len, r->body, mem_free);
    if (m) r->body = NULL; /* the response owns it now */
  } else m = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (!m) { resp_free(r); return MHD_NO; }
  if (r->type) MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, r->type);
  for (size_t i = 0; i < r->n_headers; i++) MHD_add_response_header(m, r->headers[i][0], r->headers[i][1]);
  MHD_add_response_header(m, "X-Content-Type-Options", "nosniff");
  enum MHD_Result ok = MHD_queue_response(conn, r->status, m);
  MHD_destroy_response(m);
  resp_free(r);
  return ok;
}

static void route(const struct http_req *q, struct http_resp *r)
{
  if (http_ui_route(q, r) || http_api_route(q, r) || http_epcis_route(q, r)) return;
  http_problem(q, r, 404, "epcisException:NoSuchResourceException", "no such resource",
               "%s is not served here (docs/http.md lists what is)", q->path);
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
  struct http_server *h = cls;
  struct pending *p = *con_cls;
  struct http_req q = { h, conn, method, url, NULL, 0 };
  struct http_resp r;
  (void)version;
  memset(&r, 0, sizeof r);
  if (!p) {
    if (!(p = mem_calloc(1, sizeof *p))) return MHD_NO;
    *con_cls = p;
    /* A body announced above the cap is refused before it is read. */
    const char *cl = http_header(&q, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (cl && strtoull(cl, NULL, 10) > h->cfg.body_max) p->too_large = 1;
    else return MHD_YES;
  }
  if (*upload_size) {
    if (!p->too_large && p->len + *upload_size > h->cfg.body_max) p->too_large = 1;
    if (!p->too_large) {
      if (p->len + *upload_size + 1 > p->cap) {
        size_t cap = p->cap ? p->cap : 8192;
        while (cap < p->len + *upload_size + 1) cap *= 2;
        char *b = mem_realloc(p->body, cap);
        if (!b) return MHD_NO;
        p->body = b;
        p->cap = cap;
      }
      memcpy(p->body + p->len, upload, *upload_size);
      p->len += *upload_size;
    }
    *upload_size = 0;
    return MHD_YES;
  }
  if (p->too_large) {
    http_epcis_headers(&q, &r);
    http_problem(&q, &r, 413, "epcisException:CaptureLimitExceededException", "the request body is too large",
                 "at most %zu bytes (GS1-EPCIS-Capture-File-Size-Limit)", h->cfg.body_max);
    return respond(conn, &r);
  }
  if (p->body) p->body[p->len] = 0;
  q.body = p->body ? p->body : "";
  q.body_len = p->len;
  route(&q, &r);
  if (!r.status) http_problem(&q, &r, 500, "urn:kiroku:problem:internal", "internal error", "no answer was made");
  return respond(conn, &r);
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe)
{
  struct pending *p = *con_cls;
  (void)cls;
  (void)conn;
  (void)toe;
  if (p) { mem_free(p->body); mem_free(p); }
  *con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
  char line[512];
  (void)cls;
  vsnprintf(line, sizeof line, fmt, ap);
  size_t n = strlen(line);
  while (n && line[n - 1] == '\n') line[--n] = 0;
  log_warn("http: %s", line);
}

/* A PEM file into a new string, or NULL with why. */
static char *read_pem(const char *path, const char *what, char *why, size_t whylen)
{
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  size_t len = 0;
  if (f) {
    buf = mem_alloc(1 << 20);
    if (buf) len = fread(buf, 1, (1 << 20) - 1, f);
    fclose(f);
  }
  if (!buf || !len) {
    mem_free(buf);
    snprintf(why, whylen, "the TLS %s %s cannot be read", what, path);
    return NULL;
  }
  buf[len] = 0;
  return buf;
}

int http_start(const struct http_config *cfg, struct http_server **out, char *why, size_t whylen)
{
  struct http_server *h = mem_calloc(1, sizeof *h);
  if (!h) return -ENOMEM;
  h->cfg = *cfg;
  if (!h->cfg.body_max) h->cfg.body_max = HTTP_BODY_MAX;
  if (!h->cfg.timeout_s) h->cfg.timeout_s = HTTP_TIMEOUT_S;
  snprintf(h->host, sizeof h->host, "%s", cfg->host);
  snprintf(h->dir, sizeof h->dir, "%s", cfg->dir);
  h->cfg.host = h->host;
  h->cfg.dir = h->dir;
  h->next_job = 1;
  pthread_mutex_init(&h->jobs_mu, NULL);
  int tls = cfg->tls_cert && cfg->tls_key;
  if (tls && !MHD_is_feature_supported(MHD_FEATURE_TLS)) {
    snprintf(why, whylen, "this libmicrohttpd was built without TLS");
    http_stop(h);
    return KK_ERR(USAGE);
  }
  if (tls && (!(h->cert_pem = read_pem(cfg->tls_cert, "certificate", why, whylen)) ||
              !(h->key_pem = read_pem(cfg->tls_key, "key", why, whylen)))) {
    http_stop(h);
    return KK_ERR(USAGE);
  }
  struct addrinfo hints, *ai = NULL;
  char port[16];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  snprintf(port, sizeof port, "%d", cfg->port);
  int g = getaddrinfo(cfg->host, port, &hints, &ai);
  if (g) {
    snprintf(why, whylen, "%s: %s", cfg->host, gai_strerror(g));
    http_stop(h);
    return KK_ERR(USAGE);
  }
  unsigned flags = MHD_USE_POLL_INTERNAL_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_ERROR_LOG;
  if (ai->ai_family == AF_INET6) flags |= MHD_USE_IPv6;
  if (tls) flags |= MHD_USE_TLS;
  h->d = MHD_start_daemon(flags, (uint16_t)cfg->port, NULL, NULL, on_request, h,
                          MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h,
                          MHD_OPTION_SOCK_ADDR, ai->ai_addr,
                          MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS,
                          MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_CONNECTIONS_PER_IP,
                          MHD_OPTION_CONNECTION_TIMEOUT, h->cfg.timeout_s,
                          MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)(128 * 1024),
                          MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
                          tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, h->cert_pem,
                          MHD_OPTION_HTTPS_MEM_KEY, h->key_pem, MHD_OPTION_END);
  freeaddrinfo(ai);
  if (!h->d) {
    if (tls)
      snprintf(why, whylen, "cannot serve HTTPS on %s:%d: the certificate %s and the key %s do not load as a pair (the "
               "TLS library's reason is logged above), or the address is in use", cfg->host, cfg->port, cfg->tls_cert,
               cfg->tls_key);
    else snprintf(why, whylen, "cannot listen on %s:%d (in use, or not an address of this machine)", cfg->host, cfg->port);
    http_stop(h);
    return KK_ERR(USAGE);
  }
  const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
  h->port = info ? info->port : cfg->port;
  int v6 = strchr(h->host, ':') != NULL;
  snprintf(h->url, sizeof h->url, "%s://%s%s%s:%d", tls ? "https" : "http", v6 ? "[" : "", h->host, v6 ? "]" : "",
           h->port);
  *out = h;
  return 0;
}

int http_port(const struct http_server *h) { return h->port; }
const char *http_url(const struct http_server *h) { return h->url; }

void http_stop(struct http_server *h)
{
  if (!h) return;
  if (h->d) MHD_stop_daemon(h->d);
  for (size_t i = 0; i < h->n_jobs; i++) mem_free(h->jobs[i].errors);
  pthread_mutex_destroy(&h->jobs_mu);
  mem_free(h->cert_pem);
  mem_free(h->key_pem);
  mem_free(h);
}
