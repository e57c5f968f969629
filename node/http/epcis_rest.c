/*
 * epcis_rest — the EPCIS 2.0 REST binding, the subset real clients use (docs/http.md):
 * discovery (GET /, OPTIONS), the events as a query (GET /events with the simple
 * filters, pages linked by rel="next"), one event (GET /events/{eventID}), the event
 * types held (GET /eventTypes), and capture (POST /capture as a capture job, GET
 * /capture[/{id}], POST /events for one event).
 *
 * The events are the ledger's export (node/epcis/export.h): every node with the same
 * records serves the same events in the same order. A captured event becomes this
 * member's record through node/epcis/capture.h, written by the node over its control
 * socket: all or none (captureErrorBehaviour rollback).
 */
#include "http_int.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../client/ctl.h"
#include "../epcis/capture.h"
#include "../epcis/ejson.h"
#include "../epcis/evalue.h"
#include "../epcis/export.h"
#include "../epcis/gs1.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define EVENTS_PER_PAGE 100          /* perPage by default */
#define EVENTS_PER_PAGE_MAX 1000

static int is_get(const struct http_req *q) { return !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD"); }

/* 204 with Allow and the discovery headers. */
static void options(const struct http_req *q, struct http_resp *r, const char *allow)
{
  http_epcis_headers(q, r);
  http_header_add(r, "Allow", "%s", allow);
  r->status = 204;
}

static void not_allowed(const struct http_req *q, struct http_resp *r, const char *allow)
{
  http_header_add(r, "Allow", "%s", allow);
  http_problem(q, r, 405, "epcisException:MethodNotAllowedException", "method not allowed", "%s %s: use %s", q->method,
               q->path, allow);
}

/* The ledger's events (a new reference to the export's eventList) and its @context. */
static int ledger_events(const struct http_req *q, struct http_resp *r, json_t **events, json_t **context)
{
  struct store_txn *txn;
  json_t *doc = NULL;
  size_t n;
  if (http_read_begin(q, r, &txn)) return -1;
  int rc = epcis_export(txn, q->srv->cfg.s, NULL, 0, &doc, &n);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, "reading the ledger's events"); return -1; }
  *events = json_incref(json_object_get(json_object_get(doc, "epcisBody"), "eventList"));
  *context = json_incref(json_object_get(doc, "@context"));
  json_decref(doc);
  return 0;
}

/* An EPCISQueryDocument holding events (taken). */
static json_t *query_document(json_t *context, json_t *events)
{
  char now[32];
  http_time_iso(now, http_now_ms());
  return json_pack("{s:o,s:s,s:s,s:s,s:{s:{s:s,s:{s:o}}}}", "@context", context, "type", "EPCISQueryDocument",
                   "schemaVersion", "2.0", "creationDate", now, "epcisBody", "queryResults", "queryName",
                   "SimpleEventQuery", "resultsBody", "eventList", events);
}

/* ---- the simple event query -------------------------------------------------------------- */

struct query {
  const char *event_type, *action, *biz_step, *disposition, *read_point, *biz_location, *event_id;
  const char *epc, *any_epc, *parent_id, *input_epc, *output_epc;
  const char *epc_class, *any_class, *input_class, *output_class;
  int has_ge, has_lt;
  uint64_t ge_ms, lt_ms;
  size_t per_page;
  const char *token;
  char bad[200];                     /* the first parameter at fault */
};

static const struct { const char *name; size_t off; } query_lists[] = {
  { "eventType", offsetof(struct query, event_type) }, { "EQ_action", offsetof(struct query, action) },
  { "EQ_bizStep", offsetof(struct query, biz_step) }, { "EQ_disposition", offsetof(struct query, disposition) },
  { "EQ_readPoint", offsetof(struct query, read_point) }, { "EQ_bizLocation", offsetof(struct query, biz_location) },
  { "EQ_eventID", offsetof(struct query, event_id) }, { "MATCH_epc", offsetof(struct query, epc) },
  { "MATCH_anyEPC", offsetof(struct query, any_epc) }, { "MATCH_parentID", offsetof(struct query, parent_id) },
  { "MATCH_inputEPC", offsetof(struct query, input_epc) }, { "MATCH_outputEPC", offsetof(struct query, output_epc) },
  { "MATCH_epcClass", offsetof(struct query, epc_class) }, { "MATCH_anyEPCClass", offsetof(struct query, any_class) },
  { "MATCH_inputEPCClass", offsetof(struct query, input_class) },
  { "MATCH_outputEPCClass", offsetof(struct query, output_class) },
};
#define N_QUERY_LISTS (sizeof query_lists / sizeof query_lists[0])

static int query_arg(void *arg, const char *name, const char *value)
{
  struct query *qy = arg;
  for (size_t i = 0; i < N_QUERY_LISTS; i++)
    if (!strcmp(name, query_lists[i].name)) {
      if (!*value) { snprintf(qy->bad, sizeof qy->bad, "%s is empty", name); return 1; }
      *(const char **)((char *)qy + query_lists[i].off) = value;
      return 0;
    }
  if (!strcmp(name, "GE_eventTime") || !strcmp(name, "LT_eventTime")) {
    uint64_t ms;
    if (!evalue_time_ms(value, &ms)) {
      snprintf(qy->bad, sizeof qy->bad, "%s: '%.80s' is not an ISO 8601 date-time", name, value);
      return 1;
    }
    if (name[0] == 'G') { qy->has_ge = 1; qy->ge_ms = ms; }
    else { qy->has_lt = 1; qy->lt_ms = ms; }
    return 0;
  }
  if (!strcmp(name, "perPage")) {
    char *end;
    unsigned long n = strtoul(value, &end, 10);
    if (!*value || *end || n == 0 || n > EVENTS_PER_PAGE_MAX) {
      snprintf(qy->bad, sizeof qy->bad, "perPage must be 1 to %d", EVENTS_PER_PAGE_MAX);
      return 1;
    }
    qy->per_page = n;
    return 0;
  }
  if (!strcmp(name, "nextPageToken")) { qy->token = value; return 0; }
  snprintf(qy->bad, sizeof qy->bad, "%.60s is not a query parameter this repository supports", name);
  return 1;
}

/* The bare CBV word of a bizStep or disposition in any of its spellings. */
static const char *cbv_word(const char *v, const char *kind)
{
  static const char *const forms[] = { "https://ref.gs1.org/cbv/%s-", "http://ref.gs1.org/cbv/%s-",
                                       "https://gs1.org/voc/%s-", "urn:epcglobal:cbv:%s:" };
  for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
    char prefix[64];
    snprintf(prefix, sizeof prefix, forms[i], i == 3 ? (kind[0] == 'B' ? "bizstep" : "disp") : kind);
    size_t n = strlen(prefix);
    if (!strncasecmp(v, prefix, n)) return v + n;
  }
  return v;
}

/* Whether value equals one of the '|'-separated entries of list, compared by eq. */
static int in_list(const char *list, const char *value, int (*eq)(const char *entry, size_t n, const char *value, const char *ctx),
                   const char *ctx)
{
  if (!value) return 0;
  for (const char *p = list;;) {
    const char *bar = strchr(p, '|');
    size_t n = bar ? (size_t)(bar - p) : strlen(p);
    if (n && eq(p, n, value, ctx)) return 1;
    if (!bar) return 0;
    p = bar + 1;
  }
}

static int eq_plain(const char *e, size_t n, const char *v, const char *ctx)
{
  (void)ctx;
  return strlen(v) == n && !memcmp(e, v, n);
}

static int eq_cbv(const char *e, size_t n, const char *v, const char *kind)
{
  char entry[256];
  if (n >= sizeof entry) return 0;
  memcpy(entry, e, n);
  entry[n] = 0;
  return !strcasecmp(cbv_word(entry, kind), cbv_word(v, kind));
}

/* An EPC or class: equal in canonical form (any GS1 notation), or a pattern ending in
 * '*' that starts it. */
static int eq_epc(const char *e, size_t n, const char *v, const char *ctx)
{
  char entry[GS1_DL_MAX], a[GS1_DL_MAX], b[GS1_DL_MAX];
  (void)ctx;
  if (n >= sizeof entry) return 0;
  memcpy(entry, e, n);
  entry[n] = 0;
  if (entry[n - 1] == '*') return !strncmp(v, entry, n - 1);
  gs1_canonical_or_self(entry, a);
  gs1_canonical_or_self(v, b);
  return !strcmp(a, b) || !strcmp(entry, v);
}

static const char *field(const json_t *ev, const char *name) { return json_string_value(json_object_get(ev, name)); }
static const char *id_of(const json_t *ev, const char *name) { return field(json_object_get(ev, name), "id"); }

/* Whether one of the string members of the arrays `names` (NULL-terminated) — or of the
 * objects' `key` member when key is set — is in list. */
static int any_in(const json_t *ev, const char *const *names, const char *key, const char *list)
{
  for (; *names; names++) {
    size_t i;
    json_t *x;
    json_array_foreach(json_object_get(ev, *names), i, x) {
      const char *v = key ? json_string_value(json_object_get(x, key)) : json_string_value(x);
      if (in_list(list, v, eq_epc, NULL)) return 1;
    }
  }
  return 0;
}

static int matches(const struct query *qy, const json_t *ev)
{
  static const char *const epc[] = { "epcList", "childEPCs", NULL }, *const in_epc[] = { "inputEPCList", NULL },
                           *const out_epc[] = { "outputEPCList", NULL },
                           *const any_epc[] = { "epcList", "childEPCs", "inputEPCList", "outputEPCList", NULL };
  static const char *const cls[] = { "quantityList", "childQuantityList", NULL },
                           *const in_cls[] = { "inputQuantityList", NULL }, *const out_cls[] = { "outputQuantityList", NULL },
                           *const any_cls[] = { "quantityList", "childQuantityList", "inputQuantityList",
                                                "outputQuantityList", NULL };
  if (qy->event_type && !in_list(qy->event_type, field(ev, "type"), eq_plain, NULL)) return 0;
  if (qy->action && !in_list(qy->action, field(ev, "action"), eq_plain, NULL)) return 0;
  if (qy->biz_step && !in_list(qy->biz_step, field(ev, "bizStep"), eq_cbv, "BizStep")) return 0;
  if (qy->disposition && !in_list(qy->disposition, field(ev, "disposition"), eq_cbv, "Disp")) return 0;
  if (qy->read_point && !in_list(qy->read_point, id_of(ev, "readPoint"), eq_epc, NULL)) return 0;
  if (qy->biz_location && !in_list(qy->biz_location, id_of(ev, "bizLocation"), eq_epc, NULL)) return 0;
  if (qy->event_id && !in_list(qy->event_id, field(ev, "eventID"), eq_plain, NULL) &&
      !in_list(qy->event_id, field(ev, "kiroku:sourceEvent"), eq_plain, NULL))
    return 0;
  if (qy->epc && !any_in(ev, epc, NULL, qy->epc)) return 0;
  if (qy->input_epc && !any_in(ev, in_epc, NULL, qy->input_epc)) return 0;
  if (qy->output_epc && !any_in(ev, out_epc, NULL, qy->output_epc)) return 0;
  if (qy->parent_id && !in_list(qy->parent_id, field(ev, "parentID"), eq_epc, NULL)) return 0;
  if (qy->any_epc && !any_in(ev, any_epc, NULL, qy->any_epc) && !in_list(qy->any_epc, field(ev, "parentID"), eq_epc, NULL))
    return 0;
  if (qy->epc_class && !any_in(ev, cls, "epcClass", qy->epc_class)) return 0;
  if (qy->input_class && !any_in(ev, in_cls, "epcClass", qy->input_class)) return 0;
  if (qy->output_class && !any_in(ev, out_cls, "epcClass", qy->output_class)) return 0;
  if (qy->any_class && !any_in(ev, any_cls, "epcClass", qy->any_class)) return 0;
  if (qy->has_ge || qy->has_lt) {
    uint64_t t;
    if (!evalue_time_ms(field(ev, "eventTime"), &t)) return 0;
    if (qy->has_ge && t < qy->ge_ms) return 0;
    if (qy->has_lt && t >= qy->lt_ms) return 0;
  }
  return 1;
}

/* A page token: the last event served, by its hash (and "d" for an error declaration,
 * which shares its event's eventID). Found again by identity, so records that arrive
 * between two pages do not shift the pages. */
static void token_of(const json_t *ev, char out[80])
{
  const char *id = field(ev, "eventID");
  const char *h = id ? strchr(id, ';') : NULL;
  snprintf(out, 80, "%.64s%s", h ? h + 1 : "", json_object_get(ev, "errorDeclaration") ? "d" : "");
}

static void get_events(const struct http_req *q, struct http_resp *r)
{
  struct query qy;
  memset(&qy, 0, sizeof qy);
  qy.per_page = EVENTS_PER_PAGE;
  http_epcis_headers(q, r);
  if (http_args_each(q, query_arg, &qy)) {
    http_problem(q, r, 400, "epcisException:QueryParameterException", "bad query parameter", "%s (docs/http.md lists them)",
                 qy.bad);
    return;
  }
  json_t *all, *context;
  if (ledger_events(q, r, &all, &context)) return;
  json_t *page = json_array();
  size_t i, start = 0, matched = 0;
  json_t *ev;
  int found = qy.token == NULL;
  /* where the last page ended */
  json_array_foreach(all, i, ev) {
    if (found) break;
    char t[80];
    token_of(ev, t);
    if (matches(&qy, ev) && !strcmp(t, qy.token)) { found = 1; start = i + 1; }
  }
  if (!found) {
    json_decref(all);
    json_decref(context);
    json_decref(page);
    http_problem(q, r, 400, "epcisException:QueryParameterException", "unknown nextPageToken",
                 "the token names no event of this query: ask again without it, with the same parameters");
    return;
  }
  char last[80] = "";
  int more = 0;
  for (i = start; i < json_array_size(all); i++) {
    ev = json_array_get(all, i);
    if (!matches(&qy, ev)) continue;
    if (matched == qy.per_page) { more = 1; break; }
    json_array_append(page, ev);
    token_of(ev, last);
    matched++;
  }
  json_decref(all);
  if (more) http_link_next(q, r, "/events", last);
  http_send_json(q, r, 200, query_document(context, page), 1);
}

/* GET /events/{eventID}: the event, and its error declaration when it has one. */
static void get_event(const struct http_req *q, struct http_resp *r, const char *id)
{
  http_epcis_headers(q, r);
  json_t *all, *context;
  if (ledger_events(q, r, &all, &context)) return;
  json_t *found = json_array();
  size_t i;
  json_t *ev;
  json_array_foreach(all, i, ev) {
    const char *a = field(ev, "eventID"), *b = field(ev, "kiroku:sourceEvent");
    if ((a && !strcmp(a, id)) || (b && !strcmp(b, id))) json_array_append(found, ev);
  }
  json_decref(all);
  if (!json_array_size(found)) {
    json_decref(found);
    json_decref(context);
    http_problem(q, r, 404, "epcisException:NoSuchResourceException", "no such event",
                 "no event of this ledger has the eventID %.200s", id);
    return;
  }
  http_send_json(q, r, 200, query_document(context, found), 1);
}

/* GET /eventTypes: the types of the events held. */
static void get_event_types(const struct http_req *q, struct http_resp *r)
{
  static const char *const types[] = { "ObjectEvent", "AggregationEvent", "TransactionEvent", "TransformationEvent",
                                       "AssociationEvent" };
  http_epcis_headers(q, r);
  json_t *all, *context;
  if (ledger_events(q, r, &all, &context)) return;
  json_t *set = json_array();
  for (size_t t = 0; t < sizeof types / sizeof types[0]; t++) {
    size_t i;
    json_t *ev;
    json_array_foreach(all, i, ev) {
      const char *ty = field(ev, "type");
      if (ty && !strcmp(ty, types[t])) { json_array_append_new(set, json_string(types[t])); break; }
    }
  }
  json_decref(all);
  http_send_json(q, r, 200, json_pack("{s:o,s:o}", "@context", context, "@set", set), 0);
}

/* ---- capture ----------------------------------------------------------------------------- */

/* The batch goes to the node over its control socket, outside the reader gate (the
 * node's writer may have to grow the map, which waits for readers). */
struct ctl_writer { const struct http_req *q; int outside; };

static int ctl_write(void *arg, const uint8_t *const *envs, const size_t *lens, size_t n, size_t *failed)
{
  struct ctl_writer *w = arg;
  const struct http_gate *g = &w->q->srv->cfg.gate;
  int rc, verdict;
  if (g->leave) g->leave(g->arg);
  w->outside = 1;
  int fd = ctl_client_connect(w->q->srv->cfg.dir);
  if (fd < 0) return fd;
  rc = ctl_client_append_batch(fd, envs, lens, n, &verdict, failed);
  close(fd);
  return rc ? rc : verdict;
}

/* doc (borrowed) captured: 0 with *im, *write_rc, or an error with why. */
static int capture(const struct http_req *q, json_t *doc, struct epcis_import *im, int *write_rc, char *why, size_t whylen)
{
  const struct http_config *cfg = &q->srv->cfg;
  struct epcis_masterdata md = { NULL, 0, 0 };
  struct epcis_member me = { cfg->pk, cfg->sk, cfg->network };
  memset(im, 0, sizeof *im);
  *write_rc = 0;
  int rc = epcis_masterdata_load(&md, cfg->dir, why, whylen);
  if (rc == KK_ERR(USAGE)) rc = KK_ERR(CORRUPT);
  for (int tries = 0; rc == 0; tries++) {
    const struct http_gate *g = &cfg->gate;
    struct ctl_writer w = { q, 0 };
    if (g->enter && (rc = g->enter(g->arg))) break;
    rc = epcis_capture(cfg->s, &me, doc, &md, http_now_ms(), ctl_write, &w, im, write_rc, why, whylen);
    if (!w.outside && g->leave) g->leave(g->arg);
    /* another writer appended to this feed between the plan and the write: plan again */
    if (rc || *write_rc != KK_ERR(BUSY) || tries == 3) break;
    epcis_import_free(im);
  }
  epcis_masterdata_free(&md);
  return rc;
}

/* The reasons of a failed capture, as the CaptureJob's errors. */
static json_t *capture_errors(int rc, const struct epcis_import *im, int write_rc, const char *why)
{
  json_t *errors = json_array();
  if (rc) {
    json_array_append_new(errors, json_pack("{s:s,s:s}", "type", "urn:kiroku:problem:capture", "detail",
                                            why && *why ? why : kk_strerror(rc)));
    return errors;
  }
  for (size_t i = 0; i < im->n; i++) {
    const struct epcis_import_event *e = &im->ev[i];
    if (e->what != EI_REFUSED) continue;
    json_array_append_new(errors, json_pack("{s:s,s:I,s:s,s:s}", "type", "epcisException:ValidationException", "index",
                                            (json_int_t)e->index, "eventID", e->event_id, "detail", e->why));
  }
  if (write_rc && !im->refused)
    json_array_append_new(errors, json_pack("{s:s,s:s}", "type", "urn:kiroku:problem:write", "detail", kk_strerror(write_rc)));
  return errors;
}

static struct http_job *job_slot(struct http_server *h, uint64_t id)
{
  if (id == 0 || id >= h->next_job || h->next_job - id > HTTP_JOBS) return NULL;
  return &h->jobs[(id - 1) % HTTP_JOBS];
}

static uint64_t job_new(struct http_server *h)
{
  pthread_mutex_lock(&h->jobs_mu);
  uint64_t id = h->next_job++;
  struct http_job *j = &h->jobs[(id - 1) % HTTP_JOBS];
  mem_free(j->errors);
  memset(j, 0, sizeof *j);
  j->id = id;
  j->created_ms = http_now_ms();
  j->running = 1;
  if (h->n_jobs < HTTP_JOBS) h->n_jobs++;
  pthread_mutex_unlock(&h->jobs_mu);
  return id;
}

static void job_finish(struct http_server *h, uint64_t id, int success, json_t *errors, size_t events, size_t records)
{
  char *text = json_dumps(errors, JSON_COMPACT);
  json_decref(errors);
  pthread_mutex_lock(&h->jobs_mu);
  struct http_job *j = job_slot(h, id);
  if (j && j->id == id) {
    j->running = 0;
    j->success = success;
    j->finished_ms = http_now_ms();
    j->errors = text;
    j->events = events;
    j->records = records;
    text = NULL;
  }
  pthread_mutex_unlock(&h->jobs_mu);
  mem_free(text);
}

/* A job as the binding's CaptureJob (caller holds jobs_mu). */
static json_t *job_json(const struct http_job *j)
{
  char created[32], finished[32];
  http_time_iso(created, j->created_ms);
  http_time_iso(finished, j->finished_ms);
  json_t *errors = j->errors ? json_loads(j->errors, 0, NULL) : NULL;
  json_t *o = json_pack("{s:s,s:b,s:b,s:s,s:o,s:I,s:I}", "createdAt", created, "running", j->running, "success",
                        !j->running && j->success, "captureErrorBehaviour", "rollback", "errors",
                        errors ? errors : json_array(), "kiroku:events", (json_int_t)j->events, "kiroku:records",
                        (json_int_t)j->records);
  if (!o) return NULL;
  json_object_set_new(o, "captureID", json_sprintf("%llu", (unsigned long long)j->id));
  json_object_set_new(o, "finishedAt", j->running ? json_null() : json_string(finished));
  return o;
}

/* The document of a capture request, checked: 0 and *doc, or r answered. */
static int capture_request(const struct http_req *q, struct http_resp *r, json_t **doc)
{
  const char *type = http_header(q, "Content-Type"), *beh = http_header(q, "GS1-Capture-Error-Behaviour");
  char why[320];
  if (!http_authorised(q, r)) return -1;
  if (!type || (strncasecmp(type, "application/json", 16) && strncasecmp(type, "application/ld+json", 19))) {
    http_problem(q, r, 415, "epcisException:UnsupportedMediaTypeException", "unsupported media type",
                 "send the document as application/json or application/ld+json (not %.80s)", type ? type : "nothing");
    return -1;
  }
  if (beh && strcasecmp(beh, "rollback")) {
    http_problem(q, r, 501, "epcisException:ImplementationException", "only rollback is supported",
                 "GS1-Capture-Error-Behaviour %.40s: Kiroku captures a document all or none (rollback)", beh);
    return -1;
  }
  int rc = ejson_load(q->body, q->body_len, doc, why, sizeof why);
  if (rc) {
    http_problem(q, r, rc == -ENOMEM ? 500 : 400, "epcisException:ValidationException", "the body is not a JSON document",
                 "%s", why);
    return -1;
  }
  return 0;
}

static void post_capture(const struct http_req *q, struct http_resp *r)
{
  json_t *doc;
  http_epcis_headers(q, r);
  if (capture_request(q, r, &doc)) return;
  json_t *list = json_object_get(json_object_get(doc, "epcisBody"), "eventList");
  const char *type = field(doc, "type");
  if (!type || strcmp(type, "EPCISDocument") || !json_is_array(list)) {
    json_decref(doc);
    http_problem(q, r, 400, "epcisException:ValidationException", "not an EPCISDocument",
                 "POST /capture takes an EPCISDocument (type EPCISDocument, epcisBody.eventList); one event goes to POST /events");
    return;
  }
  if (json_array_size(list) > HTTP_CAPTURE_EVENTS) {
    size_t n = json_array_size(list);
    json_decref(doc);
    http_problem(q, r, 413, "epcisException:CaptureLimitExceededException", "too many events",
                 "%zu events; at most %u in one document (GS1-EPCIS-Capture-Limit)", n, HTTP_CAPTURE_EVENTS);
    return;
  }
  uint64_t id = job_new(q->srv);
  struct epcis_import im;
  int write_rc = 0;
  char why[320] = "";
  int rc = capture(q, doc, &im, &write_rc, why, sizeof why);
  json_decref(doc);
  int success = !rc && !im.refused && !write_rc;
  job_finish(q->srv, id, success, capture_errors(rc, &im, write_rc, why), rc ? 0 : im.n, success ? im.records : 0);
  epcis_import_free(&im);
  http_header_add(r, "Location", "/capture/%llu", (unsigned long long)id);
  r->status = 202;
}

static void get_capture(const struct http_req *q, struct http_resp *r, const char *id)
{
  struct http_server *h = q->srv;
  http_epcis_headers(q, r);
  json_t *out = NULL;
  pthread_mutex_lock(&h->jobs_mu);
  if (id) {
    char *end;
    unsigned long long n = strtoull(id, &end, 10);
    struct http_job *j = *id && !*end ? job_slot(h, n) : NULL;
    if (j && j->id == n) out = job_json(j);
  } else {
    out = json_array();
    for (uint64_t n = h->next_job - 1; n >= 1 && h->next_job - n <= h->n_jobs; n--) {
      struct http_job *j = job_slot(h, n);
      if (j && j->id == n) json_array_append_new(out, job_json(j));
    }
  }
  pthread_mutex_unlock(&h->jobs_mu);
  if (!out && id) {
    http_problem(q, r, 404, "epcisException:NoSuchResourceException", "no such capture job",
                 "capture job %.40s is not known here (jobs are kept in memory, the newest %d, until the node stops)", id,
                 HTTP_JOBS);
    return;
  }
  http_send_json(q, r, 200, out, 0);
}

/* POST /events: one event, captured on its own. */
static void post_event(const struct http_req *q, struct http_resp *r)
{
  json_t *ev;
  http_epcis_headers(q, r);
  if (capture_request(q, r, &ev)) return;
  const char *type = field(ev, "type");
  if (!type || !strstr(type, "Event")) {
    json_decref(ev);
    http_problem(q, r, 400, "epcisException:ValidationException", "not an EPCIS event",
                 "POST /events takes one event (type ObjectEvent, TransformationEvent, ...); documents go to POST /capture");
    return;
  }
  char now[32];
  http_time_iso(now, http_now_ms());
  json_t *context = json_object_get(ev, "@context");
  context = context ? json_incref(context) : json_string("https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld");
  json_t *doc = json_pack("{s:o,s:s,s:s,s:s,s:{s:[O]}}", "@context", context, "type", "EPCISDocument", "schemaVersion",
                          "2.0", "creationDate", now, "epcisBody", "eventList", ev);
  json_decref(ev);
  struct epcis_import im;
  int write_rc = 0;
  char why[320] = "";
  int rc = doc ? capture(q, doc, &im, &write_rc, why, sizeof why) : -ENOMEM;
  json_decref(doc);
  if (rc) {
    if (rc == KK_ERR(USAGE)) http_problem(q, r, 400, "epcisException:ValidationException", "not an EPCIS event", "%s", why);
    else http_problem_rc(q, r, rc, why);
    return;
  }
  const struct epcis_import_event *e = im.n ? &im.ev[0] : NULL;
  char loc[EHASH_NI_LEN * 3 + 16];
  if (e) http_url_encode(loc, sizeof loc, e->event_id);
  if (!e) http_problem(q, r, 400, "epcisException:ValidationException", "no event", "the body holds no event");
  else if (write_rc && e->what != EI_REFUSED) http_problem_rc(q, r, write_rc, NULL);
  else if (e->what == EI_RECORD) {
    http_header_add(r, "Location", "/events/%s", loc);
    r->status = 201;
  } else if (e->what == EI_HELD) {
    http_header_add(r, "Location", "/events/%s", loc);
    http_problem(q, r, 409, "epcisException:ConflictException", "the event is held already", "%s", e->why);
  } else
    http_problem(q, r, 400, "epcisException:ValidationException",
                 e->what == EI_REFUSED ? "the event cannot become a record" : "the event is not recorded here", "%s", e->why);
  epcis_import_free(&im);
}

/* ---- routes ------------------------------------------------------------------------------ */

int http_epcis_route(const struct http_req *q, struct http_resp *r)
{
  const char *p = q->path;
  int opt = !strcmp(q->method, "OPTIONS"), post = !strcmp(q->method, "POST");
  if (!strcmp(p, "/")) {
    if (opt) options(q, r, "OPTIONS, GET");
    else if (is_get(q)) {
      http_epcis_headers(q, r);
      http_send_json(q, r, 200, json_pack("{s:s,s:[s,s,s]}", "@context",
                                          "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", "@set",
                                          "capture", "events", "eventTypes"), 0);
    } else not_allowed(q, r, "OPTIONS, GET");
    return 1;
  }
  if (!strcmp(p, "/capture")) {
    if (opt) options(q, r, "OPTIONS, GET, POST");
    else if (post) post_capture(q, r);
    else if (is_get(q)) get_capture(q, r, NULL);
    else not_allowed(q, r, "OPTIONS, GET, POST");
    return 1;
  }
  if (!strncmp(p, "/capture/", 9)) {
    if (opt) options(q, r, "OPTIONS, GET");
    else if (is_get(q)) get_capture(q, r, p + 9);
    else not_allowed(q, r, "OPTIONS, GET");
    return 1;
  }
  if (!strcmp(p, "/events")) {
    if (opt) options(q, r, "OPTIONS, GET, POST");
    else if (post) post_event(q, r);
    else if (is_get(q)) get_events(q, r);
    else not_allowed(q, r, "OPTIONS, GET, POST");
    return 1;
  }
  if (!strncmp(p, "/events/", 8) && p[8]) {
    if (opt) options(q, r, "OPTIONS, GET");
    else if (is_get(q)) get_event(q, r, p + 8);
    else not_allowed(q, r, "OPTIONS, GET");
    return 1;
  }
  if (!strcmp(p, "/eventTypes")) {
    if (opt) options(q, r, "OPTIONS, GET");
    else if (is_get(q)) get_event_types(q, r);
    else not_allowed(q, r, "OPTIONS, GET");
    return 1;
  }
  return 0;
}
