/*
 * records — lots and records as JSON (node/view/view.h).
 */
#include "view.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../ledger/material.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static json_t *recycled_json(uint64_t mass, uint64_t post, uint64_t pre)
{
  return json_pack("{s:I,s:I,s:f,s:I}", "post_consumer_mg", (json_int_t)post, "pre_consumer_mg", (json_int_t)pre,
                   "share", (double)qty_ppm(post + pre, mass) / 1e6, "share_ppm", (json_int_t)qty_ppm(post + pre, mass));
}

json_t *view_lot_json(struct store_txn *txn, struct store *s, const uint8_t key[36], const struct lot *l,
                        const struct view_figures *f)
{
  char hex[65], ref[80], owner[CODEC_NAME_MAX + 8];
  view_hex(hex, key);
  snprintf(ref, sizeof ref, "%s:%u", hex, be32_get(key + 32));
  view_member_name(txn, s, l->owner, owner, sizeof owner);
  json_t *o = json_pack("{s:s,s:s,s:I,s:I,s:o,s:s,s:s,s:o,s:s}", "ref", ref, "code", l->code,
                        "mass_mg", (json_int_t)l->mass, "available_mg", (json_int_t)l->mass_left,
                        "recycled", recycled_json(l->mass, l->post, l->pre), "model", codec_model_name(l->model),
                        "owner", owner, "owner_key", view_json_hex(l->owner, 32), "created_by", codec_payload_name(l->origin_kind));
  json_object_set_new(o, "claimed_mg", json_integer((json_int_t)l->claimed));
  view_json_material(o, l->material);
  view_json_figures(o, f, l->mass);
  return o;
}

static json_t *lotref_json(const struct kk_lotref *r)
{
  char hex[65], ref[80];
  view_hex(hex, r->record);
  snprintf(ref, sizeof ref, "%s:%u", hex, r->index);
  return json_string(ref);
}

json_t *view_body_json(const struct kk_body *b)
{
  json_t *p = json_object();
  switch (b->kind) {
  case KK_PL_GENESIS: json_object_set_new(p, "name", json_string(b->u.genesis.name)); break;
  case KK_PL_ADMIT:
    json_object_set_new(p, "member", view_json_hex(b->u.admit.member, 32));
    json_object_set_new(p, "name", json_string(b->u.admit.name));
    json_object_set_new(p, "roles", json_integer(b->u.admit.roles));
    json_object_set_new(p, "country", json_string(b->u.admit.country));
    if (b->u.admit.gln[0]) json_object_set_new(p, "gln", json_string(b->u.admit.gln));
    break;
  case KK_PL_SUSPEND:
    json_object_set_new(p, "member", view_json_hex(b->u.suspend.member, 32));
    json_object_set_new(p, "from_seq", json_integer((json_int_t)b->u.suspend.from_seq));
    json_object_set_new(p, "reason", json_string(b->u.suspend.reason));
    break;
  case KK_PL_ROTATE_KEY: json_object_set_new(p, "new_key", view_json_hex(b->u.rotate_key.new_key, 32)); break;
  case KK_PL_ISSUE: {
    const struct kk_issue *x = &b->u.issue;
    json_t *ev = json_array();
    for (size_t i = 0; i < x->n_evidence; i++) json_array_append_new(ev, view_json_hex(x->evidence[i], 32));
    json_object_set_new(p, "lot_code", json_string(x->lot_code));
    json_object_set_new(p, "material", json_string(x->material));
    json_object_set_new(p, "mass_mg", json_integer((json_int_t)x->mass_mg));
    json_object_set_new(p, "post_consumer_mg", json_integer((json_int_t)x->post_mg));
    json_object_set_new(p, "pre_consumer_mg", json_integer((json_int_t)x->pre_mg));
    json_object_set_new(p, "origin", json_string(x->origin));
    json_object_set_new(p, "facility", json_string(x->facility));
    json_object_set_new(p, "scheme", json_string(x->scheme));
    json_object_set_new(p, "certificate", json_string(x->certificate));
    json_object_set_new(p, "model", json_string(codec_model_name(x->model)));
    json_object_set_new(p, "evidence", ev);
    break;
  }
  case KK_PL_TRANSFER:
    json_object_set_new(p, "lot", lotref_json(&b->u.transfer.lot));
    json_object_set_new(p, "mass_mg", json_integer((json_int_t)b->u.transfer.mass_mg));
    json_object_set_new(p, "to", view_json_hex(b->u.transfer.to, 32));
    break;
  case KK_PL_RECEIVE: json_object_set_new(p, "transfer", view_json_hex(b->u.receive.transfer, 32)); break;
  case KK_PL_REFUSE:
    json_object_set_new(p, "transfer", view_json_hex(b->u.refuse.transfer, 32));
    json_object_set_new(p, "reason", json_string(b->u.refuse.reason));
    break;
  case KK_PL_TRANSFORM: {
    const struct kk_transform *t = &b->u.transform;
    json_t *in = json_array(), *un = json_array(), *out = json_array();
    for (size_t i = 0; i < t->n_inputs; i++)
      json_array_append_new(in, json_pack("{s:o,s:I}", "lot", lotref_json(&t->inputs[i].lot), "mass_mg", (json_int_t)t->inputs[i].mass_mg));
    for (size_t i = 0; i < t->n_unledgered; i++)
      json_array_append_new(un, json_pack("{s:s,s:I,s:s}", "material", t->unledgered[i].material, "mass_mg",
                                          (json_int_t)t->unledgered[i].mass_mg, "origin", t->unledgered[i].origin));
    for (size_t i = 0; i < t->n_outputs; i++)
      json_array_append_new(out, json_pack("{s:s,s:s,s:I,s:I,s:I}", "lot_code", t->outputs[i].lot_code, "material",
                                           t->outputs[i].material, "mass_mg", (json_int_t)t->outputs[i].mass_mg,
                                           "post_consumer_mg", (json_int_t)t->outputs[i].post_mg, "pre_consumer_mg",
                                           (json_int_t)t->outputs[i].pre_mg));
    json_object_set_new(p, "model", json_string(codec_model_name(t->model)));
    json_object_set_new(p, "inputs", in);
    json_object_set_new(p, "unledgered", un);
    json_object_set_new(p, "outputs", out);
    json_object_set_new(p, "process", json_string(t->process));
    break;
  }
  case KK_PL_CLAIM:
    json_object_set_new(p, "lot", lotref_json(&b->u.claim.lot));
    json_object_set_new(p, "share_ppm", json_integer(b->u.claim.share_ppm));
    json_object_set_new(p, "scope", json_string(b->u.claim.scope));
    break;
  case KK_PL_ATTEST:
    json_object_set_new(p, "record", view_json_hex(b->u.attest.record, 32));
    json_object_set_new(p, "statement", json_string(b->u.attest.statement));
    break;
  case KK_PL_REVOKE:
    json_object_set_new(p, "record", view_json_hex(b->u.revoke.record, 32));
    json_object_set_new(p, "reason", json_string(b->u.revoke.reason));
    break;
  case KK_PL_INCIDENT:
    json_object_set_new(p, "kind", json_string(b->u.incident.kind));
    json_object_set_new(p, "about", view_json_hex(b->u.incident.about, 32));
    json_object_set_new(p, "text", json_string(b->u.incident.text));
    break;
  default: break;
  }
  return p;
}

/* One record as JSON: envelope fields, verdict, payload. */
json_t *view_record_json(struct store_txn *txn, struct store *s, const uint8_t *env, size_t len, int with_payload)
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  uint8_t id[32];
  char name[CODEC_NAME_MAX + 8];
  if (!b) return NULL;
  sig_sha256(id, env, len);
  if (codec_envelope_split(env, len, &ev) || codec_body_decode(ev.body, ev.body_len, b)) { mem_free(b); return NULL; }
  struct rules_status st;
  const char *verdict = "pending";
  int rc = rules_status_get(txn, s, id, &st);
  if (rc == 0) verdict = st.verdict == RULES_VALID ? "valid" : "invalid";
  json_t *o = json_pack("{s:o,s:o,s:s,s:I,s:s,s:I,s:s}", "id", view_json_hex(id, 32), "author", view_json_hex(b->author, 32),
                        "author_name", view_member_name(txn, s, b->author, name, sizeof name), "seq", (json_int_t)b->seq,
                        "kind", codec_payload_name(b->kind), "time_ms", (json_int_t)b->time_ms, "verdict", verdict);
  if (rc == 0 && st.verdict != RULES_VALID) {
    json_object_set_new(o, "error", json_string(kk_errname(st.err)));
    json_object_set_new(o, "reason", json_string(kk_strerror(st.err)));
  }
  if (with_payload) {
    json_object_set_new(o, "prev", b->has_prev ? view_json_hex(b->prev, 32) : json_null());
    json_object_set_new(o, "bytes", json_integer((json_int_t)len));
    json_object_set_new(o, "payload", view_body_json(b));
  }
  mem_free(b);
  return o;
}


/* The keys of the lots to list: all, or those `owner` holds. */
struct lots_pick { struct store_txn *txn; struct store *s; const uint8_t *owner; uint8_t (*keys)[36]; size_t n, cap; };

static int lots_pick_one(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct lots_pick *p = arg;
  if (p->owner && memcmp(l->owner, p->owner, 32) != 0) return 0;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    void *k = mem_realloc(p->keys, cap * 36);
    if (!k) return -ENOMEM;
    p->keys = k;
    p->cap = cap;
  }
  int rc = rules_lot_key(p->txn, p->s, pos, p->keys[p->n]);
  if (rc == STORE_ABSENT) rc = KK_ERR(CORRUPT); /* a lot without its record */
  if (rc == 0) p->n++;
  return rc;
}

int view_lot_keys(struct store_txn *txn, struct store *s, const uint8_t *owner, uint8_t (**keys)[36], size_t *n)
{
  struct lots_pick p = { txn, s, owner, NULL, 0, 0 };
  int rc = rules_lots_each(txn, s, lots_pick_one, &p);
  if (rc) { mem_free(p.keys); return rc; }
  *keys = p.keys;
  *n = p.n;
  return 0;
}

/* What a record stands for now: its revocations, and the lots it made with their
 * verified figures (the same as lots and verify give). */
static int standing(struct store_txn *txn, struct store *s, const uint8_t id[32], json_t *r)
{
  uint8_t (*revs)[32];
  size_t nrev;
  int rc = rules_revocations(txn, s, id, &revs, &nrev);
  if (rc) return rc;
  json_t *ra = json_array();
  for (size_t i = 0; i < nrev; i++) json_array_append_new(ra, view_json_hex(revs[i], 32));
  mem_free(revs);
  json_object_set_new(r, "revoked", json_boolean(nrev > 0));
  json_object_set_new(r, "revoked_by", ra);
  /* Lots: output 0, 1, ... for as long as there are. */
  uint8_t keys[CODEC_IO_MAX][36];
  struct view_figures f[CODEC_IO_MAX];
  size_t n = 0;
  for (; n < CODEC_IO_MAX; n++) {
    struct lot l;
    lot_init(&l);
    lotkey_make(keys[n], id, (uint32_t)n);
    rc = rules_lot_get(txn, s, keys[n], &l);
    if (rc == STORE_ABSENT) { rc = 0; break; }
    if (rc) return rc;
  }
  json_t *lots = json_array();
  if (n && (rc = view_lot_figures(txn, s, (const uint8_t(*)[36])keys, n, f))) { json_decref(lots); return rc; }
  for (size_t i = 0; i < n; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, s, keys[i], &l))) { json_decref(lots); return rc; }
    json_array_append_new(lots, view_lot_json(txn, s, keys[i], &l, &f[i]));
  }
  json_object_set_new(r, "lots", lots);
  return 0;
}

int view_show_json(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t *env, size_t len,
                   json_t **out)
{
  json_t *r = view_record_json(txn, s, env, len, 1);
  if (!r) return KK_ERR(CORRUPT);
  int rc = standing(txn, s, id, r);
  if (rc) { json_decref(r); return rc; }
  *out = r;
  return 0;
}

struct attestations { struct store_txn *txn; struct store *s; json_t *arr; };

static int attestation_one(void *arg, const uint8_t id[32])
{
  struct attestations *a = arg;
  struct kk_body *b = NULL;
  char name[CODEC_NAME_MAX + 8];
  int rc = verify_load_body(a->txn, a->s, id, &b);
  if (rc) return rc;
  int revoked = rules_revoked(a->txn, a->s, id);
  if (revoked < 0) { mem_free(b); return revoked; }
  json_t *o = json_pack("{s:o,s:o,s:s,s:s,s:I,s:b}", "record", view_json_hex(id, 32), "author", view_json_hex(b->author, 32),
                        "author_name", view_member_name(a->txn, a->s, b->author, name, sizeof name), "statement",
                        b->kind == KK_PL_ATTEST ? b->u.attest.statement : "", "time_ms", (json_int_t)b->time_ms,
                        "revoked", revoked);
  mem_free(b);
  return o && !json_array_append_new(a->arr, o) ? 0 : -ENOMEM;
}

int view_attestations_json(struct store_txn *txn, struct store *s, const uint8_t id[32], json_t **out)
{
  struct attestations a = { txn, s, json_array() };
  int rc = a.arr ? rules_attestations_each(txn, s, id, attestation_one, &a) : -ENOMEM;
  if (rc) { json_decref(a.arr); return rc; }
  *out = a.arr;
  return 0;
}
