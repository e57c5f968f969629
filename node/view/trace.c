/*
 * trace — where a lot came from, or where it went, as a tree (node/view/view.h).
 */
#include "view.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/idset.h"
#include "../base/mem.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../../crypto/keys.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>


/* A trace is built as a JSON tree; every lot node is also kept in a list, so its
 * verified figures (one pass over all their provenance) and what incidents name can be
 * added once the tree is complete. */
struct trace_lot { uint8_t key[36]; uint8_t owner[32]; json_t *node; };
struct trace {
  struct store *s;
  struct store_txn *txn;
  size_t nodes;
  int truncated;
  struct trace_lot *lots;
  size_t n_lots, cap_lots;
};

static json_t *trace_node(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass)
{
  struct lot l;
  char hex[65], ref[80], owner[CODEC_NAME_MAX + 8];
  lot_init(&l);
  view_hex(hex, key);
  snprintf(ref, sizeof ref, "%s:%u", hex, be32_get(key + 32));
  json_t *o = json_pack("{s:s}", "lot", ref);
  if (rules_lot_get(t->txn, t->s, key, &l) == 0) {
    if (t->n_lots == t->cap_lots) {
      size_t cap = t->cap_lots ? t->cap_lots * 2 : 32;
      void *p = mem_realloc(t->lots, cap * sizeof *t->lots);
      if (p) { t->lots = p; t->cap_lots = cap; }
    }
    if (t->n_lots < t->cap_lots) {
      memcpy(t->lots[t->n_lots].key, key, 36);
      memcpy(t->lots[t->n_lots].owner, l.owner, 32);
      t->lots[t->n_lots++].node = o;
    }
    json_object_set_new(o, "code", json_string(l.code));
    view_json_material(o, l.material);
    json_object_set_new(o, "mass_mg", json_integer((json_int_t)l.mass));
    json_object_set_new(o, "recycled_mg", json_integer((json_int_t)(l.post + l.pre)));
    json_object_set_new(o, "owner", json_string(view_member_name(t->txn, t->s, l.owner, owner, sizeof owner)));
    json_object_set_new(o, "model", json_string(codec_model_name(l.model)));
    json_object_set_new(o, "created_by", json_string(l.origin_kind == KK_PL_ADMIT ? "succession" : codec_payload_name(l.origin_kind)));
  }
  if (via) {
    json_object_set_new(o, "via", json_string(via));
    json_object_set_new(o, "via_mass_mg", json_integer((json_int_t)via_mass));
  }
  lot_free(&l);
  t->nodes++;
  return o;
}

static json_t *trace_up(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass, int depth)
{
  json_t *o = trace_node(t, key, via, via_mass), *from = json_array();
  struct kk_body *b = NULL;
  if (depth >= VIEW_TRACE_MAX_DEPTH || t->nodes >= VIEW_TRACE_MAX_NODES) { t->truncated = 1; goto done; }
  struct lot l;
  if (rules_lot_get(t->txn, t->s, key, &l) == 0 && l.origin_kind == KK_PL_ADMIT) {
    /* inherited by a successor: from the lot beside it (node/ledger/rules.h) */
    uint8_t from_key[36];
    memcpy(from_key, key, 32);
    be32_put(from_key + 32, be32_get(key + 32) - RULES_INHERITED);
    json_array_append_new(from, trace_up(t, from_key, "succession", l.mass, depth + 1));
    goto done;
  }
  if (verify_load_body(t->txn, t->s, key, &b)) goto done;
  if (b->kind == KK_PL_ISSUE) {
    uint8_t (*revs)[32] = NULL;
    size_t nrev = 0;
    uint64_t frozen = 0;
    rules_revocations(t->txn, t->s, key, &revs, &nrev);
    rules_flagged_from(t->txn, t->s, b->author, &frozen);
    mem_free(revs);
    json_object_set_new(o, "certificate", json_pack("{s:s,s:s,s:s,s:b,s:I,s:b}", "scheme", b->u.issue.scheme, "certificate",
                                                    b->u.issue.certificate, "origin", b->u.issue.origin, "revoked",
                                                    nrev > 0, "revocations", (json_int_t)nrev, "issuer_equivocated",
                                                    frozen > 0));
  } else if (b->kind == KK_PL_RECEIVE || b->kind == KK_PL_REFUSE) {
    struct xfer x;
    xfer_init(&x);
    const uint8_t *tid = b->kind == KK_PL_RECEIVE ? b->u.receive.transfer : b->u.refuse.transfer;
    if (rules_xfer_get(t->txn, t->s, tid, &x) == 0)
      json_array_append_new(from, trace_up(t, x.from_lot, "transfer", x.mass, depth + 1));
    xfer_free(&x);
  } else if (b->kind == KK_PL_TRANSFORM) {
    for (size_t i = 0; i < b->u.transform.n_inputs; i++) {
      uint8_t k[36];
      lotkey_make(k, b->u.transform.inputs[i].lot.record, b->u.transform.inputs[i].lot.index);
      json_array_append_new(from, trace_up(t, k, "transform", b->u.transform.inputs[i].mass_mg, depth + 1));
    }
    for (size_t i = 0; i < b->u.transform.n_unledgered; i++)
      json_array_append_new(from, json_pack("{s:s,s:s,s:I,s:s}", "unledgered", b->u.transform.unledgered[i].material,
                                            "origin", b->u.transform.unledgered[i].origin, "via_mass_mg",
                                            (json_int_t)b->u.transform.unledgered[i].mass_mg, "via", "transform"));
  }
done:
  mem_free(b);
  json_object_set_new(o, "from", from);
  return o;
}

static json_t *trace_down(struct trace *t, const uint8_t key[36], const char *via, uint64_t via_mass, int depth)
{
  json_t *o = trace_node(t, key, via, via_mass), *to = json_array();
  uint8_t (*ids)[32] = NULL;
  uint64_t *seqs = NULL;
  struct spend *spends = NULL;
  size_t n = 0;
  if (depth >= VIEW_TRACE_MAX_DEPTH || t->nodes >= VIEW_TRACE_MAX_NODES) { t->truncated = 1; goto done; }
  if (rules_lot_spends(t->txn, t->s, key, &ids, &seqs, &spends, &n)) goto done;
  for (size_t i = 0; i < n; i++) {
    struct kk_body *b;
    if (verify_load_body(t->txn, t->s, ids[i], &b)) continue;
    if (b->kind == KK_PL_TRANSFER) {
      struct xfer x;
      xfer_init(&x);
      if (rules_xfer_get(t->txn, t->s, ids[i], &x) == 0) {
        if (x.state == XFER_PENDING) {
          char name[CODEC_NAME_MAX + 8];
          json_array_append_new(to, json_pack("{s:s,s:s,s:I}", "pending_transfer_to",
                                              view_member_name(t->txn, t->s, x.to, name, sizeof name), "via", "transfer",
                                              "via_mass_mg", (json_int_t)x.mass));
        } else {
          uint8_t lk[36];
          lotkey_make(lk, x.closed_by, 0);
          json_array_append_new(to, trace_down(t, lk, x.state == XFER_RECEIVED ? "transfer" : "refused", x.mass, depth + 1));
        }
      }
      xfer_free(&x);
    } else if (spends[i].kind == SPEND_SUCCESSION) { /* inherited whole by the owner's successor */
      uint8_t lk[36];
      memcpy(lk, key, 32);
      be32_put(lk + 32, be32_get(key + 32) + RULES_INHERITED);
      json_array_append_new(to, trace_down(t, lk, "succession", spends[i].mass, depth + 1));
    } else if (b->kind == KK_PL_TRANSFORM) {
      uint64_t used = 0;
      for (size_t j = 0; j < b->u.transform.n_inputs; j++) {
        uint8_t ik[36];
        lotkey_make(ik, b->u.transform.inputs[j].lot.record, b->u.transform.inputs[j].lot.index);
        if (memcmp(ik, key, 36) == 0) used = b->u.transform.inputs[j].mass_mg;
      }
      for (size_t j = 0; j < b->u.transform.n_outputs; j++) {
        uint8_t lk[36];
        lotkey_make(lk, ids[i], (uint32_t)j);
        json_array_append_new(to, trace_down(t, lk, "transform", used, depth + 1));
      }
    }
    mem_free(b);
  }
done:
  mem_free(ids);
  mem_free(seqs);
  mem_free(spends);
  json_object_set_new(o, "to", to);
  return o;
}

struct incidents_list { struct trace *t; const struct idset *about; json_t *list; };

static int incidents_list_one(void *arg, const uint8_t about[32], const uint8_t incident[32])
{
  struct incidents_list *il = arg;
  struct trace *t = il->t;
  struct kk_body *b;
  char name[CODEC_NAME_MAX + 8];
  if (!idset_has(il->about, about)) return 0;
  int rc = verify_load_body(t->txn, t->s, incident, &b);
  if (rc) return rc;
  json_array_append_new(il->list, json_pack("{s:o,s:s,s:o,s:s,s:s}", "record", view_json_hex(incident, 32), "author_name",
                                            view_member_name(t->txn, t->s, b->author, name, sizeof name), "about",
                                            view_json_hex(about, 32), "kind", b->u.incident.kind, "text", b->u.incident.text));
  mem_free(b);
  return 0;
}

/* Verified figures on every lot of the tree, and the incidents that name a lot, a
 * record or an owner in it (a list on the root). */
static int trace_annotate(struct trace *t, json_t *tree)
{
  struct view_figures *f = t->n_lots ? mem_alloc(t->n_lots * sizeof *f) : NULL;
  uint8_t (*keys)[36] = t->n_lots ? mem_alloc(t->n_lots * 36) : NULL;
  struct idset about;
  int rc = 0;
  idset_init(&about);
  if (t->n_lots && (!f || !keys)) rc = -ENOMEM;
  for (size_t i = 0; i < t->n_lots && rc == 0; i++) {
    memcpy(keys[i], t->lots[i].key, 36);
    if ((rc = idset_add(&about, t->lots[i].key)) >= 0) rc = idset_add(&about, t->lots[i].owner);
    rc = rc < 0 ? rc : 0;
  }
  if (rc == 0) rc = view_lot_figures(t->txn, t->s, (const uint8_t(*)[36])keys, t->n_lots, f);
  for (size_t i = 0; i < t->n_lots && rc == 0; i++) {
    json_t *mass = json_object_get(t->lots[i].node, "mass_mg");
    view_json_figures(t->lots[i].node, &f[i], mass ? (uint64_t)json_integer_value(mass) : 0);
  }
  json_t *incidents = json_array();
  struct incidents_list il = { t, &about, incidents };
  if (rc == 0) rc = rules_incidents_each(t->txn, t->s, incidents_list_one, &il);
  json_object_set_new(tree, "incidents", incidents);
  idset_free(&about);
  mem_free(f);
  mem_free(keys);
  return rc;
}

int view_trace_json(struct store_txn *txn, struct store *s, const uint8_t key[36], int down, json_t **out)
{
  struct trace t = { s, txn, 0, 0, NULL, 0, 0 };
  json_t *tree = down ? trace_down(&t, key, NULL, 0, 0) : trace_up(&t, key, NULL, 0, 0);
  int rc = trace_annotate(&t, tree);
  mem_free(t.lots);
  if (rc) { json_decref(tree); return rc; }
  if (t.truncated) json_object_set_new(tree, "truncated", json_true());
  *out = tree;
  return 0;
}
