/*
 * import — EPCIS events as records (see import.h; the mapping is docs/epcis.md's).
 */
#include "import.h"
#include "ejson.h"
#include "evalue.h"
#include "export.h"
#include "gs1.h"
#include "masterdata.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/idset.h"
#include "../base/mem.h"
#include "../ledger/material.h"
#include "../ledger/rules.h"
#include "../ledger/state.h"
#include "../ledger/verify.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the plan ------------------------------------------------------------------------- */

/* A lot this document made before the event being read: its class, and its key. */
struct made { char *cls; uint8_t key[36]; };
/* A class and the lot code the document gives it. */
struct alias { char *cls, *code; };

struct plan {
  const struct epcis_masterdata *md;
  struct store_txn *txn;
  struct store *s;
  const uint8_t *me;
  struct ehash_doc *h;
  struct idset held;            /* source events of this feed's records */
  struct made *made;
  size_t nmade, capmade;
  struct idset seen;            /* source events of this document's records */
  struct alias *alias;          /* class -> lot code, as the document's events give it */
  size_t nalias, capalias;
  char why[320];
};

static int refuse(struct plan *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int refuse(struct plan *p, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(p->why, sizeof p->why, fmt, ap);
  va_end(ap);
  return EI_REFUSED;
}

static const char *str(json_t *o, const char *k) { return ejson_string(json_object_get(o, k)); }
/* A number or a string holding one. */
static const char *numtext(json_t *o, const char *k)
{
  json_t *v = json_object_get(o, k);
  return ejson_number(v) ? ejson_number(v) : ejson_string(v);
}

/* The value a vocabulary field names, bare ("shipping") or as a CBV IRI. */
static int is_vocab(const char *v, const char *prefix, const char *term)
{
  if (!v) return 0;
  if (strcmp(v, term) == 0) return 1;
  size_t pl = strlen(prefix);
  return strncmp(v, prefix, pl) == 0 && strcmp(v + pl, term) == 0;
}

static int member_gln(struct plan *p, const char *gln, uint8_t key[32]);

/* A party as a member's key: urn:kiroku:party:<hex>, or its party GLN in any GS1 form
 * (https://id.gs1.org/417/GLN, urn:epc:id:pgln:…, a location GLN 414 of the party). */
static int party_key(struct plan *p, const char *party, uint8_t key[32])
{
  static const char urn[] = "urn:kiroku:party:";
  if (strncmp(party, urn, sizeof urn - 1) == 0) {
    if (strlen(party + sizeof urn - 1) != 64 || sig_unhex(key, 32, party + sizeof urn - 1)) return KK_ERR(UNKNOWN_MEMBER);
    struct member m;
    int rc = rules_member_get(p->txn, p->s, key, &m);
    return rc == STORE_ABSENT ? KK_ERR(UNKNOWN_MEMBER) : rc;
  }
  char dl[GS1_DL_MAX];
  gs1_canonical_or_self(party, dl);
  const char *gln = NULL;
  if (strncmp(dl, "https://id.gs1.org/417/", 23) == 0) gln = dl + 23;
  else if (strncmp(dl, "https://id.gs1.org/414/", 23) == 0) gln = dl + 23;
  if (!gln || strlen(gln) < 13) return KK_ERR(UNKNOWN_MEMBER);
  char g[14];
  memcpy(g, gln, 13);
  g[13] = 0;
  return member_gln(p, g, key);
}

struct gln_find { struct plan *p; const char *gln; uint8_t key[32]; int found; int rc; };

static int gln_fn(void *arg, const uint8_t key[32], const struct member *m)
{
  struct gln_find *f = arg;
  static const uint8_t none[32];
  if (memcmp(m->admitted_by, none, 32) == 0) return 0;
  struct kk_body *b;
  int rc = verify_load_body(f->p->txn, f->p->s, m->admitted_by, &b);
  if (rc) return rc;
  if (b->kind == KK_PL_ADMIT && strcmp(b->u.admit.gln, f->gln) == 0) {
    memcpy(f->key, key, 32);
    f->found++;
  }
  mem_free(b);
  return 0;
}

static int member_gln(struct plan *p, const char *gln, uint8_t key[32])
{
  struct gln_find f = { p, gln, { 0 }, 0, 0 };
  int rc = rules_members_each(p->txn, p->s, gln_fn, &f);
  if (rc) return rc;
  if (f.found != 1) return KK_ERR(UNKNOWN_MEMBER);
  memcpy(key, f.key, 32);
  return 0;
}

/* The owning party of a source or destination list, if it names one: 1 and key, 0 when
 * none, or an error (an owning party that is no member). */
static int owning_party(struct plan *p, json_t *list, const char *field, uint8_t key[32], const char **name)
{
  size_t i;
  json_t *e;
  *name = NULL;
  json_array_foreach(list, i, e) {
    if (!is_vocab(str(e, "type"), "https://ref.gs1.org/cbv/SDT-", "owning_party")) continue;
    const char *who = str(e, field);
    if (!who) continue;
    *name = who;
    int rc = party_key(p, who, key);
    return rc ? rc : 1;
  }
  return 0;
}

/* The event's actor: kiroku:author, else the owning party given, else this member.
 * EI_RECORD when it is this member, EI_OTHER_PARTY or EI_REFUSED (why set). */
static int actor(struct plan *p, json_t *ev, json_t *owner_list, const char *field)
{
  uint8_t key[32];
  const char *who = str(ev, "kiroku:author");
  int rc = who ? party_key(p, who, key) : owning_party(p, owner_list, field, key, &who);
  if (who && rc == 0) rc = 1;
  if (rc == KK_ERR(UNKNOWN_MEMBER))
    return refuse(p, "its party %s is no member of this network (docs/epcis.md: how parties are named)", who);
  if (rc < 0) return rc; /* a storage error is no verdict */
  if (rc == 1 && memcmp(key, p->me, 32) != 0) {
    snprintf(p->why, sizeof p->why, "an event of %s: import it at that party's node", who);
    return EI_OTHER_PARTY;
  }
  return EI_RECORD;
}

static int lot_exists(struct plan *p, const uint8_t record[32], uint32_t index)
{
  uint8_t key[36];
  struct lot l;
  lot_init(&l);
  lotkey_make(key, record, index);
  int rc = rules_lot_get(p->txn, p->s, key, &l);
  lot_free(&l);
  return rc == 0 ? 1 : rc == STORE_ABSENT ? 0 : rc;
}

/* A Kiroku lot URN's record and index: 1, or 0 when c is none. */
static int lot_urn(const char *c, struct kk_lotref *ref)
{
  static const char urn[] = "urn:kiroku:lot:";
  if (strncmp(c, urn, sizeof urn - 1) != 0) return 0;
  const char *h = c + sizeof urn - 1, *colon = strchr(h, ':');
  char hex[65], *end;
  if (!colon || colon - h != 64 || !colon[1]) return 0;
  memcpy(hex, h, 64);
  hex[64] = 0;
  unsigned long idx = strtoul(colon + 1, &end, 10);
  if (*end || idx > UINT32_MAX || sig_unhex(ref->record, 32, hex)) return 0;
  ref->index = (uint32_t)idx;
  return 1;
}

/* The lot code the document gives a class (a commissioning's or a transformation's
 * kiroku:lotCode, a receipt's kiroku:receivedAs), or NULL. */
static const char *alias_of(const struct plan *p, const char *c)
{
  for (size_t i = p->nalias; i-- > 0;)
    if (strcmp(p->alias[i].cls, c) == 0) return p->alias[i].code;
  return NULL;
}

static int made_find(const struct plan *p, const char *c, struct kk_lotref *ref)
{
  for (size_t i = p->nmade; i-- > 0;)
    if (strcmp(p->made[i].cls, c) == 0) {
      memcpy(ref->record, p->made[i].key, 32);
      ref->index = be32_get(p->made[i].key + 32);
      return 1;
    }
  return 0;
}

/* A lot of this member named by an event's class: one this document made (by class or
 * code), a Kiroku lot URN this node holds, or the lot this member holds under the code
 * the document gives that class, or under the class itself. 0, or EI_REFUSED. */
static int lot_of(struct plan *p, const char *cls, struct kk_lotref *ref)
{
  char c[GS1_DL_MAX];
  gs1_canonical_or_self(cls, c);
  if (made_find(p, c, ref)) return 0;
  if (lot_urn(c, ref)) {
    int rc = lot_exists(p, ref->record, ref->index);
    if (rc) return rc < 0 ? rc : 0;
  }
  const char *code = alias_of(p, c);
  if (!code) code = c;
  if (made_find(p, code, ref)) return 0;
  uint8_t key[36];
  size_t found = 0;
  if (strlen(code) > CODEC_CODE_MAX) return refuse(p, "unknown lot %s", cls);
  int rc = rules_code_lots(p->txn, p->s, p->me, code, &key, 1, &found);
  if (rc) return rc;
  if (found == 0) return refuse(p, "unknown lot %s: no lot of yours has it as its class or code", cls);
  if (found > 1) return refuse(p, "lot %s is ambiguous: you hold %zu lots under that code", cls, found);
  memcpy(ref->record, key, 32);
  ref->index = be32_get(key + 32);
  return 0;
}

static int alias_add(struct plan *p, const char *cls, const char *code)
{
  if (!cls || !code) return 0;
  if (p->nalias == p->capalias) {
    size_t cap = p->capalias ? p->capalias * 2 : 16;
    struct alias *a = mem_realloc(p->alias, cap * sizeof *a);
    if (!a) return -ENOMEM;
    p->alias = a;
    p->capalias = cap;
  }
  char c[GS1_DL_MAX];
  gs1_canonical_or_self(cls, c);
  char *x = mem_strdup(c), *y = mem_strdup(code);
  if (!x || !y) { mem_free(x); mem_free(y); return -ENOMEM; }
  p->alias[p->nalias].cls = x;
  p->alias[p->nalias++].code = y;
  return 0;
}

/* The lot codes the document's events give their classes, read before any event is. */
static int read_aliases(struct plan *p)
{
  int rc = 0;
  for (size_t i = 0; i < ehash_count(p->h) && !rc; i++) {
    json_t *ev = ehash_event(p->h, i), *ilmd = json_object_get(ev, "ilmd"), *o;
    size_t k;
    rc = alias_add(p, str(json_array_get(json_object_get(ev, "quantityList"), 0), "epcClass"), str(ilmd, "kiroku:lotCode"));
    json_array_foreach(json_object_get(ilmd, "kiroku:outputs"), k, o) if (!rc) rc = alias_add(p, str(o, "kiroku:lot"), str(o, "kiroku:lotCode"));
    const char *as = str(ev, "kiroku:receivedAs");
    if (!rc && as) {
      char c[GS1_DL_MAX];
      gs1_canonical_or_self(str(json_array_get(json_object_get(ev, "quantityList"), 0), "epcClass") ?
                str(json_array_get(json_object_get(ev, "quantityList"), 0), "epcClass") : "", c);
      rc = alias_add(p, as, alias_of(p, c));
    }
  }
  return rc;
}

/* Calls fn for every record of key's feed (store_feed_each, decoded): 0 at the end, fn's
 * non-zero, or an error. */
typedef int (*feed_fn)(void *arg, const uint8_t id[32], const struct kk_body *b);
struct feed_ctx { feed_fn fn; void *arg; struct kk_body *b; };

static int feed_one(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
  struct feed_ctx *f = arg;
  uint8_t id[32];
  (void)seq;
  int rc = codec_envelope_body_stored(env, len, f->b);
  if (rc) return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  sig_sha256(id, env, len);
  return f->fn(f->arg, id, f->b);
}

static int feed_each(struct plan *p, const uint8_t key[32], feed_fn fn, void *arg)
{
  struct feed_ctx f = { fn, arg, mem_alloc(sizeof *f.b) };
  if (!f.b) return -ENOMEM;
  int rc = store_feed_each(p->txn, p->s, key, 1, UINT64_MAX, feed_one, &f);
  mem_free(f.b);
  return rc;
}

struct source_find { const uint8_t *key; uint8_t id[32]; };

static int source_fn(void *arg, const uint8_t id[32], const struct kk_body *b)
{
  struct source_find *f = arg;
  if (!b->has_source_event || memcmp(b->source_event, f->key, 32) != 0) return 0;
  memcpy(f->id, id, 32);
  return 1;
}

static void source_key(const char *ni, json_t *ev, uint8_t key[32]);

/* A record an event names by id (kiroku:attests, kiroku:about, kiroku:record): held
 * here, or — in a document exported from another network — the record this network
 * imported from the event that names it as its kiroku:record. 0, or EI_REFUSED. */
static int record_of(struct plan *p, const char *hex, uint8_t id[32])
{
  if (!hex || strlen(hex) != 64 || sig_unhex(id, 32, hex)) return refuse(p, "a record is named by its 64-hex id");
  uint8_t author[32];
  uint64_t seq;
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(p->txn, p->s, id, author, &seq, &env, &len);
  if (rc != STORE_ABSENT) return rc;
  for (size_t i = 0; i < ehash_count(p->h); i++) {
    json_t *ev = ehash_event(p->h, i);
    const char *r = str(ev, "kiroku:record"), *who = str(ev, "kiroku:author");
    uint8_t key[32];
    char ni[EHASH_NI_LEN];
    if (!r || strcmp(r, hex) != 0 || json_object_get(ev, "errorDeclaration") || !who) continue;
    if ((rc = party_key(p, who, author)) == KK_ERR(UNKNOWN_MEMBER)) continue;
    if (rc) return rc;
    if ((rc = ehash_event_id(p->h, ev, ni))) return rc;
    source_key(ni, ev, key);
    struct source_find f = { key, { 0 } };
    if ((rc = feed_each(p, author, source_fn, &f)) < 0) return rc;
    if (rc == 1) { memcpy(id, f.id, 32); return 0; }
  }
  return refuse(p, "unknown record %.16s…: this node holds no such record, nor one imported from the event that made it", hex);
}

static int remember(struct plan *p, const char *cls, const uint8_t record[32], uint32_t index)
{
  if (p->nmade == p->capmade) {
    size_t cap = p->capmade ? p->capmade * 2 : 16;
    struct made *m = mem_realloc(p->made, cap * sizeof *m);
    if (!m) return -ENOMEM;
    p->made = m;
    p->capmade = cap;
  }
  char c[GS1_DL_MAX];
  gs1_canonical_or_self(cls, c);
  struct made *m = &p->made[p->nmade];
  if (!(m->cls = mem_strdup(c))) return -ENOMEM;
  lotkey_make(m->key, record, index);
  p->nmade++;
  return 0;
}

/* One quantity element: its class and its mass. 0 or EI_REFUSED. */
static int element(struct plan *p, json_t *q, const char **cls, uint64_t *mg)
{
  char why[200];
  *cls = str(q, "epcClass");
  const char *qt = numtext(q, "quantity"), *uom = str(q, "uom");
  if (!*cls) return refuse(p, "a quantity element has no epcClass");
  if (!qt) return refuse(p, "%s has no quantity", *cls);
  uint64_t each, count;
  if ((!uom || !*uom || strcmp(uom, "H87") == 0) && epcis_masterdata_get(p->md, *cls, &each)) {
    /* pieces, each of the net mass the member's master data gives the class */
    if (epcis_quantity_mg(qt, "MGM", &count, why, sizeof why)) return refuse(p, "%s: %s is not a whole number of pieces", *cls, qt);
    if (count && each > UINT64_MAX / count) return refuse(p, "%s: %s pieces overflow 64-bit milligrams", *cls, qt);
    *mg = count * each;
    return 0;
  }
  int rc = epcis_quantity_mg(qt, uom, mg, why, sizeof why);
  if (rc == KK_ERR(OVERFLOW)) return refuse(p, "%s: %s %s overflows 64-bit milligrams", *cls, qt, str(q, "uom"));
  if (rc) return refuse(p, "%s: %s", *cls, why);
  return 0;
}

/* A mass given in kg in an ilmd or extension field (absent: 0). */
static int field_kg(struct plan *p, json_t *o, const char *k, uint64_t *mg)
{
  const char *t = numtext(o, k);
  char why[200];
  *mg = 0;
  if (!t) return 0;
  if (epcis_quantity_mg(t, "KGM", mg, why, sizeof why)) return refuse(p, "%s: %s", k, why);
  return 0;
}

static int text_to(struct plan *p, char *dst, size_t cap, const char *src, const char *what)
{
  if (!src) src = "";
  if (strlen(src) > cap) return refuse(p, "%s is longer than %zu bytes", what, cap);
  memcpy(dst, src, strlen(src) + 1);
  return 0;
}

static int model_of(struct plan *p, const char *m, uint32_t *model)
{
  if (!m || codec_model_parse(m, model)) return refuse(p, "the chain-of-custody model %s is none of segregated, identity-preserved, controlled-blending, mass-balance (ilmd kiroku:model)", m ? m : "(none)");
  return 0;
}

static int map_issue(struct plan *p, json_t *ev, struct kk_body *b)
{
  struct kk_issue *is = &b->u.issue;
  json_t *ql = json_object_get(ev, "quantityList"), *ilmd = json_object_get(ev, "ilmd");
  const char *cls;
  int rc;
  b->kind = KK_PL_ISSUE;
  if (json_array_size(ql) != 1) return refuse(p, "a commissioning event becomes one lot: it needs exactly one quantityList element");
  if ((rc = element(p, json_array_get(ql, 0), &cls, &is->mass_mg))) return rc;
  const char *code = str(ilmd, "kiroku:lotCode"), *mat = str(ilmd, "kiroku:material");
  char c[GS1_DL_MAX];
  gs1_canonical_or_self(cls, c);
  if ((rc = text_to(p, is->lot_code, CODEC_CODE_MAX, code ? code : c, "the lot code"))) return rc;
  if (!mat) return refuse(p, "%s: the material is not named (ilmd kiroku:material, GROUP or GROUP/FORM)", cls);
  if (material_check(mat)) return refuse(p, "%s: material '%s' is not GROUP or GROUP/FORM", cls, mat);
  if ((rc = text_to(p, is->material, CODEC_MATERIAL_MAX, mat, "the material"))) return rc;
  if ((rc = field_kg(p, ilmd, "kiroku:postConsumerMass", &is->post_mg)) || (rc = field_kg(p, ilmd, "kiroku:preConsumerMass", &is->pre_mg)))
    return rc;
  const char *origin = str(ilmd, "cbvmda:countryOfOrigin");
  if (!origin) origin = str(ilmd, "{urn:epcglobal:cbv:mda:}countryOfOrigin");
  if (!origin || strlen(origin) != 2) return refuse(p, "%s: the country of origin is not given (ilmd cbvmda:countryOfOrigin, ISO 3166-1 alpha-2)", cls);
  memcpy(is->origin, origin, 3);
  const char *scheme = str(ilmd, "kiroku:scheme"), *cert = str(ilmd, "kiroku:certificate");
  const char *ci = str(ev, "certificationInfo");
  if (!cert) cert = ci;
  if (!scheme) scheme = "EPCIS certificationInfo";
  if (!cert) return refuse(p, "%s: no certificate (ilmd kiroku:certificate or certificationInfo)", cls);
  if ((rc = text_to(p, is->scheme, CODEC_SCHEME_MAX, scheme, "the scheme")) ||
      (rc = text_to(p, is->certificate, CODEC_CERT_MAX, cert, "the certificate")) ||
      (rc = text_to(p, is->facility, CODEC_NAME_MAX, str(ilmd, "kiroku:facility"), "the facility")))
    return rc;
  const char *model = str(ilmd, "kiroku:model");
  if ((rc = model_of(p, model ? model : "segregated", &is->model))) return rc;
  json_t *evid = json_object_get(ev, "kiroku:evidence"), *x;
  size_t i;
  if (json_array_size(evid) > CODEC_EVIDENCE_MAX) return refuse(p, "more than %d evidence hashes", CODEC_EVIDENCE_MAX);
  json_array_foreach(evid, i, x) {
    const char *h = ejson_string(x);
    if (!h || strlen(h) != 64 || sig_unhex(is->evidence[i], 32, h)) return refuse(p, "kiroku:evidence holds SHA-256 hashes in hex");
    is->n_evidence++;
  }
  return 0;
}

static int map_transfer(struct plan *p, json_t *ev, struct kk_body *b)
{
  struct kk_transfer *t = &b->u.transfer;
  json_t *ql = json_object_get(ev, "quantityList");
  const char *cls, *to;
  int rc;
  b->kind = KK_PL_TRANSFER;
  if (json_array_size(ql) != 1) return refuse(p, "a shipping event moves one lot: it needs exactly one quantityList element");
  if ((rc = element(p, json_array_get(ql, 0), &cls, &t->mass_mg)) || (rc = lot_of(p, cls, &t->lot))) return rc;
  rc = owning_party(p, json_object_get(ev, "destinationList"), "destination", t->to, &to);
  if (rc == 0) return refuse(p, "a shipping event needs its destination's owning party (destinationList, type owning_party)");
  if (rc == KK_ERR(UNKNOWN_MEMBER)) return refuse(p, "destination %s is no member of this network", to);
  return rc < 0 ? rc : 0;
}

struct xfer_match {
  struct plan *p;
  int by_lot;                   /* the class is a Kiroku lot URN: lot; else a lot code: code */
  struct kk_lotref lot;
  const char *code;
  uint64_t mass;
  int has_sender;
  uint8_t sender[32], id[32];
  int found;
};

static int xfer_match_fn(void *arg, const uint8_t id[32], const struct xfer *x)
{
  struct xfer_match *m = arg;
  uint8_t key[36];
  lotkey_make(key, m->lot.record, m->lot.index);
  int same = m->by_lot ? memcmp(x->from_lot, key, 36) == 0 : strcmp(x->code, m->code) == 0;
  if (same && x->mass == m->mass && (!m->has_sender || memcmp(x->sender, m->sender, 32) == 0)) {
    memcpy(m->id, id, 32);
    m->found++;
  }
  return 0;
}

/* A receipt or refusal: the transfer it closes is named (kiroku:transfer) or the one
 * pending to this member of that lot, mass and sender. */
static int map_close(struct plan *p, json_t *ev, struct kk_body *b, int refusal)
{
  uint8_t *tid = refusal ? b->u.refuse.transfer : b->u.receive.transfer;
  b->kind = refusal ? KK_PL_REFUSE : KK_PL_RECEIVE;
  const char *named = str(ev, "kiroku:transfer");
  int rc;
  struct xfer held;
  xfer_init(&held);
  if (named && (strlen(named) != 64 || sig_unhex(tid, 32, named))) return refuse(p, "kiroku:transfer is a record id (64 hex digits)");
  rc = named ? rules_xfer_get(p->txn, p->s, tid, &held) : STORE_ABSENT;
  xfer_free(&held);
  if (rc && rc != STORE_ABSENT) return rc;
  if (rc == STORE_ABSENT) { /* not named, or named in another network: the one pending */
    json_t *ql = json_object_get(ev, "quantityList");
    const char *cls, *from;
    struct xfer_match m;
    memset(&m, 0, sizeof m);
    m.p = p;
    if (json_array_size(ql) != 1) return refuse(p, "a receiving event takes one lot: it needs exactly one quantityList element");
    if ((rc = element(p, json_array_get(ql, 0), &cls, &m.mass))) return rc;
    char c[GS1_DL_MAX];
    gs1_canonical_or_self(cls, c);
    m.code = alias_of(p, c) ? alias_of(p, c) : c;
    if (lot_urn(c, &m.lot) && (rc = lot_exists(p, m.lot.record, m.lot.index)) != 0) {
      if (rc < 0) return rc;
      m.by_lot = 1;
    }
    rc = owning_party(p, json_object_get(ev, "sourceList"), "source", m.sender, &from);
    if (rc == KK_ERR(UNKNOWN_MEMBER)) return refuse(p, "source %s is no member of this network", from);
    if (rc < 0) return rc;
    m.has_sender = rc == 1;
    if ((rc = rules_xfers_pending_to(p->txn, p->s, p->me, xfer_match_fn, &m))) return rc;
    if (m.found != 1)
      return refuse(p, "receiving %s: %s transfer of it is pending to you", cls, m.found ? "more than one" : "no");
    memcpy(tid, m.id, 32);
  }
  if (refusal && (rc = text_to(p, b->u.refuse.reason, CODEC_TEXT_MAX, str(ev, "kiroku:reason"), "the reason"))) return rc;
  return 0;
}

/* The ilmd entry of an input or output (kiroku:unledgered / kiroku:outputs) naming cls. */
static json_t *entry_for(json_t *list, const char *key, const char *cls)
{
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) {
    const char *c = str(e, key);
    if (c && strcmp(c, cls) == 0) return e;
  }
  return NULL;
}

static int map_transform(struct plan *p, json_t *ev, struct kk_body *b)
{
  struct kk_transform *t = &b->u.transform;
  json_t *in = json_object_get(ev, "inputQuantityList"), *out = json_object_get(ev, "outputQuantityList");
  json_t *ilmd = json_object_get(ev, "ilmd"), *q;
  size_t i;
  int rc;
  b->kind = KK_PL_TRANSFORM;
  if ((rc = model_of(p, str(ilmd, "kiroku:model"), &t->model))) return rc;
  if ((rc = text_to(p, t->process, CODEC_NAME_MAX, str(ilmd, "kiroku:process"), "the process"))) return rc;
  json_array_foreach(in, i, q) {
    const char *cls;
    uint64_t mg;
    if ((rc = element(p, q, &cls, &mg))) return rc;
    json_t *u = entry_for(json_object_get(ilmd, "kiroku:unledgered"), "kiroku:input", cls);
    if (u || strncmp(cls, "urn:kiroku:unledgered:", 22) == 0) {
      if (!u) return refuse(p, "unledgered input %s is not described (ilmd kiroku:unledgered)", cls);
      if (t->n_unledgered == CODEC_UNLEDGERED_MAX) return refuse(p, "more than %d unledgered inputs", CODEC_UNLEDGERED_MAX);
      struct kk_unledgered *x = &t->unledgered[t->n_unledgered++];
      const char *mat = str(u, "kiroku:material"), *origin = str(u, "cbvmda:countryOfOrigin");
      if (!mat || material_check(mat)) return refuse(p, "unledgered input %s: no material (kiroku:material)", cls);
      if (!origin || strlen(origin) != 2) return refuse(p, "unledgered input %s: no country of origin", cls);
      if ((rc = text_to(p, x->material, CODEC_MATERIAL_MAX, mat, "the material"))) return rc;
      memcpy(x->origin, origin, 3);
      x->mass_mg = mg;
      continue;
    }
    if (t->n_inputs == CODEC_IO_MAX) return refuse(p, "more than %d inputs", CODEC_IO_MAX);
    struct kk_input *x = &t->inputs[t->n_inputs++];
    x->mass_mg = mg;
    if ((rc = lot_of(p, cls, &x->lot))) return rc;
  }
  json_array_foreach(out, i, q) {
    const char *cls;
    if (t->n_outputs == CODEC_IO_MAX) return refuse(p, "more than %d outputs", CODEC_IO_MAX);
    struct kk_output *o = &t->outputs[t->n_outputs++];
    if ((rc = element(p, q, &cls, &o->mass_mg))) return rc;
    json_t *d = entry_for(json_object_get(ilmd, "kiroku:outputs"), "kiroku:lot", cls);
    const char *code = str(d, "kiroku:lotCode"), *mat = str(d, "kiroku:material");
    char c[GS1_DL_MAX];
    gs1_canonical_or_self(cls, c);
    if (!mat) mat = str(ilmd, "kiroku:material");
    if (!mat || material_check(mat)) return refuse(p, "output %s: the material is not named (ilmd kiroku:outputs or kiroku:material)", cls);
    if ((rc = text_to(p, o->lot_code, CODEC_CODE_MAX, code ? code : c, "the lot code")) ||
        (rc = text_to(p, o->material, CODEC_MATERIAL_MAX, mat, "the material")))
      return rc;
    if (d && ((rc = field_kg(p, d, "kiroku:postConsumerMass", &o->post_mg)) || (rc = field_kg(p, d, "kiroku:preConsumerMass", &o->pre_mg))))
      return rc;
  }
  if (!t->n_outputs) return refuse(p, "a transformation without outputs");
  return 0;
}

static int map_statement(struct plan *p, json_t *ev, struct kk_body *b, const char *step)
{
  int rc;
  if (strcmp(step, "claiming") == 0) {
    json_t *ql = json_object_get(ev, "quantityList");
    const char *cls = json_array_size(ql) == 1 ? str(json_array_get(ql, 0), "epcClass") : NULL;
    const char *share = numtext(ev, "kiroku:recycledShare");
    b->kind = KK_PL_CLAIM;
    if (!cls) return refuse(p, "a claim names one lot (quantityList)");
    if ((rc = lot_of(p, cls, &b->u.claim.lot))) return rc;
    if (!share || epcis_percent_ppm(share, &b->u.claim.share_ppm)) return refuse(p, "kiroku:recycledShare is a percentage above 0 and at most 100, to 4 decimals");
    return text_to(p, b->u.claim.scope, CODEC_TEXT_MAX, str(ev, "kiroku:scope"), "the scope");
  }
  const char *about = str(ev, strcmp(step, "attesting") == 0 ? "kiroku:attests" : "kiroku:about");
  uint8_t *id = strcmp(step, "attesting") == 0 ? b->u.attest.record : b->u.incident.about;
  if ((rc = record_of(p, about, id))) return rc;
  if (strcmp(step, "attesting") == 0) {
    b->kind = KK_PL_ATTEST;
    return text_to(p, b->u.attest.statement, CODEC_TEXT_MAX, str(ev, "kiroku:statement"), "the statement");
  }
  b->kind = KK_PL_INCIDENT;
  if ((rc = text_to(p, b->u.incident.kind, CODEC_NAME_MAX, str(ev, "kiroku:kind"), "the kind"))) return rc;
  return text_to(p, b->u.incident.text, CODEC_TEXT_MAX, str(ev, "kiroku:text"), "the text");
}

/* The record an error declaration declares in error: the one this feed imported it from,
 * or the record it names (kiroku:record). */
static int map_revoke(struct plan *p, json_t *ev, struct kk_body *b)
{
  json_t *d = json_object_get(ev, "errorDeclaration");
  const char *rec = str(ev, "kiroku:record");
  b->kind = KK_PL_REVOKE;
  int rc;
  if (!rec) return refuse(p, "an error declaration names the record it revokes (kiroku:record)");
  if ((rc = record_of(p, rec, b->u.revoke.record))) return rc;
  const char *reason = str(d, "kiroku:reason");
  if (!reason) reason = str(d, "reason");
  return text_to(p, b->u.revoke.reason, CODEC_TEXT_MAX, reason ? reason : "declared in error", "the reason");
}

static int held_fn(void *arg, const uint8_t id[32], const struct kk_body *b)
{
  (void)id;
  return b->has_source_event && idset_add(arg, b->source_event) < 0 ? -ENOMEM : 0;
}

/* The event's idempotence key: its CBV 2.0 hash (SHA-256), and for an error
 * declaration (which shares the hash of the event it declares in error) the hash of
 * that and its declaration time. */
static void source_key(const char *ni, json_t *ev, uint8_t key[32])
{
  char hex[65];
  memcpy(hex, ni + 14, 64); /* ehash_ni writes the 64 hex digits after "ni:///sha-256;" */
  hex[64] = 0;
  if (sig_unhex(key, 32, hex)) memset(key, 0, 32);
  json_t *d = json_object_get(ev, "errorDeclaration");
  if (!d) return;
  const char *t = str(d, "declarationTime");
  char buf[256];
  snprintf(buf, sizeof buf, "errorDeclaration %s %s", ni, t ? t : "");
  sig_sha256(key, (const uint8_t *)buf, strlen(buf));
}

/* A mapping's result as what the event is: EI_RECORD (0), EI_REFUSED, or an error
 * (negative: never a verdict). */
static int outcome(int rc) { return rc < 0 ? rc : rc ? EI_REFUSED : EI_RECORD; }

/* What one event is; EI_RECORD with b filled, or another kind with why, or an error. */
static int map_event(struct plan *p, json_t *ev, struct kk_body *b)
{
  const char *type = str(ev, "type"), *step = str(ev, "bizStep"), *action = str(ev, "action");
  static const char cbv[] = "https://ref.gs1.org/cbv/BizStep-", kir[] = EPCIS_KIROKU_NS "BizStep-";
  if (json_object_get(ev, "errorDeclaration")) {
    json_t *d = json_object_get(ev, "errorDeclaration");
    const char *who = str(d, "kiroku:author");
    uint8_t k[32];
    int rc = who ? party_key(p, who, k) : KK_ERR(UNKNOWN_MEMBER);
    if (rc && rc != KK_ERR(UNKNOWN_MEMBER)) return rc;
    if (rc == 0 && memcmp(k, p->me, 32) != 0) {
      snprintf(p->why, sizeof p->why, "an error declaration by %s: import it at that party's node", who);
      return EI_OTHER_PARTY;
    }
    return outcome(map_revoke(p, ev, b));
  }
  if (type && strcmp(type, "TransformationEvent") == 0) {
    int w = actor(p, ev, json_object_get(ev, "destinationList"), "destination");
    return w != EI_RECORD ? w : outcome(map_transform(p, ev, b));
  }
  if (!type || strcmp(type, "ObjectEvent") != 0) {
    snprintf(p->why, sizeof p->why, "a %s: no Kiroku record is made of it", type ? type : "event without a type");
    return EI_UNMAPPED;
  }
  if (is_vocab(step, cbv, "commissioning") && action && strcmp(action, "ADD") == 0) {
    int w = actor(p, ev, json_object_get(ev, "destinationList"), "destination");
    return w != EI_RECORD ? w : outcome(map_issue(p, ev, b));
  }
  if (is_vocab(step, cbv, "shipping")) {
    int w = actor(p, ev, json_object_get(ev, "sourceList"), "source");
    return w != EI_RECORD ? w : outcome(map_transfer(p, ev, b));
  }
  if (is_vocab(step, cbv, "receiving")) {
    int w = actor(p, ev, json_object_get(ev, "destinationList"), "destination");
    const char *disp = str(ev, "disposition");
    int refusal = disp && strcmp(disp, EPCIS_KIROKU_NS "Disp-refused") == 0;
    return w != EI_RECORD ? w : outcome(map_close(p, ev, b, refusal));
  }
  if (step && strncmp(step, kir, sizeof kir - 1) == 0) {
    const char *s = step + sizeof kir - 1;
    if (strcmp(s, "claiming") == 0 || strcmp(s, "attesting") == 0 || strcmp(s, "reporting_incident") == 0) {
      int w = actor(p, ev, NULL, NULL);
      return w != EI_RECORD ? w : outcome(map_statement(p, ev, b, s));
    }
  }
  snprintf(p->why, sizeof p->why, "an %s %s%s%s: no Kiroku record is made of it", type, action ? action : "",
           step ? " at " : "", step ? step : "");
  return EI_UNMAPPED;
}

void epcis_import_free(struct epcis_import *im)
{
  if (!im) return;
  for (size_t i = 0; i < im->n; i++) mem_free(im->ev[i].body);
  mem_free(im->ev);
  memset(im, 0, sizeof *im);
}

int epcis_import_plan(struct store_txn *txn, struct store *s, const uint8_t me[32], json_t *doc,
                      const struct epcis_masterdata *md, epcis_sign_fn sign, void *arg, struct epcis_import *out,
                      char *why, size_t whylen)
{
  struct plan p;
  memset(&p, 0, sizeof p);
  p.md = md;
  memset(out, 0, sizeof *out);
  p.txn = txn;
  p.s = s;
  p.me = me;
  int rc = ehash_open(doc, &p.h, why, whylen);
  if (rc) return rc;
  size_t n = ehash_count(p.h);
  if (!(out->ev = mem_calloc(n ? n : 1, sizeof *out->ev))) rc = -ENOMEM;
  if (!rc) rc = feed_each(&p, me, held_fn, &p.held);
  if (!rc) rc = read_aliases(&p);
  for (size_t i = 0; i < n && !rc; i++) {
    struct epcis_import_event *e = &out->ev[out->n++];
    json_t *ev = ehash_event(p.h, i);
    uint8_t key[32];
    e->index = i;
    if ((rc = ehash_event_id(p.h, ev, e->event_id))) break;
    source_key(e->event_id, ev, key);
    p.why[0] = 0;
    if (idset_has(&p.held, key)) {
      e->what = EI_HELD;
      snprintf(e->why, sizeof e->why, "imported before");
      continue;
    }
    if (idset_has(&p.seen, key)) {
      e->what = EI_HELD;
      snprintf(e->why, sizeof e->why, "the same event again in this document");
      continue;
    }
    if (!(e->body = mem_calloc(1, sizeof *e->body))) { rc = -ENOMEM; break; }
    int w = map_event(&p, ev, e->body);
    if (w < 0) { rc = w; break; }
    e->what = (enum epcis_import_what)w;
    snprintf(e->why, sizeof e->why, "%s", p.why);
    if (w != EI_RECORD) {
      mem_free(e->body);
      e->body = NULL;
      out->refused += w == EI_REFUSED;
      continue;
    }
    e->body->has_source_event = 1;
    memcpy(e->body->source_event, key, 32);
    /* the record's (informational) time is the event's, or its declaration's */
    json_t *decl = json_object_get(ev, "errorDeclaration");
    const char *when = decl ? str(decl, "declarationTime") : str(ev, "eventTime");
    if (!when || !evalue_time_ms(when, &e->body->time_ms)) e->body->time_ms = 0;
    if ((rc = idset_add(&p.seen, key)) > 0) rc = 0;
    if (!rc) rc = sign(arg, e->body, e->id);
    if (rc) break;
    out->records++;
    /* the lots it made, for the events after it */
    const struct kk_body *b = e->body;
    /* by class, and by lot code (a later event may name either) */
    if (b->kind == KK_PL_ISSUE || b->kind == KK_PL_RECEIVE) /* a receipt: the lot it becomes is this member's */
      rc = remember(&p, str(json_array_get(json_object_get(ev, "quantityList"), 0), "epcClass"), e->id, 0);
    if (!rc && b->kind == KK_PL_ISSUE) rc = remember(&p, b->u.issue.lot_code, e->id, 0);
    if (!rc && b->kind == KK_PL_RECEIVE && str(ev, "kiroku:receivedAs")) rc = remember(&p, str(ev, "kiroku:receivedAs"), e->id, 0);
    if (b->kind == KK_PL_TRANSFORM) {
      json_t *q;
      size_t k;
      json_array_foreach(json_object_get(ev, "outputQuantityList"), k, q) {
        if (!rc) rc = remember(&p, str(q, "epcClass"), e->id, (uint32_t)k);
        if (!rc) rc = remember(&p, b->u.transform.outputs[k].lot_code, e->id, (uint32_t)k);
      }
    }
  }
  ehash_close(p.h);
  idset_free(&p.held);
  idset_free(&p.seen);
  for (size_t i = 0; i < p.nmade; i++) mem_free(p.made[i].cls);
  mem_free(p.made);
  for (size_t i = 0; i < p.nalias; i++) { mem_free(p.alias[i].cls); mem_free(p.alias[i].code); }
  mem_free(p.alias);
  if (rc) epcis_import_free(out);
  return rc;
}
