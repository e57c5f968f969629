/*
 * http_int — what the HTTP server's parts share (private to node/http/): one request,
 * its response, and the helpers every handler uses. server.c owns the connection
 * plumbing; epcis_rest.c, api.c and openapi.c answer routes.
 *
 * A handler runs on the connection's own thread: it may block (a write waits for the
 * node's answer). It fills the response; the server sends it.
 */
#ifndef KK_HTTP_INT_H
#define KK_HTTP_INT_H

#include <jansson.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "http.h"

struct MHD_Daemon;
struct MHD_Connection;

/* A capture job (EPCIS REST binding, CaptureJob), remembered in memory. */
struct http_job {
  uint64_t id;
  uint64_t created_ms, finished_ms;
  int running, success;
  char *errors;                        /* JSON array text (mem_alloc'd) */
  size_t events, records;
};

struct http_server {
  struct http_config cfg;
  char host[256], dir[4096], tls_cert[4096], tls_key[4096];
  char *cert_pem, *key_pem;
  struct MHD_Daemon *d;
  int port;
  char url[320];
  pthread_mutex_t jobs_mu;
  struct http_job jobs[HTTP_JOBS];     /* a ring: the newest HTTP_JOBS */
  size_t n_jobs;
  uint64_t next_job;
};

struct http_req {
  struct http_server *srv;
  struct MHD_Connection *conn;
  const char *method;                  /* "GET", "POST", ... */
  const char *path;                    /* percent-decoded */
  const char *body;                    /* NUL-terminated; body_len bytes */
  size_t body_len;
};

#define HTTP_RESP_HEADERS 16
struct http_resp {
  unsigned status;                     /* 0: nobody answered (404) */
  const char *type;                    /* Content-Type */
  char *body;                          /* mem_alloc'd, or NULL (no body) */
  size_t len;
  size_t n_headers;
  char *headers[HTTP_RESP_HEADERS][2]; /* mem_alloc'd name, value */
};

/* ---- requests ---------------------------------------------------------------------------- */
const char *http_arg(const struct http_req *q, const char *name);      /* a query argument, decoded */
const char *http_header(const struct http_req *q, const char *name);
/* Calls fn for each query argument (name, value); stops at and returns fn's non-zero. */
int http_args_each(const struct http_req *q, int (*fn)(void *arg, const char *name, const char *value), void *arg);
/* Whether the request carries the data directory's bearer token; if not, r is answered
 * (401, or 500 when the token cannot be read) and 0 returned. */
int http_authorised(const struct http_req *q, struct http_resp *r);
/* A read transaction inside the reader gate: 0, or r answered (503) and an error. */
int http_read_begin(const struct http_req *q, struct http_resp *r, struct store_txn **txn);
void http_read_end(const struct http_req *q, struct store_txn *txn);
/* Whether the client asked for JSON-LD (Accept: application/ld+json). */
int http_wants_ld(const struct http_req *q);
/* Whether the client asked for HTML before JSON (a browser). */
int http_wants_html(const struct http_req *q);

/* s percent-encoded (RFC 3986: unreserved characters kept) into out; its length. */
size_t http_url_encode(char *out, size_t cap, const char *s);
/* Link: <path?the request's arguments&nextPageToken=token>; rel="next". */
void http_link_next(const struct http_req *q, struct http_resp *r, const char *path, const char *token);

/* ---- responses --------------------------------------------------------------------------- */
void http_header_add(struct http_resp *r, const char *name, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* j (a new reference, taken) as the body: Kiroku's JSON (json_dumps), or with epcis set an
 * EPCIS document (ejson_dump: quantities as the exact numbers they are) typed
 * application/ld+json or application/json as the client asked. */
void http_send_json(const struct http_req *q, struct http_resp *r, unsigned status, json_t *j, int epcis);
void http_send_bytes(struct http_resp *r, unsigned status, const char *type, const void *p, size_t n);
/* RFC 7807: {type, title, status, detail, instance}; type is a URI (EPCIS exceptions
 * "epcisException:X", Kiroku's "urn:kiroku:problem:NAME"). */
void http_problem(const struct http_req *q, struct http_resp *r, unsigned status, const char *type, const char *title,
                  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* A Kiroku error code as a problem: its status (an input error 400, an unknown lot,
 * record or member 404, a busy or unconfirmed feed 503, anything else 500), its name as
 * the type, kk_strerror as the title and `detail` (or the message) as detail. */
void http_problem_rc(const struct http_req *q, struct http_resp *r, int rc, const char *detail);
/* The EPCIS discovery headers (GS1-EPCIS-Version, -Min, -Max, GS1-CBV-*, capture limits,
 * GS1-Vendor-Version). */
void http_epcis_headers(const struct http_req *q, struct http_resp *r);

/* ---- routes ------------------------------------------------------------------------------ */
/* Each returns 1 when the path is its own (r answered), 0 otherwise. */
int http_epcis_route(const struct http_req *q, struct http_resp *r);
int http_api_route(const struct http_req *q, struct http_resp *r);
/* POST /kiroku/v1/{name} for the op `name` (api_write.c): 1 when name is one (r answered). */
int http_api_write(const struct http_req *q, struct http_resp *r, const char *name);
/* The explorer's pages and the passport (ui.c). */
int http_ui_route(const struct http_req *q, struct http_resp *r);
/* The OpenAPI document of everything served (openapi.c). */
json_t *http_openapi(const struct http_server *h);

/* Milliseconds since the epoch; an ISO 8601 UTC time of them. */
uint64_t http_now_ms(void);
void http_time_iso(char out[32], uint64_t ms);

#endif
