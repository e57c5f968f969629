/*
 * verify — recycled content, origins, certificates, taint, claims and incidents of a lot.
 */
#include "verify.h"
#include "attrib.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "rules.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PPM 1000000u

/* The body of stored record env into a new *body (the caller frees it). */
static int decode_stored(const uint8_t *env, size_t len, struct kk_body **body)
{
  int rc;
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  if ((rc = codec_envelope_body_stored(env, len, b))) {
    mem_free(b);
    return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  }
  *body = b;
  return 0;
}

int verify_load_body(struct store_txn *txn, struct store *s, const uint8_t id[32], struct kk_body **body)
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(txn, s, id, NULL, NULL, &env, &len);
  return rc ? rc : decode_stored(env, len, body);
}

uint64_t verify_claim_charge(uint64_t held, uint32_t share_ppm)
{
  return (uint64_t)(((unsigned __int128)held * share_ppm + PPM - 1) / PPM);
}

void verify_report_free(struct verify_report *r)
{
  if (!r) return;
  lot_free(&r->lot);
  mem_free(r->origins);
  for (size_t i = 0; r->certs && i < r->n_certs; i++) mem_free(r->certs[i].revoke_reason);
  mem_free(r->certs);
  mem_free(r->claims);
  mem_free(r->incidents);
  mem_free(r->frozen);
  memset(r, 0, sizeof *r);
}

static int verify_origin_cmp(const void *a, const void *b)
{
  const struct verify_origin *x = a, *y = b;
  if (x->mass != y->mass) return x->mass > y->mass ? -1 : 1;
  return strcmp(x->country, y->country);
}

/* What the verification of one or many lots shares: the certificates' standing, looked
 * up once per certificate, and the feeds frozen by evidence. */
struct vctx {
  struct store_txn *txn;
  struct store *s;
  int details;                  /* certificates' names, attestations; claims; incidents */
  uint32_t extra_ppm;
  struct verify_report *out;    /* single lot: filled here */
  verify_fn fn;                 /* many lots: each report handed over */
  void *arg;
  struct attrib_prov *prov;
};

struct attest_count { struct vctx *v; size_t *n; };

static int attest_one(void *arg, const void *k, size_t kl, const void *val, size_t vl)
{
  struct attest_count *a = arg;
  (void)val;
  (void)vl;
  if (kl != 64) return KK_ERR(CORRUPT);
  int revoked = rules_revoked(a->v->txn, a->v->s, (const uint8_t *)k + 32);
  if (revoked < 0) return revoked;
  *a->n += !revoked;
  return 0;
}

/* Valid attestations of record id that have not themselves been revoked. */
static int attestations_of(struct vctx *v, const uint8_t id[32], size_t *n)
{
  struct attest_count a = { v, n };
  return store_each(v->txn, v->s, STORE_DB_ATTESTS, id, 32, attest_one, &a);
}

/* The standing of certificate src (an Issue record), e its part, into c: its recycled
 * mass counts unless it is revoked or its issuer equivocated. The issuer, its standing,
 * the scheme and the certificate's name come with the source (node/ledger/attrib.h); names,
 * the revocation's reason and attestations only with v->details. */
static int cert_standing(struct vctx *v, const struct attr_source *src, const struct attr_entry *e,
                         struct verify_cert *c)
{
  uint8_t (*revs)[32] = NULL;
  struct kk_body *b = NULL;
  struct member m;
  int rc;
  memset(c, 0, sizeof *c);
  memcpy(c->record, src->id, 32);
  memcpy(c->origin, src->country, 3);
  memcpy(c->issuer, src->issuer, 32);
  c->issuer_frozen_at = src->issuer_frozen_at;
  c->mass = e->mass;
  c->recycled = e->post + e->pre;
  if ((rc = rules_revocations(v->txn, v->s, src->id, &revs, &c->revocations))) return rc;
  c->revoked = c->revocations > 0;
  if (c->revoked) memcpy(c->revoked_by, revs[0], 32);
  mem_free(revs);
  c->counted = c->revoked || c->issuer_frozen_at ? 0 : c->recycled;
  if (!v->details) return 0;
  memcpy(c->scheme, src->scheme, sizeof c->scheme);
  memcpy(c->certificate, src->certificate, sizeof c->certificate);
  memcpy(c->facility, src->facility, sizeof c->facility);
  if (rules_member_get(v->txn, v->s, c->issuer, &m) == 0) memcpy(c->issuer_name, m.name, sizeof c->issuer_name);
  if (c->revoked) {
    if ((rc = verify_load_body(v->txn, v->s, c->revoked_by, &b))) return rc;
    /* Held apart: a report of a lot of many certificates would otherwise carry a
     * kilobyte of reason for each, revoked or not. */
    c->revoke_reason = mem_strdup(b->kind == KK_PL_REVOKE ? b->u.revoke.reason : "");
    mem_free(b);
    if (!c->revoke_reason) return -ENOMEM;
  }
  return attestations_of(v, src->id, &c->attestations);
}

/* The certificates of the lot as created, with their standing (into r->certs). */
static int certs_of(struct vctx *v, const struct attr_source *sources, const struct attr *created,
                    struct verify_report *r)
{
  for (size_t i = 0; i < created->n; i++) {
    const struct attr_entry *e = &created->e[i];
    const struct attr_source *src = &sources[e->src];
    if (src->kind != ATTR_CERTIFICATE) continue;
    int rc = cert_standing(v, src, e, &r->certs[r->n_certs]);
    r->n_certs++; /* also on failure: verify_report_free frees what it holds */
    if (rc) return rc;
  }
  return 0;
}

/* The tainted recycled mass of vector a, whose certificates are all among r->certs
 * (both in source order): by revocation and by an issuer's equivocation. */
static void taint_of(const struct attr_source *sources, const struct attr *a, const struct verify_report *r,
                     uint64_t *revoked, uint64_t *equivocation, uint64_t *post, uint64_t *pre)
{
  size_t k = 0;
  *revoked = *equivocation = *post = *pre = 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct attr_entry *e = &a->e[i];
    const struct attr_source *src = &sources[e->src];
    if (src->kind != ATTR_CERTIFICATE) continue;
    while (k < r->n_certs && memcmp(r->certs[k].record, src->id, 32) < 0) k++;
    if (k == r->n_certs || memcmp(r->certs[k].record, src->id, 32) != 0) continue; /* cannot happen */
    const struct verify_cert *c = &r->certs[k];
    if (!c->revoked && !c->issuer_frozen_at) continue;
    if (c->revoked) *revoked += e->post + e->pre; /* a revocation is named first */
    else *equivocation += e->post + e->pre;
    *post += e->post;
    *pre += e->pre;
  }
}

/* The claims on a lot, in seq order: each holds while the unrevoked ones so far fit in
 * what is verified. */
struct claims_walk { struct vctx *v; struct verify_report *r; uint64_t verified, counted; size_t cap; };

static int claim_one(void *arg, const void *k, size_t kl, const void *val, size_t vl)
{
  struct claims_walk *w = arg;
  struct verify_report *r = w->r;
  if (kl != 44) return KK_ERR(CORRUPT);
  if (r->n_claims == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4;
    struct verify_claim *nc = mem_realloc(r->claims, cap * sizeof *nc);
    if (!nc) return -ENOMEM;
    r->claims = nc;
    w->cap = cap;
  }
  struct verify_claim *c = &r->claims[r->n_claims];
  memset(c, 0, sizeof *c);
  int rc = claim_decode(val, vl, &c->c);
  if (rc) return rc;
  c->seq = be64_get((const uint8_t *)k + 36);
  int revoked = rules_revoked(w->v->txn, w->v->s, c->c.id);
  if (revoked < 0) return revoked;
  c->revoked = revoked;
  if (!c->revoked) {
    w->counted += c->c.claimed;
    c->holds = w->counted <= w->verified;
    if (!c->holds) r->claims_hold = 0;
  }
  r->n_claims++;
  return 0;
}

static int claims_of(struct vctx *v, struct verify_report *r, uint64_t verified)
{
  struct claims_walk w = { v, r, verified, 0, 0 };
  return store_each(v->txn, v->s, STORE_DB_CLAIMS, r->lotkey, 36, claim_one, &w);
}

/* Is `about` (what an incident names: a record, a lot's record, a member) in the
 * provenance? A record is known there by its position: its id is looked up. A Transfer
 * is there when the Receive or Refuse that closed it is. */
static int in_provenance(struct vctx *v, const uint8_t about[32])
{
  uint8_t author[32];
  uint64_t seq;
  struct xfer x;
  if (attrib_prov_has_owner(v->prov, about)) return 1;
  int rc = store_record_by_id(v->txn, v->s, about, author, &seq, NULL, NULL);
  if (rc) return rc == STORE_ABSENT ? 0 : rc;
  if (attrib_prov_has_record(v->prov, author, seq)) return 1;
  xfer_init(&x);
  rc = rules_xfer_get(v->txn, v->s, about, &x);
  if (rc == 0 && x.state != XFER_PENDING)
    rc = store_record_by_id(v->txn, v->s, x.closed_by, author, &seq, NULL, NULL);
  else if (rc == 0) rc = STORE_ABSENT;
  xfer_free(&x);
  if (rc) return rc == STORE_ABSENT ? 0 : rc;
  return attrib_prov_has_record(v->prov, author, seq);
}

struct incidents_walk { struct vctx *v; struct verify_report *r; size_t cap; };

static int incident_one(void *arg, const uint8_t about[32], const uint8_t incident[32])
{
  struct incidents_walk *w = arg;
  struct verify_report *r = w->r;
  int in_prov = in_provenance(w->v, about);
  if (in_prov <= 0) return in_prov;
  if (r->n_incidents == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4;
    struct verify_incident *ni = mem_realloc(r->incidents, cap * sizeof *ni);
    if (!ni) return -ENOMEM;
    r->incidents = ni;
    w->cap = cap;
  }
  struct verify_incident *in = &r->incidents[r->n_incidents];
  struct kk_body *b;
  memset(in, 0, sizeof *in);
  memcpy(in->about, about, 32);
  memcpy(in->id, incident, 32);
  int rc = verify_load_body(w->v->txn, w->v->s, in->id, &b);
  if (rc) return rc;
  memcpy(in->author, b->author, 32);
  memcpy(in->kind, b->u.incident.kind, sizeof in->kind);
  memcpy(in->text, b->u.incident.text, sizeof in->text);
  mem_free(b);
  struct member m;
  if (rules_member_get(w->v->txn, w->v->s, in->author, &m) == 0) memcpy(in->author_name, m.name, sizeof in->author_name);
  r->n_incidents++;
  return 0;
}

/* Incident reports about anything in the provenance: the incidents index is scanned
 * whole (reports are few) and each checked against the provenance. */
static int incidents_of(struct vctx *v, struct verify_report *r)
{
  struct incidents_walk w = { v, r, 0 };
  return rules_incidents_each(v->txn, v->s, incident_one, &w);
}

struct frozen_walk { struct vctx *v; struct verify_report *r; };

static int frozen_one(void *arg, const uint8_t member[32], uint64_t at)
{
  struct frozen_walk *w = arg;
  struct verify_report *r = w->r;
  if (!attrib_prov_has_owner(w->v->prov, member)) return 0;
  struct member m;
  int known = rules_member_get(w->v->txn, w->v->s, member, &m) == 0;
  if (known && m.succeeded) return 0; /* resolved by a succession (rules_flagged_from) */
  struct verify_frozen *f = mem_realloc(r->frozen, (r->n_frozen + 1) * sizeof *f);
  if (!f) return -ENOMEM;
  r->frozen = f;
  f = &r->frozen[r->n_frozen++];
  memset(f, 0, sizeof *f);
  memcpy(f->member, member, 32);
  f->frozen_at = at;
  if (known) memcpy(f->name, m.name, sizeof f->name);
  return 0;
}

/* Participants of the provenance whose feed is frozen (the frozen table is small). */
static int frozen_of(struct vctx *v, struct verify_report *r)
{
  struct frozen_walk w = { v, r };
  return store_frozen_each(v->txn, v->s, frozen_one, &w);
}

/* Builds the report of one lot from its vectors (node/ledger/attrib.h callback). */
static int report_fn(void *arg, const struct attr_source *sources, const uint8_t key[STORE_LOTKEY],
                     const struct lot *l, const struct attr *created, const struct attr *left, int through_frozen)
{
  struct vctx *v = arg;
  struct verify_report one, *r = v->out ? v->out : &one;
  uint64_t tpost, tpre, rev_left, eqv_left, lpost, lpre;
  struct member m;
  int rc;
  memset(r, 0, sizeof *r);
  memcpy(r->lotkey, key, 36);
  r->lot = *l;
  r->claims_hold = 1;
  if (rules_member_get(v->txn, v->s, l->owner, &m) == 0) memcpy(r->owner_name, m.name, sizeof r->owner_name);
  if (!(r->origins = mem_calloc(created->n ? created->n : 1, sizeof *r->origins)) ||
      !(r->certs = mem_calloc(created->n ? created->n : 1, sizeof *r->certs))) {
    rc = -ENOMEM;
    goto done;
  }
  if ((rc = certs_of(v, sources, created, r))) goto done;
  /* Taint, of the lot as created and of what is left unclaimed. */
  taint_of(sources, created, r, &r->tainted_revoked, &r->tainted_equivocation, &tpost, &tpre);
  taint_of(sources, left, r, &rev_left, &eqv_left, &lpost, &lpre);
  r->tainted = r->tainted_revoked + r->tainted_equivocation;
  r->verified_post = l->post - (tpost < l->post ? tpost : l->post);
  r->verified_pre = l->pre - (tpre < l->pre ? tpre : l->pre);
  r->unclaimed = l->post_left + l->pre_left;
  uint64_t tl = rev_left + eqv_left;
  r->unclaimed_verified = r->unclaimed - (tl < r->unclaimed ? tl : r->unclaimed);
  /* Origins: mass by country, and the recycled mass that counts. */
  size_t ci = 0;
  for (size_t i = 0; i < created->n; i++) {
    const struct attr_entry *e = &created->e[i];
    const struct attr_source *src = &sources[e->src];
    uint64_t counted = e->post + e->pre;
    if (src->kind == ATTR_CERTIFICATE) counted = r->certs[ci++].counted;
    size_t j;
    for (j = 0; j < r->n_origins; j++)
      if (strcmp(r->origins[j].country, src->country) == 0) break;
    if (j == r->n_origins) memcpy(r->origins[r->n_origins++].country, src->country, 3);
    r->origins[j].mass += e->mass;
    r->origins[j].recycled += counted;
  }
  qsort(r->origins, r->n_origins, sizeof *r->origins, verify_origin_cmp);
  /* Equivocation: an issuer's is apportioned (its certificates' mass); an owner's, of
   * this lot or of one it came from, is not — the whole lot counts. */
  for (size_t i = 0; i < r->n_certs; i++)
    if (r->certs[i].issuer_frozen_at) r->equivocation_mass += r->certs[i].mass;
  if ((rc = rules_flagged_from(v->txn, v->s, l->owner, &r->owner_frozen_at))) goto done;
  if (through_frozen || r->owner_frozen_at) r->equivocation_mass = l->mass;
  if (r->equivocation_mass > l->mass) r->equivocation_mass = l->mass;
  r->flagged = r->equivocation_mass > 0 || through_frozen;
  if (v->details) {
    if ((rc = frozen_of(v, r)) || (rc = claims_of(v, r, r->verified_post + r->verified_pre)) ||
        (rc = incidents_of(v, r)))
      goto done;
  }
  if (v->extra_ppm) {
    r->has_extra_claim = 1;
    r->extra_claim_ppm = v->extra_ppm;
    r->extra_claim_mass = verify_claim_charge(l->mass_left, v->extra_ppm);
    r->extra_claim_holds = l->mass_left > 0 && r->extra_claim_mass <= r->unclaimed_verified;
  }
  r->passed = r->tainted == 0 && !r->flagged && r->claims_hold && (!r->has_extra_claim || r->extra_claim_holds);
  if (!v->out) rc = v->fn(v->arg, r);
done:
  if (rc || !v->out) verify_report_free(r);
  return rc;
}

int verify_lot(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], uint32_t extra_claim_ppm,
               struct verify_report *r)
{
  struct attrib_prov prov;
  attrib_prov_init(&prov);
  struct vctx v = { txn, s, 1, extra_claim_ppm, r, NULL, NULL, &prov };
  memset(r, 0, sizeof *r);
  int rc = attrib_lots(txn, s, (const uint8_t(*)[36])lotkey, 1, report_fn, &v, &prov);
  attrib_prov_free(&prov);
  if (rc) verify_report_free(r);
  return rc;
}

int verify_lots(struct store_txn *txn, struct store *s, const uint8_t (*keys)[36], size_t n, verify_fn fn, void *arg)
{
  struct vctx v = { txn, s, 0, 0, NULL, fn, arg, NULL };
  return attrib_lots(txn, s, keys, n, report_fn, &v, NULL);
}
