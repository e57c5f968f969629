/*
 * export — records as EPCIS 2.0 events (see export.h; the mapping is docs/epcis.md's).
 */
#include "export.h"
#include "ehash.h"
#include "ejson.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/material.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/state.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NS EPCIS_KIROKU_NS

static void hex(char out[65], const uint8_t id[32]) { sig_hex(out, id, 32); }

/* Members as EPCIS parties: the party GLN the registry admitted a member with, as a
 * GS1 Digital Link (https://id.gs1.org/417/GLN), else a Kiroku URN of its feed id. */
struct party { uint8_t key[32]; char gln[14]; };

/* What an export reads from and knows of the members. */
struct xctx {
  struct store_txn *txn;
  struct store *s;
  struct party *p;
  size_t n, cap;
};

static json_t *party(const struct xctx *x, const uint8_t key[32])
{
  char h[65], u[96];
  for (size_t i = 0; i < x->n; i++)
    if (memcmp(x->p[i].key, key, 32) == 0 && x->p[i].gln[0]) {
      snprintf(u, sizeof u, "https://id.gs1.org/417/%s", x->p[i].gln);
      return json_string(u);
    }
  hex(h, key);
  snprintf(u, sizeof u, "urn:kiroku:party:%s", h);
  return json_string(u);
}

/* A lot as an EPCIS class: urn:kiroku:lot:<record>:<index>. */
static json_t *lot_class(const uint8_t record[32], uint32_t index)
{
  char h[65], u[112];
  hex(h, record);
  snprintf(u, sizeof u, "urn:kiroku:lot:%s:%u", h, index);
  return json_string(u);
}

static json_t *record_urn(const char *kind, const uint8_t id[32])
{
  char h[65], u[112];
  hex(h, id);
  snprintf(u, sizeof u, "urn:kiroku:%s:%s", kind, h);
  return json_string(u);
}

static json_t *hex_json(const uint8_t id[32])
{
  char h[65];
  hex(h, id);
  return json_string(h);
}

/* mg as exact kilograms. */
static json_t *kg(uint64_t mg)
{
  char d[40];
  qty_format_decimal(d, sizeof d, mg, 6);
  return ejson_number_new(d);
}

/* Text as the unreserved characters of a URN part, the rest percent-encoded. */
static json_t *urn_text(const char *prefix, const char *a, const char *b)
{
  char u[3 * (CODEC_SCHEME_MAX + CODEC_CERT_MAX) + 64];
  size_t w = (size_t)snprintf(u, sizeof u, "%s", prefix);
  for (int part = 0; part < 2; part++) {
    const char *s = part ? b : a;
    if (part) u[w++] = ':';
    for (; *s && w + 4 < sizeof u; s++) {
      unsigned char c = (unsigned char)*s;
      if ((c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || strchr("-._~", c))
        u[w++] = (char)c;
      else w += (size_t)snprintf(u + w, sizeof u - w, "%%%02X", c);
    }
  }
  u[w] = 0;
  return json_string(u);
}

static void time_iso(char out[48], uint64_t ms)
{
  long long t = (long long)(ms / 1000);
  long days = (long)(t / 86400), rem = (long)(t % 86400);
  /* civil from days (Howard Hinnant's algorithm) */
  long z = days + 719468, era = z / 146097;
  unsigned doe = (unsigned)(z - era * 146097), yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100), mp = (5 * doy + 2) / 153;
  unsigned d = doy - (153 * mp + 2) / 5 + 1, m = mp < 10 ? mp + 3 : mp - 9;
  long y = (long)yoe + era * 400 + (m <= 2);
  snprintf(out, 48, "%04ld-%02u-%02uT%02ld:%02ld:%02ld.%03uZ", y, m, d, rem / 3600, rem / 60 % 60, rem % 60,
           (unsigned)(ms % 1000));
}

/* {"epcClass", "quantity", "uom"}; quantity only when mg is not UINT64_MAX. */
static json_t *quantity(json_t *cls, uint64_t mg)
{
  json_t *q = json_object();
  json_object_set_new(q, "epcClass", cls);
  if (mg != UINT64_MAX) {
    json_object_set_new(q, "quantity", kg(mg));
    json_object_set_new(q, "uom", json_string("KGM"));
  }
  return q;
}

static json_t *owning(const struct xctx *x, const char *key, const uint8_t who[32])
{
  json_t *l = json_array(), *e = json_object();
  json_object_set_new(e, "type", json_string("owning_party"));
  json_object_set_new(e, key, party(x, who));
  json_array_append_new(l, e);
  return l;
}

static json_t *event(const char *type, const struct kk_body *b)
{
  char t[48];
  time_iso(t, b->time_ms);
  json_t *e = json_object();
  json_object_set_new(e, "type", json_string(type));
  json_object_set_new(e, "eventTime", json_string(t));
  json_object_set_new(e, "eventTimeZoneOffset", json_string("+00:00"));
  return e;
}

/* The record the event came from. */
static void provenance(const struct xctx *x, json_t *e, const uint8_t id[32], const struct kk_body *b)
{
  char seq[24];
  snprintf(seq, sizeof seq, "%llu", (unsigned long long)b->seq);
  json_object_set_new(e, "kiroku:record", hex_json(id));
  json_object_set_new(e, "kiroku:author", party(x, b->author));
  json_object_set_new(e, "kiroku:seq", ejson_number_new(seq));
  if (b->has_source_event) { /* imported: the event it was made from (GET /events/{eventID} finds it by that) */
    char ni[EHASH_NI_LEN];
    ehash_ni_of(b->source_event, ni);
    json_object_set_new(e, "kiroku:sourceEvent", json_string(ni));
  }
}

static void material(json_t *o, const char *m)
{
  json_object_set_new(o, "kiroku:material", json_string(m));
  json_object_set_new(o, "kiroku:materialGroup", json_stringn(m, material_group_len(m)));
  if (*material_form(m)) json_object_set_new(o, "kiroku:materialForm", json_string(material_form(m)));
}

static json_t *ev_issue(const struct xctx *x, const uint8_t id[32], const struct kk_body *b)
{
  const struct kk_issue *is = &b->u.issue;
  json_t *e = event("ObjectEvent", b), *ql = json_array(), *ilmd = json_object();
  json_object_set_new(e, "action", json_string("ADD"));
  json_object_set_new(e, "bizStep", json_string("commissioning"));
  json_object_set_new(e, "disposition", json_string("active"));
  json_array_append_new(ql, quantity(lot_class(id, 0), is->mass_mg));
  json_object_set_new(e, "quantityList", ql);
  json_object_set_new(e, "destinationList", owning(x, "destination", b->author));
  json_object_set_new(e, "certificationInfo", urn_text("urn:kiroku:certificate:", is->scheme, is->certificate));
  json_object_set_new(ilmd, "kiroku:lotCode", json_string(is->lot_code));
  material(ilmd, is->material);
  json_object_set_new(ilmd, "kiroku:postConsumerMass", kg(is->post_mg));
  json_object_set_new(ilmd, "kiroku:preConsumerMass", kg(is->pre_mg));
  json_object_set_new(ilmd, "kiroku:model", json_string(codec_model_name(is->model)));
  json_object_set_new(ilmd, "cbvmda:countryOfOrigin", json_string(is->origin));
  json_object_set_new(ilmd, "kiroku:scheme", json_string(is->scheme));
  json_object_set_new(ilmd, "kiroku:certificate", json_string(is->certificate));
  if (is->facility[0]) json_object_set_new(ilmd, "kiroku:facility", json_string(is->facility));
  json_object_set_new(e, "ilmd", ilmd);
  if (is->n_evidence) {
    json_t *ev = json_array();
    for (size_t i = 0; i < is->n_evidence; i++) json_array_append_new(ev, hex_json(is->evidence[i]));
    json_object_set_new(e, "kiroku:evidence", ev);
  }
  return e;
}

static json_t *ev_transfer(const struct xctx *x, const struct kk_body *b)
{
  const struct kk_transfer *t = &b->u.transfer;
  json_t *e = event("ObjectEvent", b), *ql = json_array();
  json_object_set_new(e, "action", json_string("OBSERVE"));
  json_object_set_new(e, "bizStep", json_string("shipping"));
  json_object_set_new(e, "disposition", json_string("in_transit"));
  json_array_append_new(ql, quantity(lot_class(t->lot.record, t->lot.index), t->mass_mg));
  json_object_set_new(e, "quantityList", ql);
  json_object_set_new(e, "sourceList", owning(x, "source", b->author));
  json_object_set_new(e, "destinationList", owning(x, "destination", t->to));
  return e;
}

/* A receipt or a refusal of a transfer: the lot shipped, and the lot it became. */
static int ev_close(const struct xctx *x, const uint8_t id[32], const struct kk_body *b, json_t **out)
{
  int receive = b->kind == KK_PL_RECEIVE;
  const uint8_t *tid = receive ? b->u.receive.transfer : b->u.refuse.transfer;
  struct xfer t;
  xfer_init(&t);
  int rc = rules_xfer_get(x->txn, x->s, tid, &t);
  if (rc) { xfer_free(&t); return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc; }
  const uint8_t *rec = t.from_lot; /* a lot key: its record, then its index (big-endian) */
  uint32_t idx = be32_get(t.from_lot + 32);
  json_t *e = event("ObjectEvent", b), *ql = json_array();
  json_object_set_new(e, "action", json_string("OBSERVE"));
  json_object_set_new(e, "bizStep", json_string("receiving"));
  json_object_set_new(e, "disposition", json_string(receive ? "in_progress" : NS "Disp-refused"));
  json_array_append_new(ql, quantity(lot_class(rec, idx), t.mass));
  json_object_set_new(e, "quantityList", ql);
  json_object_set_new(e, "sourceList", owning(x, "source", t.sender));
  json_object_set_new(e, "destinationList", owning(x, "destination", t.to));
  json_object_set_new(e, "kiroku:transfer", hex_json(tid));
  json_object_set_new(e, receive ? "kiroku:receivedAs" : "kiroku:returnedAs", lot_class(id, 0));
  if (!receive && b->u.refuse.reason[0]) json_object_set_new(e, "kiroku:reason", json_string(b->u.refuse.reason));
  xfer_free(&t);
  *out = e;
  return 0;
}

static json_t *ev_transform(const struct xctx *x, const uint8_t id[32], const struct kk_body *b)
{
  const struct kk_transform *t = &b->u.transform;
  json_t *e = event("TransformationEvent", b), *in = json_array(), *out = json_array(), *ilmd = json_object();
  for (size_t i = 0; i < t->n_inputs; i++)
    json_array_append_new(in, quantity(lot_class(t->inputs[i].lot.record, t->inputs[i].lot.index), t->inputs[i].mass_mg));
  json_t *unl = json_array(), *outs = json_array();
  for (size_t i = 0; i < t->n_unledgered; i++) {
    char h[65], u[128];
    hex(h, id);
    snprintf(u, sizeof u, "urn:kiroku:unledgered:%s:%zu", h, i);
    json_array_append_new(in, quantity(json_string(u), t->unledgered[i].mass_mg));
    json_t *o = json_object();
    json_object_set_new(o, "kiroku:input", json_string(u));
    material(o, t->unledgered[i].material);
    json_object_set_new(o, "cbvmda:countryOfOrigin", json_string(t->unledgered[i].origin));
    json_array_append_new(unl, o);
  }
  for (size_t i = 0; i < t->n_outputs; i++) {
    const struct kk_output *o = &t->outputs[i];
    json_array_append_new(out, quantity(lot_class(id, (uint32_t)i), o->mass_mg));
    json_t *j = json_object();
    json_object_set_new(j, "kiroku:lot", lot_class(id, (uint32_t)i));
    json_object_set_new(j, "kiroku:lotCode", json_string(o->lot_code));
    material(j, o->material);
    if (t->model == KK_MODEL_MASS_BALANCE) { /* the credit declared per output */
      json_object_set_new(j, "kiroku:postConsumerMass", kg(o->post_mg));
      json_object_set_new(j, "kiroku:preConsumerMass", kg(o->pre_mg));
    }
    json_array_append_new(outs, j);
  }
  json_object_set_new(e, "inputQuantityList", in);
  json_object_set_new(e, "outputQuantityList", out);
  json_object_set_new(e, "transformationID", record_urn("transformation", id));
  json_object_set_new(e, "bizStep", json_string("commissioning"));
  json_object_set_new(e, "destinationList", owning(x, "destination", b->author));
  json_object_set_new(ilmd, "kiroku:model", json_string(codec_model_name(t->model)));
  if (t->process[0]) json_object_set_new(ilmd, "kiroku:process", json_string(t->process));
  json_object_set_new(ilmd, "kiroku:outputs", outs);
  if (t->n_unledgered) json_object_set_new(ilmd, "kiroku:unledgered", unl);
  else json_decref(unl);
  json_object_set_new(e, "ilmd", ilmd);
  return e;
}

/* A statement about a record or lot (claim, attestation, incident): an observation with
 * a kiroku: business step. */
static json_t *ev_statement(const struct xctx *x, const struct kk_body *b)
{
  json_t *e = event("ObjectEvent", b);
  json_object_set_new(e, "action", json_string("OBSERVE"));
  char ppm[40];
  const uint8_t *about = NULL;
  switch (b->kind) {
  case KK_PL_CLAIM: {
    json_t *ql = json_array();
    json_array_append_new(ql, quantity(lot_class(b->u.claim.lot.record, b->u.claim.lot.index), UINT64_MAX));
    json_object_set_new(e, "quantityList", ql);
    json_object_set_new(e, "bizStep", json_string(NS "BizStep-claiming"));
    qty_format_decimal(ppm, sizeof ppm, b->u.claim.share_ppm, 4);
    json_object_set_new(e, "kiroku:recycledShare", ejson_number_new(ppm)); /* percent */
    json_object_set_new(e, "kiroku:scope", json_string(b->u.claim.scope));
    return e;
  }
  case KK_PL_ATTEST:
    json_object_set_new(e, "bizStep", json_string(NS "BizStep-attesting"));
    json_object_set_new(e, "kiroku:attests", hex_json(b->u.attest.record));
    json_object_set_new(e, "kiroku:statement", json_string(b->u.attest.statement));
    about = b->u.attest.record;
    break;
  default:
    json_object_set_new(e, "bizStep", json_string(NS "BizStep-reporting_incident"));
    json_object_set_new(e, "kiroku:kind", json_string(b->u.incident.kind));
    json_object_set_new(e, "kiroku:about", hex_json(b->u.incident.about));
    json_object_set_new(e, "kiroku:text", json_string(b->u.incident.text));
    about = b->u.incident.about;
  }
  /* a statement about a certificate names the lot it made */
  int kind = 0;
  if (rules_record_kind(x->txn, x->s, about, &kind) == 0 && kind == KK_PL_ISSUE) {
    json_t *ql = json_array();
    json_array_append_new(ql, quantity(lot_class(about, 0), UINT64_MAX));
    json_object_set_new(e, "quantityList", ql);
  } else json_object_set_new(e, "epcList", json_array());
  return e;
}

/* ---- records ------------------------------------------------------------------------ */

struct rec { uint64_t time_ms, seq; uint8_t author[32], id[32]; };

struct gather { struct store_txn *txn; struct store *s; struct rec *r; size_t n, cap; };

static int rec_cmp(const void *a, const void *b)
{
  const struct rec *x = a, *y = b;
  if (x->time_ms != y->time_ms) return x->time_ms < y->time_ms ? -1 : 1;
  int c = memcmp(x->author, y->author, 32);
  if (c) return c;
  return (x->seq > y->seq) - (x->seq < y->seq);
}

/* Reads the record id into b (decoded); 0, or an error. */
static int read_body(struct store_txn *txn, struct store *s, const uint8_t id[32], struct kk_body *b)
{
  uint8_t author[32];
  uint64_t seq;
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(txn, s, id, author, &seq, &env, &len);
  if (rc) return rc;
  if ((rc = codec_envelope_body_stored(env, len, b)))
    return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  return 0;
}

/* Adds the record to the list when it is valid (a record waiting or refused is no event). */
static int gather_one(struct gather *g, const uint8_t id[32], struct kk_body *b)
{
  struct rules_status st;
  int rc = rules_status_get(g->txn, g->s, id, &st);
  if (rc == STORE_ABSENT || (!rc && st.verdict != RULES_VALID)) return 0;
  if (rc || (rc = read_body(g->txn, g->s, id, b))) return rc;
  if (g->n == g->cap) {
    size_t cap = g->cap ? g->cap * 2 : 256;
    struct rec *r = mem_realloc(g->r, cap * sizeof *r);
    if (!r) return -ENOMEM;
    g->r = r;
    g->cap = cap;
  }
  struct rec *r = &g->r[g->n++];
  r->time_ms = b->time_ms;
  r->seq = b->seq;
  memcpy(r->author, b->author, 32);
  memcpy(r->id, id, 32);
  return 0;
}

struct log_ctx { struct gather *g; struct kk_body *b; };

static int log_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct log_ctx *l = arg;
  uint8_t id[32];
  (void)arrival;
  sig_sha256(id, env, len);
  return gather_one(l->g, id, l->b);
}

/* A member's party GLN, from the Admit record that admitted it. */
static int member_fn(void *arg, const uint8_t key[32], const struct member *m)
{
  struct xctx *x = arg;
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 16;
    struct party *p = mem_realloc(x->p, cap * sizeof *p);
    if (!p) return -ENOMEM;
    x->p = p;
    x->cap = cap;
  }
  struct party *p = &x->p[x->n++];
  memcpy(p->key, key, 32);
  p->gln[0] = 0;
  static const uint8_t none[32];
  if (memcmp(m->admitted_by, none, 32) == 0) return 0; /* the registry */
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  int rc = read_body(x->txn, x->s, m->admitted_by, b);
  if (!rc && b->kind == KK_PL_ADMIT) memcpy(p->gln, b->u.admit.gln, sizeof p->gln);
  mem_free(b);
  return rc;
}

static int member_json(void *arg, const uint8_t key[32], const struct member *m)
{
  const struct xctx *x = ((void **)arg)[0];
  json_t *o = json_object();
  json_object_set_new(o, "id", party(x, key));
  json_object_set_new(o, "kiroku:name", json_string(m->name));
  if (m->country[0]) json_object_set_new(o, "kiroku:country", json_string(m->country));
  return json_array_append_new(((void **)arg)[1], o) ? -ENOMEM : 0;
}

/* The event of record id (body b), or NULL in *out for a record that is none. */
static int record_event(const struct xctx *x, const uint8_t id[32], const struct kk_body *b, json_t **out)
{
  *out = NULL;
  switch (b->kind) {
  case KK_PL_ISSUE: *out = ev_issue(x, id, b); break;
  case KK_PL_TRANSFER: *out = ev_transfer(x, b); break;
  case KK_PL_RECEIVE:
  case KK_PL_REFUSE: {
    int rc = ev_close(x, id, b, out);
    if (rc) return rc;
    break;
  }
  case KK_PL_TRANSFORM: *out = ev_transform(x, id, b); break;
  case KK_PL_CLAIM:
  case KK_PL_ATTEST:
  case KK_PL_INCIDENT: *out = ev_statement(x, b); break;
  default: return 0;
  }
  if (!*out) return -ENOMEM;
  provenance(x, *out, id, b);
  return 0;
}

/* A revocation: the revoked record's event, declared in error. */
static int revocation_event(const struct xctx *x, const uint8_t id[32], const struct kk_body *rv, json_t **out)
{
  *out = NULL;
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  int rc = read_body(x->txn, x->s, rv->u.revoke.record, b);
  if (!rc) rc = record_event(x, rv->u.revoke.record, b, out);
  mem_free(b);
  if (rc || !*out) return rc;
  char t[48];
  time_iso(t, rv->time_ms);
  json_t *d = json_object();
  json_object_set_new(d, "declarationTime", json_string(t));
  json_object_set_new(d, "reason", json_string("incorrect_data"));
  json_object_set_new(d, "kiroku:record", hex_json(id));
  json_object_set_new(d, "kiroku:author", party(x, rv->author));
  json_object_set_new(d, "kiroku:reason", json_string(rv->u.revoke.reason));
  json_object_set_new(*out, "errorDeclaration", d);
  return 0;
}

int epcis_export(struct store_txn *txn, struct store *s, const uint8_t (*ids)[32], size_t n, json_t **doc,
                 size_t *events)
{
  *doc = NULL;
  *events = 0;
  struct gather g = { txn, s, NULL, 0, 0 };
  struct xctx x = { txn, s, NULL, 0, 0 };
  struct kk_body *b = mem_alloc(sizeof *b);
  json_t *list = json_array(), *members = json_array(), *d = NULL;
  int rc = b && list && members ? 0 : -ENOMEM;
  if (!rc && ids)
    for (size_t i = 0; i < n && !rc; i++) rc = gather_one(&g, ids[i], b);
  else if (!rc) {
    struct log_ctx l = { &g, b };
    rc = store_log_each(txn, s, 0, log_fn, &l);
  }
  if (!rc) qsort(g.r, g.n, sizeof *g.r, rec_cmp);
  if (!rc) rc = rules_members_each(txn, s, member_fn, &x);
  uint64_t latest = 0;
  for (size_t i = 0; i < g.n && !rc; i++) {
    json_t *e = NULL;
    if ((rc = read_body(txn, s, g.r[i].id, b))) break;
    rc = b->kind == KK_PL_REVOKE ? revocation_event(&x, g.r[i].id, b, &e) : record_event(&x, g.r[i].id, b, &e);
    if (!rc && e && json_array_append_new(list, e)) rc = -ENOMEM;
    if (b->time_ms > latest) latest = b->time_ms;
  }
  void *mj[2] = { &x, members };
  if (!rc) rc = rules_members_each(txn, s, member_json, mj);
  if (!rc) {
    char t[48];
    time_iso(t, latest); /* the newest record's time: the same document on every node */
    d = json_pack("{s:[s,{s:s,s:s}],s:s,s:s,s:s,s:{s:O},s:{s:O}}", "@context",
                  "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld", "kiroku", NS, "cbvmda",
                  "urn:epcglobal:cbv:mda:", "type", "EPCISDocument", "schemaVersion", "2.0", "creationDate", t,
                  "epcisHeader", "kiroku:members", members, "epcisBody", "eventList", list);
    if (!d) rc = -ENOMEM;
  }
  /* each event's hash as its eventID (an error declaration hashes as the event it
   * declares in error: errorDeclaration is not part of the hash) */
  struct ehash_doc *h = NULL;
  char why[128];
  if (!rc) rc = ehash_open(d, &h, why, sizeof why);
  for (size_t i = 0; !rc && i < json_array_size(list); i++) {
    char ni[EHASH_NI_LEN];
    json_t *e = json_array_get(list, i);
    if (!(rc = ehash_event_id(h, e, ni)) && json_object_set_new(e, "eventID", json_string(ni))) rc = -ENOMEM;
  }
  ehash_close(h);
  if (!rc) *events = json_array_size(list);
  json_decref(list);
  json_decref(members);
  mem_free(b);
  mem_free(g.r);
  mem_free(x.p);
  if (rc) { json_decref(d); return rc; }
  *doc = d;
  return 0;
}
