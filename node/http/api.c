/*
 * api — Kiroku's own JSON API under /kiroku/v1/ (docs/http.md): what EPCIS has no words
 * for. Every object is the one the CLI's --json prints (node/view/view.h): one code
 * path, not two.
 *
 *   GET status                  the node (as `kiroku status --json`, from the node itself)
 *   GET members                 `members --json`
 *   GET lots                    `lots --json`, filtered (code, owner, material, held) and paged
 *   GET lots/{ref}              `verify --json` (claim=P: `verify --claim P`)
 *   GET lots/{ref}/trace        `trace --json` (direction=down: `trace --down`)
 *   GET lots/{ref}/bundle       the proof bundle (`bundle`), application/octet-stream
 *   GET records/{id}            `show --json`
 *   GET checkpoints, evidence   `checkpoints --json`, `evidence --json`
 *   GET openapi.json            the OpenAPI description of all of it
 *   POST issue, transfer, ...   the member's writes (api_write.c)
 */
#include "http_int.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../client/ctl.h"
#include "../ledger/bundle.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../view/view.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define API "/kiroku/v1/"
#define LOTS_PER_PAGE 100
#define LOTS_PER_PAGE_MAX 1000

static int is_get(const struct http_req *q) { return !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD"); }

/* A lot reference resolved (view_resolve_lot, this member's codes first): 0, or r
 * answered (404 with what the ref may have meant, 409 when it is ambiguous). */
static int lot_ref(const struct http_req *q, struct http_resp *r, struct store_txn *txn, const char *ref, uint8_t key[36])
{
  char why[1024];
  int rc = view_resolve_lot(txn, q->srv->cfg.s, q->srv->cfg.pk, ref, key, why, sizeof why);
  if (rc == 0) return 0;
  if (rc == KK_ERR(AMBIGUOUS))
    http_problem(q, r, 409, "urn:kiroku:problem:ambiguous", kk_strerror(rc), "%s", why[0] ? why : kk_strerror(rc));
  else http_problem_rc(q, r, rc, why[0] ? why : NULL);
  return rc;
}

/* ---- reads ------------------------------------------------------------------------------- */

static void get_status(const struct http_req *q, struct http_resp *r)
{
  int fd = ctl_client_connect(q->srv->cfg.dir);
  char *text = NULL;
  int rc = fd < 0 ? fd : ctl_client_status(fd, &text);
  if (fd >= 0) close(fd);
  json_t *j = rc ? NULL : json_loads(text, 0, NULL);
  mem_free(text);
  if (!j) {
    http_header_add(r, "Retry-After", "1");
    http_problem(q, r, 503, "urn:kiroku:problem:node", "the node did not answer", "its control socket: %s",
                 rc ? kk_strerror(rc) : "not JSON");
    return;
  }
  http_send_json(q, r, 200, j, 0);
}

/* A listing read in one transaction: fn fills *out. */
static void get_list(const struct http_req *q, struct http_resp *r, const char *key,
                     int (*fn)(struct store_txn *txn, struct store *s, json_t **out))
{
  struct store_txn *txn;
  json_t *out = NULL;
  if (http_read_begin(q, r, &txn)) return;
  int rc = fn(txn, q->srv->cfg.s, &out);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, NULL); return; }
  http_send_json(q, r, 200, key ? json_pack("{s:o}", key, out) : out, 0);
}

/* ---- lots -------------------------------------------------------------------------------- */

struct lots_query { const char *code, *owner, *material, *token; int held; size_t per_page; char bad[160]; };

static int lots_arg(void *arg, const char *name, const char *value)
{
  struct lots_query *lq = arg;
  if (!strcmp(name, "code")) lq->code = value;
  else if (!strcmp(name, "owner")) lq->owner = value;
  else if (!strcmp(name, "material")) lq->material = value;
  else if (!strcmp(name, "nextPageToken")) lq->token = value;
  else if (!strcmp(name, "held")) {
    if (strcmp(value, "1") && strcmp(value, "0") && strcmp(value, "true") && strcmp(value, "false")) {
      snprintf(lq->bad, sizeof lq->bad, "held is 1 or 0");
      return 1;
    }
    lq->held = value[0] == '1' || value[0] == 't';
  } else if (!strcmp(name, "perPage")) {
    char *end;
    unsigned long n = strtoul(value, &end, 10);
    if (!*value || *end || n == 0 || n > LOTS_PER_PAGE_MAX) {
      snprintf(lq->bad, sizeof lq->bad, "perPage must be 1 to %d", LOTS_PER_PAGE_MAX);
      return 1;
    }
    lq->per_page = n;
  } else {
    snprintf(lq->bad, sizeof lq->bad, "%.60s is not a parameter of lots (code, owner, material, held, perPage, nextPageToken)",
             name);
    return 1;
  }
  return 0;
}

/* Whether lot l passes the filters: code contains the text (case ignored), material is
 * the group or GROUP/FORM given, held means mass is left. */
static int lot_passes(const struct lots_query *lq, const struct lot *l)
{
  if (lq->code && !strcasestr(l->code, lq->code)) return 0;
  if (lq->material) {
    size_t n = strlen(lq->material);
    if (strncmp(l->material, lq->material, n) || (l->material[n] && l->material[n] != '/')) return 0;
  }
  if (lq->held && l->mass_left == 0) return 0;
  return 1;
}

static void full_ref(char out[80], const uint8_t key[36])
{
  char hex[65];
  view_hex(hex, key);
  snprintf(out, 80, "%s:%u", hex, (unsigned)((key[32] << 24) | (key[33] << 16) | (key[34] << 8) | key[35]));
}

static void get_lots(const struct http_req *q, struct http_resp *r)
{
  struct lots_query lq;
  memset(&lq, 0, sizeof lq);
  lq.per_page = LOTS_PER_PAGE;
  if (http_args_each(q, lots_arg, &lq)) {
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad query parameter", "%s", lq.bad);
    return;
  }
  struct store *s = q->srv->cfg.s;
  struct store_txn *txn;
  if (http_read_begin(q, r, &txn)) return;
  uint8_t owner[32], (*keys)[36] = NULL;
  size_t n = 0, kept = 0, start = 0;
  int rc = lq.owner ? view_resolve_member(txn, s, lq.owner, owner) : 0;
  if (rc == 0) rc = view_lot_keys(txn, s, lq.owner ? owner : NULL, &keys, &n);
  /* the filters, then the page (from after the token's lot), then the figures of its lots */
  int found = lq.token == NULL, more = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, s, keys[i], &l))) break;
    int pass = lot_passes(&lq, &l);
    lot_free(&l);
    if (!pass) continue;
    if (!found) {
      char ref[80];
      full_ref(ref, keys[i]);
      if (!strcmp(ref, lq.token)) { found = 1; start = kept; }
      continue;
    }
    if (kept - start == lq.per_page) { more = 1; break; }
    memmove(keys[kept++], keys[i], 36);
  }
  if (rc == 0 && !found) {
    http_read_end(q, txn);
    mem_free(keys);
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "unknown nextPageToken",
                 "the token names no lot of this listing: ask again without it");
    return;
  }
  size_t page = kept - start;
  uint8_t (*pk)[36] = keys + start;
  struct view_figures *figs = page ? mem_alloc(page * sizeof *figs) : NULL;
  if (rc == 0 && page && !figs) rc = -ENOMEM;
  if (rc == 0) rc = view_lot_figures(txn, s, (const uint8_t(*)[36])pk, page, figs);
  json_t *arr = json_array();
  for (size_t i = 0; i < page && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, s, pk[i], &l))) break;
    json_array_append_new(arr, view_lot_json(txn, s, pk[i], &l, &figs[i]));
    lot_free(&l);
  }
  http_read_end(q, txn);
  char last[80] = "";
  if (page) full_ref(last, pk[page - 1]);
  mem_free(keys);
  mem_free(figs);
  if (rc) { json_decref(arr); http_problem_rc(q, r, rc, NULL); return; }
  json_t *o = json_pack("{s:o}", "lots", arr);
  if (more) {
    json_object_set_new(o, "nextPageToken", json_string(last));
    http_link_next(q, r, API "lots", last);
  }
  http_send_json(q, r, 200, o, 0);
}

/* GET lots/{ref}: the verdict. */
static void get_lot(const struct http_req *q, struct http_resp *r, const char *ref)
{
  const char *claim = http_arg(q, "claim");
  uint32_t ppm = 0;
  int rc;
  if (claim && (rc = qty_parse_share(claim, &ppm))) { http_problem_rc(q, r, rc, "claim: a share such as 30%"); return; }
  struct store_txn *txn;
  uint8_t key[36];
  struct verify_report rep;
  if (http_read_begin(q, r, &txn)) return;
  if (lot_ref(q, r, txn, ref, key)) { http_read_end(q, txn); return; }
  rc = verify_lot(txn, q->srv->cfg.s, key, ppm, &rep);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, NULL); return; }
  http_send_json(q, r, 200, view_verify_json(&rep), 0);
  verify_report_free(&rep);
}

static void get_trace(const struct http_req *q, struct http_resp *r, const char *ref)
{
  const char *dir = http_arg(q, "direction");
  if (dir && strcmp(dir, "up") && strcmp(dir, "down")) {
    http_problem(q, r, 400, "urn:kiroku:problem:usage", "bad direction", "direction is up (where it came from) or down");
    return;
  }
  struct store_txn *txn;
  uint8_t key[36];
  json_t *tree = NULL;
  if (http_read_begin(q, r, &txn)) return;
  if (lot_ref(q, r, txn, ref, key)) { http_read_end(q, txn); return; }
  int rc = view_trace_json(txn, q->srv->cfg.s, key, dir && !strcmp(dir, "down"), &tree);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, NULL); return; }
  http_send_json(q, r, 200, tree, 0);
}

static void get_bundle(const struct http_req *q, struct http_resp *r, const char *ref)
{
  struct store_txn *txn;
  uint8_t key[36], *out = NULL;
  size_t len = 0;
  struct bundle_info info;
  char why[320] = "";
  if (http_read_begin(q, r, &txn)) return;
  if (lot_ref(q, r, txn, ref, key)) { http_read_end(q, txn); return; }
  int rc = bundle_prove(txn, q->srv->cfg.s, key, q->srv->cfg.pk, q->srv->cfg.sk, &out, &len, &info, why, sizeof why);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, why); return; }
  char name[80];
  full_ref(name, key);
  name[12] = 0;
  http_header_add(r, "Content-Disposition", "attachment; filename=\"lot-%s.bundle\"", name);
  http_send_bytes(r, 200, "application/octet-stream", out, len);
  mem_free(out);
}

static void get_record(const struct http_req *q, struct http_resp *r, const char *ref)
{
  struct store_txn *txn;
  uint8_t id[32];
  const uint8_t *env;
  size_t len;
  json_t *out = NULL;
  if (http_read_begin(q, r, &txn)) return;
  int rc = view_resolve_record(txn, q->srv->cfg.s, ref, id);
  if (rc == 0) rc = store_record_by_id(txn, q->srv->cfg.s, id, NULL, NULL, &env, &len);
  if (rc == STORE_ABSENT) rc = KK_ERR(UNKNOWN_RECORD);
  if (rc == 0) rc = view_show_json(txn, q->srv->cfg.s, id, env, len, &out);
  http_read_end(q, txn);
  if (rc) { http_problem_rc(q, r, rc, NULL); return; }
  http_send_json(q, r, 200, out, 0);
}

/* ---- routes ------------------------------------------------------------------------------ */

/* "lots/{ref}/what": the ref (into buf) when p ends with /what. */
static const char *sub(const char *p, const char *what, char *buf, size_t n)
{
  size_t lp = strlen(p), lw = strlen(what);
  if (lp <= lw + 1 || p[lp - lw - 1] != '/' || strcmp(p + lp - lw, what)) return NULL;
  if (lp - lw - 1 >= n) return NULL;
  memcpy(buf, p, lp - lw - 1);
  buf[lp - lw - 1] = 0;
  return buf;
}

int http_api_route(const struct http_req *q, struct http_resp *r)
{
  if (strncmp(q->path, API, sizeof API - 1)) return 0;
  const char *p = q->path + sizeof API - 1;
  char ref[512];
  if (http_api_write(q, r, p)) return 1;
  if (!is_get(q)) {
    http_header_add(r, "Allow", "GET");
    http_problem(q, r, 405, "urn:kiroku:problem:method", "method not allowed", "%s %s: use GET", q->method, q->path);
    return 1;
  }
  if (!strcmp(p, "status")) get_status(q, r);
  else if (!strcmp(p, "members")) get_list(q, r, NULL, view_members_json);
  else if (!strcmp(p, "checkpoints")) get_list(q, r, "feeds", view_feeds_json);
  else if (!strcmp(p, "evidence")) get_list(q, r, "evidence", view_evidence_list_json);
  else if (!strcmp(p, "openapi.json")) http_send_json(q, r, 200, http_openapi(q->srv), 0);
  else if (!strcmp(p, "lots")) get_lots(q, r);
  else if (!strncmp(p, "lots/", 5) && sub(p + 5, "trace", ref, sizeof ref)) get_trace(q, r, ref);
  else if (!strncmp(p, "lots/", 5) && sub(p + 5, "bundle", ref, sizeof ref)) get_bundle(q, r, ref);
  else if (!strncmp(p, "lots/", 5) && p[5] && !strchr(p + 5, '/')) get_lot(q, r, p + 5);
  else if (!strncmp(p, "records/", 8) && p[8]) get_record(q, r, p + 8);
  else http_problem(q, r, 404, "urn:kiroku:problem:not-found", "no such resource", "%s is not part of the API (GET %sopenapi.json describes it)", q->path, API);
  return 1;
}
