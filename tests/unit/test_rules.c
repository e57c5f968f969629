/*
 * Rules: every invariant both ways, the worked example, determinism across arrival
 * orders, and suspension.
 */
#include "test.h"
#include <sys/stat.h>
#include "fixture.h"
#include "../../node/base/buf.h"
#include "../../node/base/err.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/rules.h"
#include "../../node/ledger/verify.h"

#define T (1000000000ull) /* one tonne in mg */

struct world {
  struct fx f;
  struct store *s;
  struct fx_member rec, proc, man, cert, outsider;
};

static void admit(struct world *w, struct fx_member *m, const char *name, uint32_t roles)
{
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m->pk, 32);
  strcpy(b->u.admit.name, name);
  b->u.admit.roles = roles;
  strcpy(b->u.admit.country, "JP");
  struct fx_rec r = fx_sign(&w->f, &w->f.reg, b);
  ASSERT_EQ(fx_ingest(w->s, &r, INGEST_LOCAL), 0);
  fx_rec_free(&r);
  free(b);
}

static void world_init(struct world *w)
{
  memset(w, 0, sizeof *w);
  fx_network(&w->f, "rules");
  w->s = fx_store(&w->f, test_tmpdir());
  fx_member_init(&w->rec);
  fx_member_init(&w->proc);
  fx_member_init(&w->man);
  fx_member_init(&w->cert);
  fx_member_init(&w->outsider);
  admit(w, &w->rec, "recycler", KK_ROLE_RECYCLER);
  admit(w, &w->proc, "processor", KK_ROLE_PROCESSOR);
  admit(w, &w->man, "manufacturer", KK_ROLE_MANUFACTURER);
  admit(w, &w->cert, "certifier", KK_ROLE_CERTIFIER);
}

static void world_close(struct world *w)
{
  store_close(w->s);
  fx_free(&w->f);
}

/* Appends a record as its author's node would: the rules must accept it, or nothing
 * is written (and the member's feed position is given back). Returns 0 or the error. */
static int try_local(struct world *w, struct fx_member *m, struct kk_body *b, uint8_t id[32])
{
  struct fx_member saved = *m;
  uint8_t before[32], after[32];
  fx_digest(w->s, before);
  struct fx_rec r = fx_sign(&w->f, m, b);
  int rc = fx_ingest(w->s, &r, INGEST_LOCAL);
  if (rc == 0 && id) memcpy(id, r.id, 32);
  if (rc != 0) {
    *m = saved;
    fx_digest(w->s, after);
    ASSERT(memcmp(before, after, 32) == 0); /* a refused record changes nothing */
  }
  fx_rec_free(&r);
  free(b);
  return rc;
}

static struct kk_body *issue(const char *code, uint64_t mass, uint64_t post, uint64_t pre)
{
  struct kk_body *b = fx_body(KK_PL_ISSUE);
  strcpy(b->u.issue.lot_code, code);
  strcpy(b->u.issue.material, "PET");
  b->u.issue.mass_mg = mass;
  b->u.issue.post_mg = post;
  b->u.issue.pre_mg = pre;
  strcpy(b->u.issue.origin, "JP");
  strcpy(b->u.issue.scheme, "GRS");
  strcpy(b->u.issue.certificate, code);
  b->u.issue.model = KK_MODEL_SEGREGATED;
  return b;
}

static struct kk_body *transfer(const uint8_t lot[32], uint32_t idx, uint64_t mass, const uint8_t to[32])
{
  struct kk_body *b = fx_body(KK_PL_TRANSFER);
  fx_lotref(&b->u.transfer.lot, lot, idx);
  b->u.transfer.mass_mg = mass;
  memcpy(b->u.transfer.to, to, 32);
  return b;
}

static struct kk_body *receive(const uint8_t xfer[32])
{
  struct kk_body *b = fx_body(KK_PL_RECEIVE);
  memcpy(b->u.receive.transfer, xfer, 32);
  return b;
}

static void get_lot(struct world *w, const uint8_t id[32], uint32_t idx, struct lot *l)
{
  uint8_t k[36];
  struct store_txn *txn;
  lotkey_make(k, id, idx);
  lot_init(l);
  ASSERT_OK(store_read(w->s, &txn));
  ASSERT_OK(rules_lot_get(txn, w->s, k, l));
  store_txn_abort(txn);
}

/* Flake (20 t, 100 % post-consumer) in the processor's hands; returns its receive id. */
static void flake_at_processor(struct world *w, uint8_t flake_rx[32], uint8_t issue_id[32])
{
  uint8_t x[32];
  ASSERT_OK(try_local(w, &w->rec, issue("FLAKE-1", 20 * T, 20 * T, 0), issue_id));
  ASSERT_OK(try_local(w, &w->rec, transfer(issue_id, 0, 20 * T, w->proc.pk), x));
  ASSERT_OK(try_local(w, &w->proc, receive(x), flake_rx));
}

static struct kk_body *blend(uint32_t model, const uint8_t in[32], uint64_t in_mass, uint64_t virgin)
{
  struct kk_body *b = fx_body(KK_PL_TRANSFORM);
  struct kk_transform *t = &b->u.transform;
  t->model = model;
  t->n_inputs = 1;
  fx_lotref(&t->inputs[0].lot, in, 0);
  t->inputs[0].mass_mg = in_mass;
  if (virgin) {
    t->n_unledgered = 1;
    strcpy(t->unledgered[0].material, "PET");
    t->unledgered[0].mass_mg = virgin;
    strcpy(t->unledgered[0].origin, "DE");
  }
  return b;
}

static void out(struct kk_body *b, const char *code, uint64_t mass, uint64_t post)
{
  struct kk_output *o = &b->u.transform.outputs[b->u.transform.n_outputs++];
  strcpy(o->lot_code, code);
  strcpy(o->material, "PET");
  o->mass_mg = mass;
  o->post_mg = post;
}

TEST(rules_worked_example_controlled_blending)
{
  struct world w;
  uint8_t rx[32], iss[32], tf[32];
  world_init(&w);
  flake_at_processor(&w, rx, iss);
  struct kk_body *b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 20 * T, 30 * T);
  out(b, "SHEET-1", 47500000000ull, 0);
  ASSERT_OK(try_local(&w, &w.proc, b, tf));
  struct lot l;
  get_lot(&w, tf, 0, &l);
  ASSERT_U64(l.mass, 47500000000ull);
  ASSERT_U64(l.post, 19 * T); /* 40 % post-consumer */
  ASSERT_U64(l.pre, 0);
  ASSERT_EQ(l.model, KK_MODEL_CONTROLLED_BLENDING);
  lot_free(&l);
  /* attribution, computed from the provenance: 19 t from JP (all recycled), 28.5 t DE */
  uint8_t k[36];
  struct verify_report r;
  struct store_txn *txn;
  lotkey_make(k, tf, 0);
  ASSERT_OK(store_read(w.s, &txn));
  ASSERT_OK(verify_lot(txn, w.s, k, 0, &r));
  store_txn_abort(txn);
  ASSERT_EQ(r.n_origins, 2);
  ASSERT_STR(r.origins[0].country, "DE");
  ASSERT_U64(r.origins[0].mass, 28500000000ull);
  ASSERT_U64(r.origins[0].recycled, 0);
  ASSERT_STR(r.origins[1].country, "JP");
  ASSERT_U64(r.origins[1].mass, 19 * T);
  ASSERT_U64(r.origins[1].recycled, 19 * T);
  ASSERT_EQ(r.n_certs, 1);
  ASSERT(memcmp(r.certs[0].record, iss, 32) == 0);
  ASSERT(r.passed);
  verify_report_free(&r);
  /* the flake is spent: spending it again fails */
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 1, 0);
  out(b, "SHEET-2", 1, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(OVERSPEND));
  world_close(&w);
}

TEST(rules_worked_example_mass_balance)
{
  struct world w;
  uint8_t rx[32], iss[32], tf[32];
  world_init(&w);
  flake_at_processor(&w, rx, iss);
  /* Rejected: 20 t at 100 % ignores the yield (1 t overdraft). */
  struct kk_body *b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 30 * T);
  out(b, "SHEET-A", 20 * T, 20 * T);
  out(b, "SHEET-B", 27500000000ull, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(MB_OVERDRAFT));
  /* Rejected: 47.5 t at 40 % plus 19 t at 100 % (double claim of the credit). */
  b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 30 * T);
  out(b, "SHEET-A", 47500000000ull, 19 * T);
  out(b, "SHEET-B", 19 * T, 19 * T);
  ASSERT(try_local(&w, &w.proc, b, NULL) != 0); /* also breaks conservation */
  b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 30 * T);
  out(b, "SHEET-A", 28500000000ull, 19 * T);
  out(b, "SHEET-B", 19 * T, 1);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(MB_OVERDRAFT));
  /* Accepted: 19 t at 100 % and 28.5 t at 0 %. */
  b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 30 * T);
  out(b, "SHEET-A", 19 * T, 19 * T);
  out(b, "SHEET-B", 28500000000ull, 0);
  ASSERT_OK(try_local(&w, &w.proc, b, tf));
  struct lot a, c;
  get_lot(&w, tf, 0, &a);
  get_lot(&w, tf, 1, &c);
  ASSERT_U64(a.post, 19 * T);
  ASSERT_U64(c.post, 0);
  ASSERT_EQ(a.model, KK_MODEL_MASS_BALANCE);
  lot_free(&a);
  lot_free(&c);
  world_close(&w);
}

/* A material is GROUP or GROUP/FORM: mass balance moves credit within the group while
 * the form changes; proportional models may combine groups; malformed names refused. */
TEST(rules_material_groups)
{
  struct world w;
  uint8_t iss[32], x[32], rx[32];
  world_init(&w);
  struct kk_body *b = issue("INGOT-1", 10 * T, 10 * T, 0);
  strcpy(b->u.issue.material, "aluminium/ingot");
  ASSERT_OK(try_local(&w, &w.rec, b, iss));
  ASSERT_OK(try_local(&w, &w.rec, transfer(iss, 0, 10 * T, w.proc.pk), x));
  ASSERT_OK(try_local(&w, &w.proc, receive(x), rx));

  b = blend(KK_MODEL_MASS_BALANCE, rx, 5 * T, 0);
  out(b, "SHEET", 4 * T, 4 * T);
  strcpy(b->u.transform.outputs[0].material, "PET/sheet");
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(MATERIAL_MIX));   /* another group */
  b = blend(KK_MODEL_MASS_BALANCE, rx, 5 * T, 1 * T);                /* virgin PET in */
  out(b, "BILLET-0", 5 * T, 4 * T);
  strcpy(b->u.transform.outputs[0].material, "aluminium/billet");
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(MATERIAL_MIX));
  b = blend(KK_MODEL_MASS_BALANCE, rx, 5 * T, 0);                    /* ingot -> billet */
  out(b, "BILLET-1", 4500000000ull, 4500000000ull);
  strcpy(b->u.transform.outputs[0].material, "Aluminium/billet");    /* groups ignore case */
  ASSERT_OK(try_local(&w, &w.proc, b, NULL));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 5 * T, 0);             /* proportional: may mix */
  out(b, "PANEL-1", 5 * T, 0);
  strcpy(b->u.transform.outputs[0].material, "composite/panel");
  ASSERT_OK(try_local(&w, &w.proc, b, NULL));

  static const char *bad[] = { "PET/", "/flake", "PET/flake/x", " PET", "PET /flake", "PET/ flake" };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    b = issue("BAD", T, T, 0);
    strcpy(b->u.issue.material, bad[i]);
    ASSERT_EQ(try_local(&w, &w.rec, b, NULL), KK_ERR(MATERIAL));
  }
  world_close(&w);
}

TEST(rules_transform_checks)
{
  struct world w;
  uint8_t rx[32], iss[32];
  world_init(&w);
  flake_at_processor(&w, rx, iss);
  struct kk_body *b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 20 * T, 30 * T);
  out(b, "S", 50 * T + 1, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(CONSERVATION));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 20 * T, 0);
  out(b, "S", 10 * T, 5 * T);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(DECLARED_RC));
  b = blend(KK_MODEL_SEGREGATED, rx, 20 * T, 1);
  out(b, "S", 10 * T, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(SEGREGATED_UNLEDGERED));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 20 * T + 1, 0);
  out(b, "S", 10 * T, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(OVERSPEND));
  b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 0);
  out(b, "S", 10 * T, 0);
  strcpy(b->u.transform.outputs[0].material, "PP");
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(MATERIAL_MIX));
  b = blend(KK_MODEL_MASS_BALANCE, rx, 20 * T, 0);
  out(b, "S", 10 * T, 10 * T + 1);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(RC_EXCEEDS));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 10 * T, UINT64_MAX);
  out(b, "S", 10 * T, 0);
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(OVERFLOW));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 10 * T, 0);
  out(b, "S", 1, 0);
  fx_lotref(&b->u.transform.inputs[1].lot, rx, 0);
  b->u.transform.inputs[1].mass_mg = 1;
  b->u.transform.n_inputs = 2;
  ASSERT_EQ(try_local(&w, &w.proc, b, NULL), KK_ERR(DUP_INPUT));
  /* only processors and manufacturers transform; only the owner spends */
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 1, 0);
  out(b, "S", 1, 0);
  ASSERT_EQ(try_local(&w, &w.rec, b, NULL), KK_ERR(ROLE));
  b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 1, 0);
  out(b, "S", 1, 0);
  ASSERT_EQ(try_local(&w, &w.man, b, NULL), KK_ERR(NOT_OWNER));
  world_close(&w);
}

TEST(rules_issue_transfer_receive_refuse)
{
  struct world w;
  uint8_t a[32], x1[32], x2[32], rf[32], rx[32];
  world_init(&w);
  ASSERT_EQ(try_local(&w, &w.proc, issue("P", 10, 10, 0), NULL), KK_ERR(ROLE));
  ASSERT_EQ(try_local(&w, &w.rec, issue("X", 10, 8, 3), NULL), KK_ERR(RC_EXCEEDS));
  ASSERT_EQ(try_local(&w, &w.rec, issue("X", 0, 0, 0), NULL), KK_ERR(ZERO_MASS));
  ASSERT_EQ(try_local(&w, &w.rec, issue("X", UINT64_MAX, UINT64_MAX, 1), NULL), KK_ERR(OVERFLOW));
  struct kk_body *b = issue("X", 10, 1, 0);
  strcpy(b->u.issue.origin, "jp");
  ASSERT_EQ(try_local(&w, &w.rec, b, NULL), KK_ERR(COUNTRY));
  ASSERT_OK(try_local(&w, &w.rec, issue("L", 10, 3, 0), a));
  ASSERT_EQ(try_local(&w, &w.rec, issue("L", 10, 3, 0), NULL), KK_ERR(DUP_CODE));
  ASSERT_EQ(try_local(&w, &w.rec, transfer(a, 0, 11, w.proc.pk), NULL), KK_ERR(OVERSPEND));
  ASSERT_EQ(try_local(&w, &w.rec, transfer(a, 0, 0, w.proc.pk), NULL), KK_ERR(ZERO_MASS));
  ASSERT_EQ(try_local(&w, &w.rec, transfer(a, 0, 1, w.rec.pk), NULL), KK_ERR(SELF_TRANSFER));
  ASSERT_EQ(try_local(&w, &w.rec, transfer(a, 1, 1, w.proc.pk), NULL), KK_ERR(UNKNOWN_LOT));
  ASSERT_EQ(try_local(&w, &w.proc, transfer(a, 0, 1, w.man.pk), NULL), KK_ERR(NOT_OWNER));
  /* Spending 3, 3, 4 of a 10 mg lot with 3 mg recycled carries 0, 1, 2: exactly 3. */
  uint8_t xs[3][32];
  ASSERT_OK(try_local(&w, &w.rec, transfer(a, 0, 3, w.proc.pk), xs[0]));
  ASSERT_OK(try_local(&w, &w.rec, transfer(a, 0, 3, w.proc.pk), xs[1]));
  ASSERT_OK(try_local(&w, &w.rec, transfer(a, 0, 4, w.proc.pk), xs[2]));
  ASSERT_EQ(try_local(&w, &w.rec, transfer(a, 0, 1, w.proc.pk), NULL), KK_ERR(OVERSPEND));
  uint64_t carried = 0;
  for (int i = 0; i < 3; i++) {
    struct xfer x;
    struct store_txn *txn;
    xfer_init(&x);
    ASSERT_OK(store_read(w.s, &txn));
    ASSERT_OK(rules_xfer_get(txn, w.s, xs[i], &x));
    store_txn_abort(txn);
    carried += x.post;
    xfer_free(&x);
  }
  ASSERT_U64(carried, 3);
  memcpy(x1, xs[0], 32);
  memcpy(x2, xs[1], 32);
  ASSERT_EQ(try_local(&w, &w.man, receive(x1), NULL), KK_ERR(NOT_RECIPIENT));
  ASSERT_OK(try_local(&w, &w.proc, receive(x1), rx));
  ASSERT_EQ(try_local(&w, &w.proc, receive(x1), NULL), KK_ERR(TRANSFER_CLOSED));
  b = fx_body(KK_PL_REFUSE);
  memcpy(b->u.refuse.transfer, x2, 32);
  ASSERT_OK(try_local(&w, &w.proc, b, rf));
  /* the refused lot is the sender's again, under the refusal's id */
  struct lot l;
  get_lot(&w, rf, 0, &l);
  ASSERT(memcmp(l.owner, w.rec.pk, 32) == 0);
  ASSERT_U64(l.mass, 3);
  lot_free(&l);
  ASSERT_OK(try_local(&w, &w.rec, transfer(rf, 0, 3, w.man.pk), NULL));
  world_close(&w);
}

/* A lot of both kinds, spent in small parts: flooring each kind alone once left 2 mg
 * holding 3 mg of recycled mass (1 mg spent from 3 mg of 1 post + 2 pre carried
 * nothing), and receiving the rest failed the lot's invariants. Every part, and what
 * is left after each, holds no more recycled mass than mass; the parts add up. */
TEST(rules_spend_carry_keeps_recycled_within_mass)
{
  struct world w;
  uint8_t a[32], x1[32], x2[32], r1[32], r2[32];
  world_init(&w);
  ASSERT_OK(try_local(&w, &w.rec, issue("MIX", 3, 1, 2), a));
  ASSERT_OK(try_local(&w, &w.rec, transfer(a, 0, 1, w.proc.pk), x1));
  struct lot l;
  get_lot(&w, a, 0, &l);
  ASSERT(l.post_left + l.pre_left <= l.mass_left);
  lot_free(&l);
  ASSERT_OK(try_local(&w, &w.rec, transfer(a, 0, 2, w.man.pk), x2));
  ASSERT_OK(try_local(&w, &w.proc, receive(x1), r1));
  ASSERT_OK(try_local(&w, &w.man, receive(x2), r2));
  struct lot p, m;
  get_lot(&w, r1, 0, &p);
  get_lot(&w, r2, 0, &m);
  ASSERT_U64(p.mass, 1);
  ASSERT(p.post + p.pre <= p.mass);
  ASSERT_U64(m.mass, 2);
  ASSERT(m.post + m.pre <= m.mass);
  ASSERT_U64(p.post + m.post, 1); /* nothing made, nothing lost */
  ASSERT_U64(p.pre + m.pre, 2);
  lot_free(&p);
  lot_free(&m);
  /* Many kinds of splits of many lots: every spend's parts within their mass. */
  uint64_t seed = 0x9e3779b97f4a7c15ull;
  for (int k = 0; k < 200; k++) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    struct lot x;
    lot_init(&x);
    x.mass = x.mass_left = 1 + (seed >> 33) % 97;
    x.post = x.post_left = (seed >> 13) % (x.mass + 1);
    x.pre = x.pre_left = (seed >> 23) % (x.mass - x.post + 1);
    while (x.mass_left) {
      seed = seed * 6364136223846793005ull + 1442695040888963407ull;
      uint64_t take = 1 + (seed >> 40) % x.mass_left, post, pre;
      rules_spend_carry(&x, take, &post, &pre);
      ASSERT(post + pre <= take);
      x.mass_left -= take;
      x.post_left -= post;
      x.pre_left -= pre;
      ASSERT(x.post_left + x.pre_left <= x.mass_left);
    }
    ASSERT_U64(x.post_left + x.pre_left, 0); /* emptied: all of it carried */
  }
  world_close(&w);
}

TEST(rules_claims_and_revocation)
{
  struct world w;
  uint8_t rx[32], iss[32], tf[32], x[32], mrx[32], claim[32];
  world_init(&w);
  flake_at_processor(&w, rx, iss);
  struct kk_body *b = blend(KK_MODEL_CONTROLLED_BLENDING, rx, 20 * T, 30 * T);
  out(b, "SHEET-1", 47500000000ull, 0);
  ASSERT_OK(try_local(&w, &w.proc, b, tf));
  ASSERT_OK(try_local(&w, &w.proc, transfer(tf, 0, 47500000000ull, w.man.pk), x));
  ASSERT_OK(try_local(&w, &w.man, receive(x), mrx));
  b = fx_body(KK_PL_CLAIM);
  fx_lotref(&b->u.claim.lot, mrx, 0);
  b->u.claim.share_ppm = 400001;
  ASSERT_EQ(try_local(&w, &w.man, b, NULL), KK_ERR(CLAIM_EXCEEDS));
  b = fx_body(KK_PL_CLAIM);
  fx_lotref(&b->u.claim.lot, mrx, 0);
  b->u.claim.share_ppm = 400000;
  ASSERT_OK(try_local(&w, &w.man, b, claim));
  b = fx_body(KK_PL_CLAIM);
  fx_lotref(&b->u.claim.lot, mrx, 0);
  b->u.claim.share_ppm = 1;
  ASSERT_EQ(try_local(&w, &w.man, b, NULL), KK_ERR(CLAIM_EXCEEDS)); /* a second claim counts nothing twice */

  uint8_t k[36];
  struct verify_report r;
  struct store_txn *txn;
  lotkey_make(k, mrx, 0);
  ASSERT_OK(store_read(w.s, &txn));
  ASSERT_OK(verify_lot(txn, w.s, k, 0, &r));
  store_txn_abort(txn);
  ASSERT(r.passed);
  ASSERT_U64(r.verified_post, 19 * T);
  ASSERT_EQ(r.n_claims, 1);
  ASSERT(r.claims[0].holds);
  verify_report_free(&r);

  /* only certifiers attest; revocation by a certifier taints everything downstream */
  b = fx_body(KK_PL_ATTEST);
  memcpy(b->u.attest.record, iss, 32);
  ASSERT_EQ(try_local(&w, &w.man, b, NULL), KK_ERR(ROLE));
  b = fx_body(KK_PL_REVOKE);
  memcpy(b->u.revoke.record, iss, 32);
  ASSERT_EQ(try_local(&w, &w.man, b, NULL), KK_ERR(REVOKE_TARGET));
  b = fx_body(KK_PL_REVOKE);
  memcpy(b->u.revoke.record, tf, 32);
  ASSERT_EQ(try_local(&w, &w.cert, b, NULL), KK_ERR(REVOKE_TARGET));
  b = fx_body(KK_PL_REVOKE);
  memcpy(b->u.revoke.record, iss, 32);
  ASSERT_OK(try_local(&w, &w.cert, b, NULL));
  b = fx_body(KK_PL_REVOKE);
  memcpy(b->u.revoke.record, iss, 32);
  ASSERT_EQ(try_local(&w, &w.cert, b, NULL), KK_ERR(ALREADY_REVOKED));
  ASSERT_OK(store_read(w.s, &txn));
  ASSERT_OK(verify_lot(txn, w.s, k, 0, &r));
  store_txn_abort(txn);
  ASSERT(!r.passed);
  ASSERT(!r.claims_hold);
  ASSERT_U64(r.tainted, 19 * T);
  ASSERT_U64(r.tainted_revoked, 19 * T);
  ASSERT_U64(r.verified_post, 0);
  ASSERT_U64(r.unclaimed_verified, 0);
  ASSERT(!r.claims[0].holds);
  verify_report_free(&r);
  world_close(&w);
}

/* ---- determinism -------------------------------------------------------------------- */

/* A workload of records across feeds with cross-feed dependencies. */
static size_t workload(struct fx_rec *recs)
{
  struct world w;
  size_t n = 0;
  memset(&w, 0, sizeof w);
  fx_network(&w.f, "det");
  fx_member_init(&w.rec);
  fx_member_init(&w.proc);
  fx_member_init(&w.man);
  fx_member_init(&w.cert);
  recs[n++] = w.f.genesis;
  struct fx_member *ms[4] = { &w.rec, &w.proc, &w.man, &w.cert };
  uint32_t roles[4] = { KK_ROLE_RECYCLER, KK_ROLE_PROCESSOR, KK_ROLE_MANUFACTURER, KK_ROLE_CERTIFIER };
  for (int i = 0; i < 4; i++) {
    struct kk_body *b = fx_body(KK_PL_ADMIT);
    memcpy(b->u.admit.member, ms[i]->pk, 32);
    snprintf(b->u.admit.name, sizeof b->u.admit.name, "m%d", i);
    b->u.admit.roles = roles[i];
    recs[n++] = fx_sign(&w.f, &w.f.reg, b);
    free(b);
  }
  for (int k = 0; k < 5; k++) {
    char code[16];
    snprintf(code, sizeof code, "F%d", k);
    struct kk_body *b = issue(code, (uint64_t)(k + 7) * T + 13, (uint64_t)(k + 3) * T + 7, 11);
    struct fx_rec is = fx_sign(&w.f, &w.rec, b);
    recs[n++] = is;
    free(b);
    b = transfer(is.id, 0, (uint64_t)(k + 5) * T + 1, w.proc.pk);
    struct fx_rec tr = fx_sign(&w.f, &w.rec, b);
    recs[n++] = tr;
    free(b);
    b = receive(tr.id);
    struct fx_rec rv = fx_sign(&w.f, &w.proc, b);
    recs[n++] = rv;
    free(b);
    b = blend(k % 2 ? KK_MODEL_MASS_BALANCE : KK_MODEL_CONTROLLED_BLENDING, rv.id, (uint64_t)(k + 4) * T, 3 * T + 17);
    snprintf(code, sizeof code, "S%d", k);
    out(b, code, (uint64_t)(k + 6) * T, k % 2 ? T : 0);
    struct fx_rec tf = fx_sign(&w.f, &w.proc, b);
    recs[n++] = tf;
    free(b);
    b = transfer(tf.id, 0, (uint64_t)(k + 6) * T, w.man.pk);
    struct fx_rec t2 = fx_sign(&w.f, &w.proc, b);
    recs[n++] = t2;
    free(b);
    b = receive(t2.id);
    recs[n++] = fx_sign(&w.f, &w.man, b);
    free(b);
    if (k == 2) {
      b = fx_body(KK_PL_REVOKE);
      memcpy(b->u.revoke.record, is.id, 32);
      recs[n++] = fx_sign(&w.f, &w.cert, b);
      free(b);
    }
    /* an invalid record from a peer: overspending the lot just emptied */
    b = transfer(tf.id, 0, 1, w.man.pk);
    recs[n++] = fx_sign(&w.f, &w.proc, b);
    free(b);
  }
  return n;
}

static void ingest_order(const char *dir, struct fx_rec *recs, size_t n, const size_t *order, size_t batch,
                         uint8_t digest[32], struct fx *f)
{
  struct store *s;
  (void)f;
  ASSERT_OK(mkdir(dir, 0700));
  ASSERT_OK(store_open(&s, dir, 0));
  struct ingest_item it;
  memset(&it, 0, sizeof it);
  it.env = recs[0].env;
  it.len = recs[0].len;
  ASSERT_OK(ingest_batch(s, &it, 1, INGEST_ADOPT_GENESIS, 1));
  /* Records arrive in the given order, in batches; a record whose predecessor has not
   * arrived is refused (as a peer would re-request it) and offered again later. */
  int *done = calloc(n, sizeof *done);
  size_t left = n - 1;
  while (left) {
    size_t progressed = 0;
    for (size_t i = 0; i < n; i += batch) {
      struct ingest_item items[64];
      size_t m = 0;
      for (size_t j = i; j < i + batch && j < n; j++) {
        size_t r = order[j];
        if (r == 0 || done[r]) continue;
        memset(&items[m], 0, sizeof items[m]);
        items[m].env = recs[r].env;
        items[m].len = recs[r].len;
        m++;
      }
      if (!m) continue;
      ASSERT_OK(ingest_batch(s, items, m, 0, 2));
      for (size_t q = 0; q < m; q++) {
        if (items[q].result == KK_ERR(SEQ_GAP)) continue;
        ASSERT(items[q].result == 0 || items[q].result == INGEST_DUPLICATE);
        for (size_t r = 1; r < n; r++)
          if (recs[r].env == items[q].env && !done[r]) { done[r] = 1; left--; progressed++; }
      }
    }
    ASSERT(progressed);
  }
  free(done);
  fx_digest(s, digest);
  store_close(s);
}

TEST(rules_determinism_any_arrival_order)
{
  struct fx_rec recs[128];
  size_t n = workload(recs);
  size_t *order = calloc(n, sizeof *order);
  ASSERT(order);
  uint8_t d0[32], d1[32], d2[32];
  char dir[4200];
  for (size_t i = 0; i < n; i++) order[i] = i;
  snprintf(dir, sizeof dir, "%s/a", test_tmpdir());
  ingest_order(dir, recs, n, order, 64, d0, NULL);
  for (size_t i = 0; i < n; i++) order[i] = n - 1 - i; /* newest first: everything waits */
  snprintf(dir, sizeof dir, "%s/b", test_tmpdir());
  ingest_order(dir, recs, n, order, 1, d1, NULL);
  srand(7);
  for (size_t i = n - 1; i > 0; i--) { size_t j = (size_t)rand() % (i + 1), t = order[i]; order[i] = order[j]; order[j] = t; }
  snprintf(dir, sizeof dir, "%s/c", test_tmpdir());
  ingest_order(dir, recs, n, order, 5, d2, NULL);
  ASSERT(memcmp(d0, d1, 32) == 0);
  ASSERT(memcmp(d0, d2, 32) == 0);
  /* and the state has real content: an invalid overspend is recorded as such */
  free(order);
  for (size_t i = 0; i < n; i++) fx_rec_free(&recs[i]);
}

/* A store written with an earlier layout of the derived state (status and lots keyed
 * by record id; no "layout" marker): read-only opens refuse it, a writable open flags
 * it and rules_upgrade rebuilds it to exactly the state a current node computes. */
static int make_old_layout(struct store_txn *txn, void *ctx)
{
  struct store *s = ctx;
  uint8_t k[36] = { 1 };
  int rc = store_clear_derived(txn, s);
  if (!rc) rc = store_del(txn, s, STORE_DB_META, "layout", 6);
  if (!rc) rc = store_put(txn, s, STORE_DB_STATUS, k, 32, "\1\0\0\0\0\3", 6);
  if (!rc) rc = store_put(txn, s, STORE_DB_LOTS, k, 36, "old", 3);
  return rc;
}

TEST(rules_upgrade_from_earlier_layout)
{
  struct fx_rec recs[128];
  size_t n = workload(recs);
  size_t *order = calloc(n, sizeof *order);
  ASSERT(order);
  uint8_t want[32], got[32];
  char dir[4200];
  for (size_t i = 0; i < n; i++) order[i] = i;
  snprintf(dir, sizeof dir, "%s/old", test_tmpdir());
  ingest_order(dir, recs, n, order, 64, want, NULL);
  struct store *s;
  ASSERT_OK(store_open(&s, dir, 0));
  ASSERT_EQ(store_derived_stale(s), 0);
  ASSERT_OK(store_write(s, make_old_layout, s));
  store_close(s);

  ASSERT_EQ(store_open(&s, dir, 1), KK_ERR(OLD_STORE));
  ASSERT_OK(store_open(&s, dir, 0));
  ASSERT_EQ(store_derived_stale(s), 1);
  fx_digest(s, got);
  ASSERT(memcmp(want, got, 32) != 0); /* the old entries are there until the upgrade */
  ASSERT_OK(rules_upgrade(s));
  ASSERT_EQ(store_derived_stale(s), 0);
  fx_digest(s, got);
  ASSERT(memcmp(want, got, 32) == 0);
  store_close(s);
  ASSERT_OK(store_open(&s, dir, 1)); /* upgraded for good */
  ASSERT_EQ(store_derived_stale(s), 0);
  fx_digest(s, got);
  ASSERT(memcmp(want, got, 32) == 0);
  store_close(s);
  free(order);
  for (size_t i = 0; i < n; i++) fx_rec_free(&recs[i]);
}

TEST(rules_late_suspension_rebuilds)
{
  /* Node A receives the member's record before the suspension; node B after. Both
   * must end in the same state, with the record invalid. */
  struct fx f;
  struct fx_member m;
  fx_network(&f, "susp");
  fx_member_init(&m);
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m.pk, 32);
  strcpy(b->u.admit.name, "r");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  struct fx_rec admit = fx_sign(&f, &f.reg, b);
  free(b);
  b = issue("A", 10, 5, 0);
  struct fx_rec i1 = fx_sign(&f, &m, b);
  free(b);
  b = issue("B", 10, 5, 0);
  struct fx_rec i2 = fx_sign(&f, &m, b);
  free(b);
  b = fx_body(KK_PL_SUSPEND);
  memcpy(b->u.suspend.member, m.pk, 32);
  b->u.suspend.from_seq = 2;
  struct fx_rec susp = fx_sign(&f, &f.reg, b);
  free(b);

  char da[4200], db[4200];
  snprintf(da, sizeof da, "%s/a", test_tmpdir());
  snprintf(db, sizeof db, "%s/b", test_tmpdir());
  ASSERT_OK(mkdir(da, 0700));
  ASSERT_OK(mkdir(db, 0700));
  struct store *a = fx_store(&f, da), *c = fx_store(&f, db);
  ASSERT_OK(fx_ingest(a, &admit, 0));
  ASSERT_OK(fx_ingest(a, &i1, 0));
  ASSERT_OK(fx_ingest(a, &i2, 0));
  ASSERT_EQ(fx_verdict(a, i2.id, NULL), RULES_VALID);
  ASSERT_OK(fx_ingest(a, &susp, 0));
  int err = 0;
  ASSERT_EQ(fx_verdict(a, i2.id, &err), RULES_INVALID);
  ASSERT_EQ(err, KK_ERR(SUSPENDED));
  ASSERT_EQ(fx_verdict(a, i1.id, NULL), RULES_VALID);

  ASSERT_OK(fx_ingest(c, &admit, 0));
  ASSERT_OK(fx_ingest(c, &susp, 0));
  ASSERT_OK(fx_ingest(c, &i1, 0));
  ASSERT_OK(fx_ingest(c, &i2, 0));
  uint8_t d1[32], d2[32];
  fx_digest(a, d1);
  fx_digest(c, d2);
  ASSERT(memcmp(d1, d2, 32) == 0);
  store_close(a);
  store_close(c);
  fx_rec_free(&admit);
  fx_rec_free(&i1);
  fx_rec_free(&i2);
  fx_rec_free(&susp);
  fx_free(&f);
}

TEST(rules_waits_for_admission_and_dependencies)
{
  struct fx f;
  struct fx_member m;
  fx_network(&f, "wait");
  fx_member_init(&m);
  struct store *s = fx_store(&f, test_tmpdir());
  struct kk_body *b = issue("A", 10, 5, 0);
  struct fx_rec i1 = fx_sign(&f, &m, b);
  free(b);
  ASSERT_OK(fx_ingest(s, &i1, 0));
  ASSERT_EQ(fx_verdict(s, i1.id, NULL), 0); /* stored, waiting for the admission */
  b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m.pk, 32);
  strcpy(b->u.admit.name, "r");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  struct fx_rec admit = fx_sign(&f, &f.reg, b);
  free(b);
  ASSERT_OK(fx_ingest(s, &admit, 0));
  ASSERT_EQ(fx_verdict(s, i1.id, NULL), RULES_VALID); /* resumed by itself */
  /* a local record that would have to wait is refused */
  b = receive(admit.id);
  struct fx_member saved = m;
  struct fx_rec r = fx_sign(&f, &m, b);
  free(b);
  ASSERT(fx_ingest(s, &r, INGEST_LOCAL) != 0);
  m = saved;
  (void)m;
  store_close(s);
  fx_rec_free(&i1);
  fx_rec_free(&admit);
  fx_rec_free(&r);
  fx_free(&f);
}

static struct kk_body *succession(const uint8_t old[32], const uint8_t heir[32], uint64_t from_seq)
{
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, heir, 32);
  strcpy(b->u.admit.name, "recycler");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  b->u.admit.has_succeeds = 1;
  memcpy(b->u.admit.succeeds, old, 32);
  b->u.admit.from_seq = from_seq;
  return b;
}

TEST(rules_succession)
{
  struct world w;
  struct fx_member heir, other;
  uint8_t l1[32], l2[32], x[32], id[32];
  world_init(&w);
  fx_member_init(&heir);
  fx_member_init(&other);
  ASSERT_OK(try_local(&w, &w.rec, issue("L1", 10 * T, 10 * T, 0), l1));
  ASSERT_OK(try_local(&w, &w.rec, transfer(l1, 0, 4 * T, w.proc.pk), x));

  /* Refused: by anyone but the registry, of the registry, of an unknown key, with no
   * point, a point without a member, or a successor already admitted. */
  ASSERT_EQ(try_local(&w, &w.proc, succession(w.rec.pk, heir.pk, 3), NULL), KK_ERR(NOT_REGISTRY));
  ASSERT_EQ(try_local(&w, &w.f.reg, succession(w.f.reg.pk, heir.pk, 3), NULL), KK_ERR(UNKNOWN_MEMBER));
  ASSERT_EQ(try_local(&w, &w.f.reg, succession(other.pk, heir.pk, 3), NULL), KK_ERR(UNKNOWN_MEMBER));
  ASSERT_EQ(try_local(&w, &w.f.reg, succession(w.rec.pk, heir.pk, 0), NULL), KK_ERR(FIELD));
  ASSERT_EQ(try_local(&w, &w.f.reg, succession(w.rec.pk, w.man.pk, 3), NULL), KK_ERR(ALREADY_MEMBER));
  struct kk_body *b = succession(w.rec.pk, heir.pk, 3);
  b->u.admit.has_succeeds = 0;
  ASSERT_EQ(try_local(&w, &w.f.reg, b, NULL), KK_ERR(FIELD));

  /* The point lies beyond what the old feed holds: its successor's records wait until
   * the old feed reaches it, and the old member's records before it still count. */
  uint8_t sid[32];
  ASSERT_OK(try_local(&w, &w.f.reg, succession(w.rec.pk, heir.pk, 4), sid));
  ASSERT_EQ(try_local(&w, &w.f.reg, succession(w.rec.pk, other.pk, 4), NULL), KK_ERR(SUCCEEDED));
  b = transfer(l1, RULES_INHERITED, 1 * T, w.man.pk);
  struct fx_rec early = fx_sign(&w.f, &heir, b);
  free(b);
  ASSERT_OK(fx_ingest(w.s, &early, 0));
  ASSERT_EQ(fx_verdict(w.s, early.id, NULL), 0); /* waiting */
  ASSERT_OK(try_local(&w, &w.rec, issue("L2", 2 * T, 2 * T, 0), l2)); /* seq 3 < 4: valid */
  /* The old feed is evaluated up to the point: the successor inherits what was left
   * (L1's 6 t and L2), and its waiting record is judged. Seq 4 on is void. */
  ASSERT_EQ(fx_verdict(w.s, early.id, NULL), RULES_VALID);
  ASSERT_EQ(try_local(&w, &w.rec, issue("L3", 1 * T, 1 * T, 0), NULL), KK_ERR(SUSPENDED));
  b = issue("L3", 1 * T, 1 * T, 0);
  struct fx_rec void4 = fx_sign(&w.f, &w.rec, b);
  free(b);
  ASSERT_OK(fx_ingest(w.s, &void4, 0));
  int err = 0;
  ASSERT_EQ(fx_verdict(w.s, void4.id, &err), RULES_INVALID);
  ASSERT_EQ(err, KK_ERR(SUSPENDED));
  struct lot l;
  get_lot(&w, l1, 0, &l);
  ASSERT_EQ(l.mass_left, 0);
  get_lot(&w, l1, RULES_INHERITED, &l);
  ASSERT(memcmp(l.owner, heir.pk, 32) == 0);
  ASSERT_EQ(l.mass, 6 * T);
  ASSERT_EQ(l.mass_left, 5 * T);
  get_lot(&w, l2, RULES_INHERITED, &l);
  ASSERT(memcmp(l.owner, heir.pk, 32) == 0 && l.mass_left == 2 * T);

  /* The processor refuses the old member's transfer only now: the refund comes back to
   * the old member and goes on at once to the successor, as the inheritance would have
   * handed it on. */
  b = fx_body(KK_PL_REFUSE);
  memcpy(b->u.refuse.transfer, x, 32);
  ASSERT_OK(try_local(&w, &w.proc, b, id));
  get_lot(&w, id, 0, &l);
  ASSERT(memcmp(l.owner, w.rec.pk, 32) == 0 && l.mass_left == 0);
  get_lot(&w, id, RULES_INHERITED, &l);
  ASSERT(memcmp(l.owner, heir.pk, 32) == 0 && l.mass_left == 4 * T);
  /* The old key can spend nothing any more; the successor can. */
  ASSERT_EQ(try_local(&w, &w.rec, transfer(l2, 0, 1 * T, w.proc.pk), NULL), KK_ERR(SUSPENDED));
  ASSERT_OK(try_local(&w, &heir, transfer(l2, RULES_INHERITED, 2 * T, w.proc.pk), NULL));
  fx_rec_free(&early);
  fx_rec_free(&void4);
  world_close(&w);
}
