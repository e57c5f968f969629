/*
 * api_write — Kiroku's writes over HTTP (docs/http.md): POST /kiroku/v1/issue, transfer,
 * receive, refuse, transform, claim, attest, revoke, incident, each with the bearer
 * token and a JSON object of the command's arguments (its long options as keys; a
 * repeatable one as an array). The record is built by node/ops — the command line's own
 * code — and handed to the node over its control socket, which signs, judges and
 * commits it as it does the command line's: the same rules, the same errors.
 */
#include "http_int.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../client/ctl.h"
#include "../ledger/rules.h"
#include "../ledger/state.h"
#include "../ops/ops.h"
#include "../view/view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* The body's object as op arguments (borrowing its strings): 0, or r answered. */
static int to_args(const struct http_req *q, struct http_resp *r, json_t *o, struct op_args *a, int *all)
{
  const char *key;
  json_t *v;
  *all = 0;
  memset(a, 0, sizeof *a);
  json_object_foreach(o, key, v) {
    if (!strcmp(key, "all")) {
      if (!json_is_boolean(v)) goto bad;
      *all = json_is_true(v);
      continue;
    }
    size_t n = json_is_array(v) ? json_array_size(v) : 1;
    for (size_t i = 0; i < n; i++) {
      json_t *x = json_is_array(v) ? json_array_get(v, i) : v;
      if (!json_is_string(x)) {
        http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad argument",
                     "%s: give it as a string (quantities with their unit, \"20t\"; shares as \"40%%\"), or an array of them", key);
        return -1;
      }
      if (op_args_add(a, key, json_string_value(x))) {
        http_problem(q, r, 400, "urn:kiroku:problem:usage", "too many arguments", "at most %d", OP_ARGS_MAX);
        return -1;
      }
    }
  }
  return 0;
bad:
  http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad argument", "all is true or false");
  return -1;
}

/* An op's refusal before the rules, as a problem. */
static void op_problem(const struct http_req *q, struct http_resp *r, int rc, const struct op_error *e)
{
  char detail[1400];
  snprintf(detail, sizeof detail, "%s%s%s%s%s", e->what, e->what[0] ? ": " : "", kk_strerror(rc), e->hint[0] ? "; " : "",
           e->hint);
  if (rc == KK_ERR(AMBIGUOUS)) http_problem(q, r, 409, "urn:kiroku:problem:ambiguous", kk_strerror(rc), "%s", detail);
  else http_problem_rc(q, r, rc, detail);
}

/* Plans op k (a read transaction inside the gate): 0 and *p, or r answered. */
static int plan(const struct http_req *q, struct http_resp *r, enum op_kind k, const struct op_args *a, struct op_plan *p)
{
  struct store_txn *txn;
  struct op_error e;
  if (http_read_begin(q, r, &txn)) return -1;
  int rc = op_build(txn, q->srv->cfg.s, q->srv->cfg.pk, k, a, "", p, &e);
  http_read_end(q, txn);
  if (rc) { op_problem(q, r, rc, &e); return -1; }
  return 0;
}

/* Hands the body to the node: 0 and id, or r answered with the node's verdict (and the
 * figures behind a refusal, as the command line prints them). */
static int append(const struct http_req *q, struct http_resp *r, struct kk_body *b, uint8_t id[32])
{
  uint8_t *enc;
  size_t len;
  /* whose and which network's record; the node fills in its feed position and time */
  b->version = CODEC_VERSION;
  b->has_network = 1;
  memcpy(b->network, q->srv->cfg.network, 32);
  memcpy(b->author, q->srv->cfg.pk, 32);
  int verdict = 0, rc = codec_body_encode(b, &enc, &len);
  if (rc) { http_problem_rc(q, r, rc, NULL); return -1; }
  int fd = ctl_client_connect(q->srv->cfg.dir);
  rc = fd < 0 ? fd : ctl_client_append(fd, enc, len, &verdict, id);
  if (fd >= 0) close(fd);
  mem_free(enc);
  if (rc) {
    http_header_add(r, "Retry-After", "1");
    http_problem(q, r, 503, "urn:kiroku:problem:node", "the node did not answer", "its control socket: %s", kk_strerror(rc));
    return -1;
  }
  if (verdict == 0) return 0;
  char why[1024] = "";
  struct store_txn *txn;
  if (kk_err_is_input(verdict) && http_read_begin(q, r, &txn) == 0) {
    rules_explain(txn, q->srv->cfg.s, b, verdict, why, sizeof why);
    http_read_end(q, txn);
  }
  char detail[1300];
  snprintf(detail, sizeof detail, "nothing was written: %s%s%s", kk_strerror(verdict), why[0] ? "; " : "", why);
  http_problem_rc(q, r, verdict, detail);
  return -1;
}

static json_t *report(const char *kind, const uint8_t id[32], unsigned lots, const char *warning)
{
  char hex[65], ref[64];
  view_hex(hex, id);
  json_t *arr = json_array();
  for (unsigned i = 0; i < lots; i++) {
    uint8_t k[36];
    lotkey_make(k, id, i);
    view_lotref(ref, sizeof ref, k);
    json_array_append_new(arr, json_string(ref));
  }
  json_t *o = json_pack("{s:s,s:s,s:o}", "record", hex, "kind", kind, "lots", arr);
  if (o && warning && warning[0]) json_object_set_new(o, "warning", json_string(warning));
  return o;
}

/* receive and refuse: one record per transfer; receive without one takes every pending
 * transfer (as `kiroku receive --all`). Answers the command line's --json array. */
static void close_transfers(const struct http_req *q, struct http_resp *r, enum op_kind k, const struct op_args *a, int all)
{
  uint8_t (*ids)[32] = NULL;
  size_t n = 1;
  int given = op_arg(a, "transfer") != NULL;
  if (k == OP_RECEIVE && given == all) {
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad arguments",
                 "receive takes {\"transfer\": ID} or {\"all\": true}");
    return;
  }
  if (!given && k == OP_RECEIVE) {
    struct store_txn *txn;
    if (http_read_begin(q, r, &txn)) return;
    int rc = op_pending_to(txn, q->srv->cfg.s, q->srv->cfg.pk, &ids, &n);
    http_read_end(q, txn);
    if (rc) { http_problem_rc(q, r, rc, NULL); return; }
  }
  json_t *out = json_array();
  for (size_t i = 0; i < n; i++) {
    struct op_args one = *a;
    char tid[65];
    if (!given) op_args_for_transfer(a, ids[i], tid, &one);
    struct op_plan p;
    uint8_t id[32];
    if (plan(q, r, k, &one, &p)) goto out;
    view_hex(tid, k == OP_RECEIVE ? p.body->u.receive.transfer : p.body->u.refuse.transfer);
    int rc = append(q, r, p.body, id);
    op_plan_free(&p);
    if (rc) goto out;
    char hex[65], ref[64];
    uint8_t lk[36];
    view_hex(hex, id);
    lotkey_make(lk, id, 0);
    view_lotref(ref, sizeof ref, lk);
    json_t *o = json_pack("{s:s,s:s,s:s}", "transfer", tid, "record", hex, "lot", ref);
    if (p.warning[0]) json_object_set_new(o, "warning", json_string(p.warning));
    json_array_append_new(out, o);
  }
  mem_free(ids);
  http_send_json(q, r, n ? 201 : 200, out, 0);
  return;
out: /* r holds the refusal; what was received before it stays received */
  mem_free(ids);
  json_decref(out);
}

int http_api_write(const struct http_req *q, struct http_resp *r, const char *name)
{
  int k = op_find(name);
  if (k < 0) return 0;
  if (strcmp(q->method, "POST")) {
    http_header_add(r, "Allow", "POST");
    http_problem(q, r, 405, "urn:kiroku:problem:method", "method not allowed", "%s is written with POST", q->path);
    return 1;
  }
  if (!http_authorised(q, r)) return 1;
  const char *type = http_header(q, "Content-Type");
  if (!type || strncasecmp(type, "application/json", 16)) {
    http_problem(q, r, 415, "urn:kiroku:problem:media-type", "unsupported media type",
                 "send the arguments as application/json (not %.80s)", type ? type : "nothing");
    return 1;
  }
  json_error_t jerr;
  json_t *o = json_loadb(q->body, q->body_len, JSON_REJECT_DUPLICATES, &jerr);
  if (!o || !json_is_object(o)) {
    json_decref(o);
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "the body is not a JSON object", "%s (line %d)",
                 o ? "an object of the command's arguments" : jerr.text, jerr.line);
    return 1;
  }
  struct op_args a;
  int all;
  if (to_args(q, r, o, &a, &all)) { json_decref(o); return 1; }
  if (all && k != OP_RECEIVE) {
    json_decref(o);
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad argument", "all is an argument of receive only");
    return 1;
  }
  if (k == OP_RECEIVE || k == OP_REFUSE) {
    close_transfers(q, r, (enum op_kind)k, &a, all);
    json_decref(o);
    return 1;
  }
  struct op_plan p;
  uint8_t id[32];
  if (plan(q, r, (enum op_kind)k, &a, &p) == 0) {
    if (append(q, r, p.body, id) == 0) {
      char hex[65];
      view_hex(hex, id);
      http_header_add(r, "Location", "/kiroku/v1/records/%s", hex);
      http_send_json(q, r, 201, report(name, id, p.lots, p.warning), 0);
    }
    op_plan_free(&p);
  }
  json_decref(o);
  return 1;
}
