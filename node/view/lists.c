/*
 * lists — the ledger's feeds and checkpoints, its evidence and its members as JSON
 * (node/view/view.h).
 */
#include "view.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../ledger/ckpt.h"
#include "../ledger/evidence.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../../crypto/note.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

struct cosig_list { struct store_txn *txn; struct store *s; const char *note; size_t len; json_t *arr; };

static int list_cosig(void *arg, const char *name, size_t nl, const char *line, size_t ll)
{
  struct cosig_list *l = arg;
  uint8_t pk[32];
  uint64_t t;
  char nm[CKPT_WITNESS_NAME_MAX], who[CODEC_NAME_MAX + 1];
  (void)line;
  (void)ll;
  if (ckpt_witness_key(name, nl, pk)) return 0;
  memcpy(nm, name, nl);
  nm[nl] = 0;
  uint8_t key[32]; /* the witness's key now: its feed id, or the key it rotated to */
  if (store_key_now(l->txn, l->s, pk, key, NULL) || note_verify_cosignature(l->note, l->len, nm, key, &t)) return 0;
  json_array_append_new(l->arr, json_pack("{s:o,s:s,s:I}", "key", view_json_hex(pk, 32), "name",
                                          view_member_name(l->txn, l->s, pk, who, sizeof who), "time", (json_int_t)t));
  return 0;
}

/* One feed's newest checkpoint as JSON; NULL when it has none. */
static json_t *checkpoint_json(struct store_txn *txn, struct store *s, const uint8_t author[32])
{
  char *note;
  size_t len;
  uint64_t size;
  if (ckpt_get(txn, s, author, 0, &note, &len, &size)) return NULL;
  struct ckpt_view v;
  if (ckpt_parse(note, len, &v)) { mem_free(note); return NULL; }
  struct cosig_list l = { txn, s, note, len, json_array() };
  note_each_line(note, len, list_cosig, &l);
  json_t *j = json_pack("{s:I,s:o,s:s,s:o}", "size", (json_int_t)size, "root", view_json_hex(v.root, 32), "note", note,
                        "cosigned_by", l.arr);
  mem_free(note);
  return j;
}

struct feeds_list { struct store *s; struct store_txn *txn; json_t *feeds; };

static int feeds_list_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct feeds_list *fl = arg;
  char who[CODEC_NAME_MAX + 1];
  uint64_t frozen = 0;
  store_frozen_at(fl->txn, fl->s, author, &frozen);
  json_t *f = json_pack("{s:o,s:s,s:I}", "author", view_json_hex(author, 32), "name",
                        view_member_name(fl->txn, fl->s, author, who, sizeof who), "records", (json_int_t)h->seq);
  json_t *ck = checkpoint_json(fl->txn, fl->s, author);
  json_object_set_new(f, "checkpoint", ck ? ck : json_null());
  json_object_set_new(f, "frozen_at", frozen ? json_integer((json_int_t)frozen) : json_null());
  json_array_append_new(fl->feeds, f);
  return 0;
}

int view_feeds_json(struct store_txn *txn, struct store *s, json_t **out)
{
  json_t *feeds = json_array();
  struct feeds_list fl = { s, txn, feeds };
  int rc = feeds ? store_heads_each(txn, s, feeds_list_one, &fl) : -ENOMEM;
  if (rc) { json_decref(feeds); return rc; }
  *out = feeds;
  return 0;
}

json_t *view_evidence_json(struct store_txn *txn, struct store *s, const struct evidence_info *in)
{
  char who[CODEC_NAME_MAX + 1];
  int rec = in->kind == EVIDENCE_RECORDS, bad = in->kind == EVIDENCE_BAD_RECORD;
  json_t *j = json_pack("{s:o,s:s,s:o,s:I,s:o,s:o}", "id", view_json_hex(in->id, 32), "kind",
                        bad ? "bad-record" : rec ? "records" : "checkpoints", "author", view_json_hex(in->author, 32),
                        rec || bad ? "seq" : "size", (json_int_t)in->seq, bad ? "record" : rec ? "record_a" : "root_a",
                        view_json_hex(in->a, 32), bad ? "checkpoint_root" : rec ? "record_b" : "root_b", view_json_hex(in->b, 32));
  if (txn) {
    uint64_t frozen = 0;
    store_frozen_at(txn, s, in->author, &frozen);
    json_object_set_new(j, "name", json_string(view_member_name(txn, s, in->author, who, sizeof who)));
    json_object_set_new(j, "frozen_at", frozen ? json_integer((json_int_t)frozen) : json_null());
  }
  return j;
}


void view_roles_text(char *out, size_t n, uint32_t r)
{
  static const struct { const char *name; uint32_t bit; } roles[] = {
    { "recycler", KK_ROLE_RECYCLER }, { "processor", KK_ROLE_PROCESSOR },
    { "manufacturer", KK_ROLE_MANUFACTURER }, { "certifier", KK_ROLE_CERTIFIER },
    { "auditor", KK_ROLE_AUDITOR }, { "registry", KK_ROLE_REGISTRY },
  };
  out[0] = 0;
  for (size_t i = 0; i < sizeof roles / sizeof roles[0]; i++)
    if (r & roles[i].bit) {
      if (out[0]) strncat(out, ",", n - strlen(out) - 1);
      strncat(out, roles[i].name, n - strlen(out) - 1);
    }
}

json_t *view_member_json(struct store_txn *txn, struct store *s, const uint8_t key[32], const struct member *m)
{
  char hex[65], rt[128];
  struct store_head h;
  view_hex(hex, key);
  view_roles_text(rt, sizeof rt, m->roles);
  uint64_t seq = store_head_get(txn, s, key, &h) == 0 ? h.seq : 0;
  /* Facilities are what the Admit record names (the registry's own entry has none). */
  json_t *fac = json_array();
  struct kk_body *adm = NULL;
  char gln[14] = "";
  if (verify_load_body(txn, s, m->admitted_by, &adm) == 0 && adm->kind == KK_PL_ADMIT) {
    for (size_t f = 0; f < adm->u.admit.n_facilities; f++) json_array_append_new(fac, json_string(adm->u.admit.facilities[f]));
    memcpy(gln, adm->u.admit.gln, sizeof gln);
  }
  mem_free(adm);
  json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:I}", "key", hex, "name", m->name, "roles", rt, "country", m->country,
                        "records", (json_int_t)seq);
  if (!o) { json_decref(fac); return NULL; }
  json_object_set_new(o, "suspended_from", m->suspended_from ? json_integer((json_int_t)m->suspended_from) : json_null());
  json_object_set_new(o, "succeeded_by", m->succeeded ? view_json_hex(m->successor, 32) : json_null());
  json_object_set_new(o, "succession_from", m->succeeded ? json_integer((json_int_t)m->succession_from) : json_null());
  json_object_set_new(o, "succeeds", m->inherit ? view_json_hex(m->predecessor, 32) : json_null());
  json_object_set_new(o, "inherited", m->inherit ? json_boolean(m->inherit == INHERIT_DONE) : json_null());
  json_object_set_new(o, "facilities", fac);
  json_object_set_new(o, "gln", gln[0] ? json_string(gln) : json_null());
  return o;
}

struct members_list { struct store *s; struct store_txn *txn; json_t *arr; };

static int members_list_one(void *arg, const uint8_t key[32], const struct member *m)
{
  struct members_list *mc = arg;
  json_t *o = view_member_json(mc->txn, mc->s, key, m);
  return o ? json_array_append_new(mc->arr, o) ? -ENOMEM : 0 : -ENOMEM;
}

int view_members_json(struct store_txn *txn, struct store *s, json_t **out)
{
  json_t *arr = json_array();
  struct members_list mc = { s, txn, arr };
  int rc = arr ? rules_members_each(txn, s, members_list_one, &mc) : -ENOMEM;
  if (rc) { json_decref(arr); return rc; }
  *out = arr;
  return 0;
}

struct evidence_ctx { struct store_txn *txn; struct store *s; json_t *list; };

static int evidence_list_one(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len)
{
  struct evidence_ctx *x = arg;
  struct evidence_info in;
  struct kk_equivocation e;
  if (codec_equivocation_decode(buf, len, &e)) return 0;
  if (evidence_check(buf, len, NULL, &in)) { /* checked on arrival, maybe against a key rotated since */
    memset(&in, 0, sizeof in);
    memcpy(in.id, id, 32);
    memcpy(in.author, e.author, 32);
  }
  codec_equivocation_free(&e);
  json_t *j = view_evidence_json(x->txn, x->s, &in);
  return j && !json_array_append_new(x->list, j) ? 0 : -ENOMEM;
}

int view_evidence_list_json(struct store_txn *txn, struct store *s, json_t **out)
{
  struct evidence_ctx x = { txn, s, json_array() };
  int rc = x.list ? evidence_each(txn, s, evidence_list_one, &x) : -ENOMEM;
  if (rc) { json_decref(x.list); return rc; }
  *out = x.list;
  return 0;
}
