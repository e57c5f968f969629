/*
 * verify — recycled content, origins, certificates, taint and claims of one lot.
 */
#include "verify.h"
#include "mem.h"
#include "err.h"
#include "rules.h"
#include "../proto/codec.h"
#include "buf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int verify_load_body(MDB_txn *txn, struct store *s, const uint8_t id[32], struct kk_body **body)
{
  const uint8_t *env;
  size_t len;
  struct kk_envelope_view ev;
  int rc = store_record_by_id(txn, s, id, NULL, NULL, &env, &len);
  if (rc) return rc;
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  if ((rc = codec_envelope_split(env, len, &ev)) || (rc = codec_body_decode_stored(ev.body, ev.body_len, b))) {
    mem_free(b);
    return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  }
  *body = b;
  return 0;
}

void verify_report_free(struct verify_report *r)
{
  if (!r) return;
  lot_free(&r->lot);
  mem_free(r->origins);
  mem_free(r->certs);
  mem_free(r->claims);
  memset(r, 0, sizeof *r);
}

static int verify_origin_cmp(const void *a, const void *b)
{
  const struct verify_origin *x = a, *y = b;
  if (x->mass != y->mass) return x->mass > y->mass ? -1 : 1;
  return strcmp(x->country, y->country);
}

static int verify_cert_fill(MDB_txn *txn, struct store *s, const struct attr_entry *e, struct verify_cert *c)
{
  struct kk_body *b;
  struct member m;
  memcpy(c->record, e->src, 32);
  c->mass = e->mass;
  c->recycled = e->post + e->pre;
  memcpy(c->origin, e->country, 3);
  int rc = verify_load_body(txn, s, e->src, &b);
  if (rc) return rc;
  memcpy(c->issuer, b->author, 32);
  if (b->kind == KK_PL_ISSUE) {
    memcpy(c->scheme, b->u.issue.scheme, sizeof c->scheme);
    memcpy(c->certificate, b->u.issue.certificate, sizeof c->certificate);
  }
  mem_free(b);
  if (rules_member_get(txn, s, c->issuer, &m) == 0) memcpy(c->issuer_name, m.name, sizeof c->issuer_name);

  const void *v;
  size_t n;
  rc = store_get(txn, s->revoked, e->src, 32, &v, &n);
  if (rc == 0 && n == 32) {
    c->revoked = 1;
    memcpy(c->revoked_by, v, 32);
    if (verify_load_body(txn, s, c->revoked_by, &b) == 0) {
      if (b->kind == KK_PL_REVOKE) memcpy(c->revoke_reason, b->u.revoke.reason, sizeof c->revoke_reason);
      mem_free(b);
    }
  } else if (rc != MDB_NOTFOUND) return rc;

  /* Attestations of this certificate that have not themselves been revoked. */
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(txn, s->attests, &cur))) return rc;
  MDB_val k = { 32, (void *)e->src }, val;
  for (rc = mdb_cursor_get(cur, &k, &val, MDB_SET_RANGE);
       rc == 0 && k.mv_size == 64 && memcmp(k.mv_data, e->src, 32) == 0;
       rc = mdb_cursor_get(cur, &k, &val, MDB_NEXT)) {
    if (store_get(txn, s->revoked, (const uint8_t *)k.mv_data + 32, 32, NULL, NULL) == MDB_NOTFOUND)
      c->attestations++;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND || rc == 0 ? 0 : rc;
}

int verify_lot(MDB_txn *txn, struct store *s, const uint8_t lotkey[36], uint32_t extra_claim_ppm,
               struct verify_report *r)
{
  memset(r, 0, sizeof *r);
  memcpy(r->lotkey, lotkey, 36);
  int rc = rules_lot_get(txn, s, lotkey, &r->lot);
  if (rc) return rc;
  struct member m;
  if (rules_member_get(txn, s, r->lot.owner, &m) == 0) memcpy(r->owner_name, m.name, sizeof r->owner_name);

  const struct attr *a = &r->lot.created;
  size_t ncert = 0;
  for (size_t i = 0; i < a->n; i++) ncert += a->e[i].kind == ATTR_CERTIFICATE;
  r->certs = mem_calloc(ncert ? ncert : 1, sizeof *r->certs);
  r->origins = mem_calloc(a->n ? a->n : 1, sizeof *r->origins);
  if (!r->certs || !r->origins) { rc = -ENOMEM; goto fail; }

  uint64_t taint_post = 0, taint_pre = 0;
  for (size_t i = 0; i < a->n; i++) {
    const struct attr_entry *e = &a->e[i];
    int revoked = 0;
    if (e->kind == ATTR_CERTIFICATE) {
      struct verify_cert *c = &r->certs[r->n_certs++];
      if ((rc = verify_cert_fill(txn, s, e, c))) goto fail;
      if ((rc = store_frozen_at(txn, s, c->issuer, &c->issuer_frozen_at))) goto fail;
      if (c->issuer_frozen_at) r->equivocation_mass += e->mass;
      revoked = c->revoked;
      if (revoked) { taint_post += e->post; taint_pre += e->pre; }
    }
    size_t j;
    for (j = 0; j < r->n_origins; j++)
      if (strcmp(r->origins[j].country, e->country) == 0) break;
    if (j == r->n_origins) {
      memcpy(r->origins[j].country, e->country, 3);
      r->n_origins++;
    }
    r->origins[j].mass += e->mass;
    if (!revoked) r->origins[j].recycled += e->post + e->pre;
  }
  qsort(r->origins, r->n_origins, sizeof *r->origins, verify_origin_cmp);
  if ((rc = store_frozen_at(txn, s, r->lot.owner, &r->owner_frozen_at))) goto fail;
  if (r->owner_frozen_at) r->equivocation_mass = r->lot.mass;
  r->flagged = r->equivocation_mass > 0;
  r->verified_post = r->lot.post - (taint_post < r->lot.post ? taint_post : r->lot.post);
  r->verified_pre = r->lot.pre - (taint_pre < r->lot.pre ? taint_pre : r->lot.pre);
  r->tainted = (r->lot.post + r->lot.pre) - (r->verified_post + r->verified_pre);

  /* Claims, in the owner's feed order. */
  MDB_cursor *cur;
  size_t cap = 0;
  uint64_t verified = r->verified_post + r->verified_pre, counted = 0;
  r->ok = 1;
  if ((rc = mdb_cursor_open(txn, s->claims, &cur))) goto fail;
  MDB_val k = { 36, (void *)lotkey }, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == 44 && memcmp(k.mv_data, lotkey, 36) == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (r->n_claims == cap) {
      cap = cap ? cap * 2 : 4;
      struct verify_claim *nc = mem_realloc(r->claims, cap * sizeof *nc);
      if (!nc) { rc = -ENOMEM; break; }
      r->claims = nc;
    }
    struct verify_claim *c = &r->claims[r->n_claims];
    memset(c, 0, sizeof *c);
    if ((rc = claim_decode(v.mv_data, v.mv_size, &c->c))) break;
    c->seq = be64_get((const uint8_t *)k.mv_data + 36);
    c->revoked = store_get(txn, s->revoked, c->c.id, 32, NULL, NULL) == 0;
    if (!c->revoked) {
      counted += c->c.claimed;
      c->holds = counted <= verified;
    }
    if (!c->holds && !c->revoked) r->ok = 0;
    r->n_claims++;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND && rc != 0) goto fail;
  rc = 0;
  if (extra_claim_ppm) {
    r->has_extra_claim = 1;
    r->extra_claim_ppm = extra_claim_ppm;
    r->extra_claim_holds =
        (unsigned __int128)extra_claim_ppm * r->lot.mass <= (unsigned __int128)verified * 1000000u;
    if (!r->extra_claim_holds) r->ok = 0;
  }
  return 0;
fail:
  verify_report_free(r);
  return rc;
}
