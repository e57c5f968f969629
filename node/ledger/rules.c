/*
 * rules — evaluation engine (cursors, waits, rebuild) and the rule for each payload.
 *
 * Each rule_* function checks a record against the state, returns RULE_WAIT (with the
 * dependency in ctx->dep) when something it needs has not been evaluated yet, a
 * negative Kiroku error when the record breaks a rule (nothing was written), or 0 after
 * applying its effects. Checks come before effects in every function, so an invalid
 * record changes nothing but its own status.
 */
#include "rules.h"
#include "rules_ctx.h"
#include "tree.h"
#include "posdb.h"
#include "material.h"
#include "qty.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../../crypto/sig.h"

#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PPM 1000000u

/* ---- small helpers --------------------------------------------------------------- */

int rules_check_country(const char *c)
{
  if (strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
    return KK_ERR(COUNTRY);
  return 0;
}

static int rules_push(struct rules_ctx *c, const uint8_t feed[32])
{
  if (c->qn == c->qcap) {
    size_t cap = c->qcap ? c->qcap * 2 : 16;
    uint8_t (*q)[32] = mem_realloc(c->queue, cap * sizeof *q);
    if (!q) return -ENOMEM;
    c->queue = q;
    c->qcap = cap;
  }
  memcpy(c->queue[c->qn++], feed, 32);
  return 0;
}

int rules_wait(struct rules_ctx *c, uint8_t tag, const uint8_t what[32])
{
  c->dep[0] = tag;
  memcpy(c->dep + 1, what, 32);
  return RULE_WAIT;
}

/* Has the record been evaluated? 1 yes, 0 no (wait), negative on error. */
static int evaluated(struct rules_ctx *c, const uint8_t id[32], struct rules_status *st)
{
  uint8_t author[32];
  uint64_t seq;
  int rc = derived_record_by_id(c, id, author, &seq, NULL, NULL);
  if (rc == 0) rc = rules_status_at(c->txn, c->s, author, seq, st);
  if (rc == STORE_ABSENT) return 0;
  return rc ? rc : 1;
}

/* Loads a lot the author wants to spend or claim, with its key and position; waits for
 * its creating record. */
static int load_own_lot(struct rules_ctx *c, const struct kk_body *b, const struct kk_lotref *ref,
                        uint8_t key[36], uint8_t pos[STORE_LOTPOS], struct lot *l)
{
  struct rules_status st;
  int rc = evaluated(c, ref->record, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, ref->record);
  lotkey_make(key, ref->record, ref->index);
  rc = derived_lot_pos(c, key, pos);
  if (rc == 0) rc = rules_lot_at(c->txn, c->s, pos, l);
  if (rc == STORE_ABSENT) return KK_ERR(UNKNOWN_LOT);
  if (rc) return rc;
  if (memcmp(l->owner, b->author, 32) != 0) return KK_ERR(NOT_OWNER);
  return 0;
}

void rules_spend_carry(const struct lot *l, uint64_t m, uint64_t *post, uint64_t *pre)
{
  /* The recycled total is carried in proportion, ⌊m × (post + pre) / mass⌋ of what is
   * left, and split with post-consumer first: flooring each kind on its own could leave
   * more recycled mass in the lot than mass (3 mg holding 1 post + 2 pre, spend 1 mg:
   * each kind's floor is 0, and 2 mg would hold 3). */
  uint64_t recycled = l->post_left + l->pre_left;
  uint64_t total = mul_div_floor(m, recycled, l->mass_left);
  *post = mul_div_floor(m, l->post_left, l->mass_left);
  *pre = total - *post;
  assert(m <= l->mass_left && *post <= l->post_left && *pre <= l->pre_left);
  assert(total <= m && recycled - total <= l->mass_left - m); /* both lots within their mass */
}

/* The waits of one feed (pending: dependency(33) || feed), collected. */
struct waits_of { const uint8_t *feed; uint8_t (*keys)[65]; size_t n, cap; };

static int wait_of_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct waits_of *w = arg;
  (void)v;
  (void)vl;
  if (kl != 65 || memcmp((const uint8_t *)k + 33, w->feed, 32) != 0) return 0;
  if (w->n == w->cap) {
    size_t cap = w->cap ? w->cap * 2 : 4;
    void *p = mem_realloc(w->keys, cap * 65);
    if (!p) return -ENOMEM;
    w->keys = p;
    w->cap = cap;
  }
  memcpy(w->keys[w->n++], k, 65);
  return 0;
}

/* Forgets what feed waits for and queues it to be evaluated again. `pending` is keyed
 * by what is waited for, so this scans it; it is called on suspensions only (rare), and
 * `pending` holds one entry per waiting feed. */
int rules_unwait(struct rules_ctx *c, const uint8_t feed[32])
{
  struct waits_of w = { feed, NULL, 0, 0 };
  int rc = store_each(c->txn, c->s, STORE_DB_PENDING, NULL, 0, wait_of_one, &w);
  for (size_t i = 0; i < w.n && !rc; i++) rc = store_del(c->txn, c->s, STORE_DB_PENDING, w.keys[i], 65);
  mem_free(w.keys);
  return rc ? rc : rules_push(c, feed);
}

/* 0 when the author holds one of roles, KK_E_ROLE when not; a storage error is
 * returned as it is — it must abort the evaluation, never become a ROLE verdict. */
static int need_role(struct rules_ctx *c, const struct kk_body *b, uint32_t roles)
{
  struct member m;
  int rc = rules_member_get(c->txn, c->s, b->author, &m);
  if (rc == STORE_ABSENT) return KK_ERR(ROLE);
  if (rc) return rc;
  return (m.roles & roles) ? 0 : KK_ERR(ROLE);
}

/* ---- the rules --------------------------------------------------------------------- */

static int rule_genesis(struct rules_ctx *c, const struct kk_body *b)
{
  if (!c->have_registry || memcmp(b->author, c->registry, 32) != 0 || b->seq != 1)
    return KK_ERR(GENESIS);
  struct member m;
  memset(&m, 0, sizeof m);
  memcpy(m.name, "registry", sizeof "registry");
  m.roles = KK_ROLE_REGISTRY;
  return derived_member_put(c, b->author, &m);
}

static int rule_admit(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_admit *a = &b->u.admit;
  struct member m;
  if (memcmp(b->author, c->registry, 32) != 0) return KK_ERR(NOT_REGISTRY);
  if (memcmp(a->member, c->registry, 32) == 0) return KK_ERR(ALREADY_MEMBER);
  int rc = rules_member_get(c->txn, c->s, a->member, &m);
  if (rc == 0) return KK_ERR(ALREADY_MEMBER);
  if (rc != STORE_ABSENT) return rc;
  if (!a->roles || (a->roles & ~KK_ROLE_ALL) || !a->name[0]) return KK_ERR(FIELD);
  if (a->country[0] && (rc = rules_check_country(a->country))) return rc;
  if (!a->has_succeeds && a->from_seq) return KK_ERR(FIELD); /* a point names a member succeeded */
  if (a->has_succeeds && (rc = succession_check(c, a))) return rc;
  memset(&m, 0, sizeof m);
  memcpy(m.name, a->name, sizeof m.name);
  m.roles = a->roles;
  memcpy(m.country, a->country, 3);
  memcpy(m.admitted_by, id, 32);
  if ((rc = derived_member_put(c, a->member, &m))) return rc; /* the engine wakes feeds waiting for it */
  return a->has_succeeds ? succession_apply(c, a) : 0;
}

static int rule_suspend(struct rules_ctx *c, const struct kk_body *b)
{
  const struct kk_suspend *x = &b->u.suspend;
  struct member m;
  if (memcmp(b->author, c->registry, 32) != 0) return KK_ERR(NOT_REGISTRY);
  int rc = rules_member_get(c->txn, c->s, x->member, &m);
  if (rc == STORE_ABSENT || (rc == 0 && (m.roles & KK_ROLE_REGISTRY))) return KK_ERR(UNKNOWN_MEMBER);
  if (rc) return rc;
  if (x->from_seq == 0) return KK_ERR(FIELD);
  if (m.suspended_from == 0 || x->from_seq < m.suspended_from) m.suspended_from = x->from_seq;
  if ((rc = derived_member_put(c, x->member, &m))) return rc;
  /* A record of the member's that waits for a dependency is suspended now, as it would
   * have been had the suspension come first: evaluate the feed again. */
  if ((rc = rules_unwait(c, x->member))) return rc;
  /* Did we already apply records the suspension now invalidates? */
  const void *v;
  size_t n;
  rc = store_get(c->txn, c->s, STORE_DB_CURSORS, x->member, 32, &v, &n);
  if (rc == 0 && n == 8 && be64_get(v) >= m.suspended_from) c->rebuild = 1;
  return rc == STORE_ABSENT ? 0 : rc;
}

static int rule_issue(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_issue *x = &b->u.issue;
  uint64_t rc_total;
  int rc;
  if ((rc = need_role(c, b, KK_ROLE_RECYCLER))) return rc;
  if (x->mass_mg == 0) return KK_ERR(ZERO_MASS);
  if ((rc = add_u64(x->post_mg, x->pre_mg, &rc_total))) return rc;
  if (rc_total > x->mass_mg) return KK_ERR(RC_EXCEEDS);
  if ((rc = rules_check_country(x->origin))) return rc;
  if (!x->lot_code[0] || !x->material[0] || !x->scheme[0] || !x->certificate[0]) return KK_ERR(FIELD);
  if ((rc = material_check(x->material))) return rc;
  if (x->model < KK_MODEL_MASS_BALANCE || x->model > KK_MODEL_IDENTITY_PRESERVED) return KK_ERR(MODEL);
  if ((rc = derived_code_taken(c, b->author, x->lot_code)) != 0) return rc > 0 ? KK_ERR(DUP_CODE) : rc;

  struct lot l;
  uint8_t key[36];
  lot_init(&l);
  memcpy(l.owner, b->author, 32);
  memcpy(l.code, x->lot_code, sizeof l.code);
  memcpy(l.material, x->material, sizeof l.material);
  l.model = x->model;
  l.origin_kind = KK_PL_ISSUE;
  l.mass = l.mass_left = x->mass_mg;
  l.post = l.post_left = x->post_mg;
  l.pre = l.pre_left = x->pre_mg;
  lotkey_make(key, id, 0);
  if (!(rc = derived_lot_put(c, key, &l))) rc = derived_code_put(c, b->author, x->lot_code, key);
  lot_free(&l);
  return rc;
}

static int rule_transfer(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_transfer *x = &b->u.transfer;
  uint8_t key[36];
  struct lot l;
  struct member to;
  struct xfer t;
  int rc;
  lot_init(&l);
  xfer_init(&t);
  uint8_t pos[STORE_LOTPOS];
  if ((rc = load_own_lot(c, b, &x->lot, key, pos, &l))) goto done;
  if (x->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
  if (x->mass_mg > l.mass_left) { rc = KK_ERR(OVERSPEND); goto done; }
  if (memcmp(x->to, b->author, 32) == 0) { rc = KK_ERR(SELF_TRANSFER); goto done; }
  rc = rules_member_get(c->txn, c->s, x->to, &to);
  if (rc == STORE_ABSENT) {
    /* The registry cannot receive; anyone else may simply not be admitted here yet. */
    rc = memcmp(x->to, c->registry, 32) == 0 ? KK_ERR(UNKNOWN_MEMBER) : rules_wait(c, DEP_ADMIT, x->to);
    goto done;
  }
  if (rc) goto done;
  if (to.roles & KK_ROLE_REGISTRY) { rc = KK_ERR(UNKNOWN_MEMBER); goto done; }

  memcpy(t.from_lot, key, 36);
  memcpy(t.sender, b->author, 32);
  memcpy(t.to, x->to, 32);
  memcpy(t.code, l.code, sizeof t.code);
  memcpy(t.material, l.material, sizeof t.material);
  t.model = l.model;
  t.mass = x->mass_mg;
  rules_spend_carry(&l, x->mass_mg, &t.post, &t.pre);
  t.state = XFER_PENDING;
  l.mass_left -= t.mass;
  l.post_left -= t.post;
  l.pre_left -= t.pre;
  if ((rc = derived_lot_put(c, key, &l)) || (rc = derived_xfer_put(c, id, &t))) goto done;
  rc = derived_spend_put(c, pos, b->seq, SPEND_TRANSFER, t.mass, t.post, t.pre);
done:
  lot_free(&l);
  xfer_free(&t);
  return rc;
}

/* Receive and Refuse: close a pending transfer, creating a lot for the recipient
 * (receive) or back for the sender (refuse). The refused lot is created by the
 * recipient's record, so the sender's later spend of it names that record and waits
 * for it: no feed's outcome depends on when another feed's record arrived. */
static int rule_close_transfer(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32],
                               const uint8_t transfer[32], int receive)
{
  struct rules_status st;
  struct xfer t;
  struct lot l;
  uint8_t key[36];
  int rc = evaluated(c, transfer, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, transfer);
  xfer_init(&t);
  lot_init(&l);
  uint64_t xseq; /* the Transfer's seq in the sender's feed: what spent the lot */
  rc = derived_xfer_get(c, transfer, &t, &xseq);
  if (rc == STORE_ABSENT) { rc = KK_ERR(UNKNOWN_TRANSFER); goto done; }
  if (rc) goto done;
  /* The recipient, or (a transfer still pending to a member succeeded) its successor. */
  if (memcmp(t.to, b->author, 32) != 0 && (rc = succession_is_heir(c, t.to, b->author)) != 1) {
    if (rc == 0) rc = KK_ERR(NOT_RECIPIENT);
    goto done;
  }
  if (t.state != XFER_PENDING) { rc = KK_ERR(TRANSFER_CLOSED); goto done; }

  const uint8_t *owner = receive ? b->author : t.sender;
  memcpy(l.owner, owner, 32);
  memcpy(l.code, t.code, sizeof l.code);
  memcpy(l.material, t.material, sizeof l.material);
  l.model = t.model;
  l.origin_kind = receive ? KK_PL_RECEIVE : KK_PL_REFUSE;
  l.mass = l.mass_left = t.mass;
  l.post = l.post_left = t.post;
  l.pre = l.pre_left = t.pre;
  lotkey_make(key, id, 0);
  t.state = receive ? XFER_RECEIVED : XFER_REFUSED;
  memcpy(t.closed_by, id, 32);
  if ((rc = derived_lot_put(c, key, &l)) || (rc = derived_code_put(c, owner, l.code, key))) goto done;
  uint8_t from[STORE_LOTPOS];
  if ((rc = derived_lot_pos(c, t.from_lot, from)) || (rc = derived_made_put(c, b, 0, from, xseq))) goto done;
  if ((rc = derived_xfer_put(c, transfer, &t))) goto done;
  /* A refund to a member whose successor has inherited goes on to the successor. */
  if (!receive) rc = succession_pass_on(c, key, &l);
done:
  xfer_free(&t);
  lot_free(&l);
  return rc;
}

struct tf_input { uint8_t key[36], pos[STORE_LOTPOS]; struct lot lot; uint64_t m, post, pre; };

static int rule_transform(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_transform *x = &b->u.transform;
  struct tf_input *in = mem_calloc(CODEC_IO_MAX, sizeof *in);
  uint64_t sum_in = 0, sum_out = 0, sum_post = 0, sum_pre = 0;
  uint32_t out_model = x->model;
  int rc = 0;
  if (!in) return -ENOMEM;

  if ((rc = need_role(c, b, KK_ROLE_PROCESSOR | KK_ROLE_MANUFACTURER))) goto done;
  if (x->model < KK_MODEL_MASS_BALANCE || x->model > KK_MODEL_SEGREGATED) { rc = KK_ERR(MODEL); goto done; }
  if (x->n_inputs == 0 || x->n_outputs == 0) { rc = KK_ERR(FIELD); goto done; }
  if (x->model == KK_MODEL_SEGREGATED && x->n_unledgered) { rc = KK_ERR(SEGREGATED_UNLEDGERED); goto done; }

  for (size_t i = 0; i < x->n_inputs; i++) {
    if ((rc = load_own_lot(c, b, &x->inputs[i].lot, in[i].key, in[i].pos, &in[i].lot))) { goto done; }
    for (size_t j = 0; j < i; j++)
      if (memcmp(in[j].key, in[i].key, 36) == 0) { rc = KK_ERR(DUP_INPUT); goto done; }
    in[i].m = x->inputs[i].mass_mg;
    if (in[i].m == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    if (in[i].m > in[i].lot.mass_left) { rc = KK_ERR(OVERSPEND); goto done; }
    rules_spend_carry(&in[i].lot, in[i].m, &in[i].post, &in[i].pre);
    if ((rc = add_u64(sum_in, in[i].m, &sum_in))) { goto done; }
    sum_post += in[i].post; /* cannot overflow: bounded by sum_in */
    sum_pre += in[i].pre;
    if (in[i].lot.model < out_model) out_model = in[i].lot.model;
    /* Mass balance moves credit within one material group (the form may change). */
    if (x->model == KK_MODEL_MASS_BALANCE && !material_same_group(in[i].lot.material, in[0].lot.material)) {
      rc = KK_ERR(MATERIAL_MIX); goto done;
    }
  }
  for (size_t i = 0; i < x->n_unledgered; i++) {
    const struct kk_unledgered *u = &x->unledgered[i];
    if (u->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    if (!u->material[0]) { rc = KK_ERR(FIELD); goto done; }
    if ((rc = material_check(u->material))) goto done;
    if (x->model == KK_MODEL_MASS_BALANCE && !material_same_group(u->material, in[0].lot.material)) {
      rc = KK_ERR(MATERIAL_MIX); goto done;
    }
    if ((rc = rules_check_country(u->origin))) goto done;
    if ((rc = add_u64(sum_in, u->mass_mg, &sum_in))) goto done;
  }
  uint64_t decl_post = 0, decl_pre = 0;
  for (size_t k = 0; k < x->n_outputs; k++) {
    const struct kk_output *o = &x->outputs[k];
    uint64_t r;
    if (!o->lot_code[0] || !o->material[0]) { rc = KK_ERR(FIELD); goto done; }
    if ((rc = material_check(o->material))) goto done;
    if (o->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    for (size_t j = 0; j < k; j++)
      if (strcmp(x->outputs[j].lot_code, o->lot_code) == 0) { rc = KK_ERR(DUP_CODE); goto done; }
    if ((rc = derived_code_taken(c, b->author, o->lot_code)) != 0) { if (rc > 0) rc = KK_ERR(DUP_CODE); goto done; }
    if ((rc = add_u64(sum_out, o->mass_mg, &sum_out))) goto done;
    if (x->model == KK_MODEL_MASS_BALANCE) {
      if (!material_same_group(o->material, in[0].lot.material)) { rc = KK_ERR(MATERIAL_MIX); goto done; }
      if ((rc = add_u64(o->post_mg, o->pre_mg, &r))) goto done;
      if (r > o->mass_mg) { rc = KK_ERR(RC_EXCEEDS); goto done; }
      if ((rc = add_u64(decl_post, o->post_mg, &decl_post)) || (rc = add_u64(decl_pre, o->pre_mg, &decl_pre))) goto done;
    } else if (o->post_mg || o->pre_mg) {
      rc = KK_ERR(DECLARED_RC);
      goto done;
    }
  }
  if (sum_out > sum_in) { rc = KK_ERR(CONSERVATION); goto done; }
  if (x->model == KK_MODEL_MASS_BALANCE) {
    /* Losses come off first (the yield), then credit is allocated freely, per kind. */
    if (decl_post > mul_div_floor(sum_post, sum_out, sum_in) ||
        decl_pre > mul_div_floor(sum_pre, sum_out, sum_in)) {
      rc = KK_ERR(MB_OVERDRAFT);
      goto done;
    }
  }

  /* Effects: take every input, then create every output. */
  for (size_t i = 0; i < x->n_inputs; i++) {
    struct lot *l = &in[i].lot;
    l->mass_left -= in[i].m;
    l->post_left -= in[i].post;
    l->pre_left -= in[i].pre;
    if ((rc = derived_lot_put(c, in[i].key, l)) ||
        (rc = derived_spend_put(c, in[i].pos, b->seq, SPEND_TRANSFORM, in[i].m, in[i].post, in[i].pre)) ||
        (rc = derived_made_put(c, b, (uint16_t)i, in[i].pos, b->seq)))
      goto done;
  }
  if (x->n_unledgered && (rc = derived_made_put(c, b, RULES_MADE_UNLEDGERED, NULL, b->seq))) goto done;
  for (size_t k = 0; k < x->n_outputs; k++) {
    const struct kk_output *o = &x->outputs[k];
    struct lot l;
    uint8_t key[36];
    lot_init(&l);
    memcpy(l.owner, b->author, 32);
    memcpy(l.code, o->lot_code, sizeof l.code);
    memcpy(l.material, o->material, sizeof l.material);
    l.model = out_model;
    l.origin_kind = KK_PL_TRANSFORM;
    l.mass = l.mass_left = o->mass_mg;
    if (x->model == KK_MODEL_MASS_BALANCE) {
      l.post = o->post_mg;
      l.pre = o->pre_mg;
    } else {
      /* Proportional: losses never raise the percentage. */
      l.post = mul_div_floor(o->mass_mg, sum_post, sum_in);
      l.pre = mul_div_floor(o->mass_mg, sum_pre, sum_in);
    }
    l.post_left = l.post;
    l.pre_left = l.pre;
    lotkey_make(key, id, (uint32_t)k);
    if (!(rc = derived_lot_put(c, key, &l))) rc = derived_code_put(c, b->author, l.code, key);
    lot_free(&l);
    if (rc) goto done;
  }
done:
  for (size_t i = 0; i < CODEC_IO_MAX; i++) lot_free(&in[i].lot); /* calloc'd: all safe */
  mem_free(in);
  return rc;
}

static int rule_claim(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_claim *x = &b->u.claim;
  uint8_t key[36];
  struct lot l;
  int rc;
  lot_init(&l);
  if ((rc = need_role(c, b, KK_ROLE_MANUFACTURER))) goto done;
  uint8_t pos[STORE_LOTPOS];
  if ((rc = load_own_lot(c, b, &x->lot, key, pos, &l))) goto done;
  if (x->share_ppm == 0 || x->share_ppm > PPM) { rc = KK_ERR(SHARE); goto done; }
  if (l.mass_left == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
  /* The claim covers what the owner still holds; rounding up charges the claimant. */
  uint64_t claimed = (uint64_t)(((unsigned __int128)l.mass_left * x->share_ppm + PPM - 1) / PPM);
  uint64_t avail = l.post_left + l.pre_left;
  if (claimed > avail) { rc = KK_ERR(CLAIM_EXCEEDS); goto done; }
  uint64_t post = mul_div_floor(claimed, l.post_left, avail);
  uint64_t pre = claimed - post;
  /* Claimed credit is spent: it never travels downstream to be claimed again. */
  l.post_left -= post;
  l.pre_left -= pre;
  l.claimed += claimed;
  if ((rc = derived_lot_put(c, key, &l)) || (rc = derived_spend_put(c, pos, b->seq, SPEND_CLAIM, 0, post, pre))) goto done;

  struct claim_state cs;
  struct buf buf;
  uint8_t ck[44];
  memset(&cs, 0, sizeof cs);
  memcpy(cs.id, id, 32);
  memcpy(cs.author, b->author, 32);
  cs.share_ppm = x->share_ppm;
  cs.claimed = claimed;
  memcpy(cs.scope, x->scope, sizeof cs.scope);
  memcpy(ck, key, 36);
  be64_put(ck + 36, b->seq);
  buf_init(&buf);
  claim_encode(&buf, &cs);
  rc = derived_put_buf(c, STORE_DB_CLAIMS, ck, 44, &buf);
done:
  lot_free(&l);
  return rc;
}

static int rule_attest(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  struct rules_status st;
  int rc = need_role(c, b, KK_ROLE_CERTIFIER);
  if (rc) return rc;
  rc = evaluated(c, b->u.attest.record, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, b->u.attest.record);
  if (st.verdict != RULES_VALID) return KK_ERR(UNKNOWN_RECORD);
  uint8_t k[64];
  memcpy(k, b->u.attest.record, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s, STORE_DB_ATTESTS, k, 64, "", 0);
}

static int rule_revoke(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const uint8_t *target = b->u.revoke.record;
  struct rules_status st;
  uint8_t target_author[32];
  int rc = evaluated(c, target, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, target);
  if (st.verdict != RULES_VALID) return KK_ERR(UNKNOWN_RECORD);
  int kind;
  const uint8_t *env;
  size_t len;
  if ((rc = derived_record_by_id(c, target, target_author, NULL, &env, &len)) || (rc = derived_record_kind(env, len, &kind))) return rc;
  if (kind != KK_PL_ISSUE && kind != KK_PL_ATTEST && kind != KK_PL_CLAIM) return KK_ERR(REVOKE_TARGET);
  if (memcmp(target_author, b->author, 32) != 0 && (rc = need_role(c, b, KK_ROLE_CERTIFIER)))
    return rc == KK_ERR(ROLE) ? KK_ERR(REVOKE_TARGET) : rc;
  /* Revocations form a set: each party that may revoke a record revokes it once, and no
   * revocation replaces another, so the state does not depend on which feed's revocation
   * was evaluated first (a "first revoke wins" table once did). Only this author's own
   * earlier revocation, in its own feed's order, makes this one redundant. */
  uint8_t (*ids)[32] = NULL;
  size_t n = 0;
  if ((rc = rules_revocations(c->txn, c->s, target, &ids, &n))) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    uint8_t by[32];
    if ((rc = derived_record_by_id(c, ids[i], by, NULL, NULL, NULL))) break;
    if (memcmp(by, b->author, 32) == 0) rc = KK_ERR(ALREADY_REVOKED);
  }
  mem_free(ids);
  if (rc) return rc;
  uint8_t k[64];
  memcpy(k, target, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s, STORE_DB_REVOKED, k, 64, "", 0);
}


static int rule_incident(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  if (!b->u.incident.kind[0]) return KK_ERR(FIELD);
  uint8_t k[64];
  memcpy(k, b->u.incident.about, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s, STORE_DB_INCIDENTS, k, 64, "", 0);
}

/* ---- the engine -------------------------------------------------------------------- */

/* Evaluates one record: 0 valid (effects applied), RULE_WAIT, a Kiroku rule error
 * (invalid), or another negative code (storage error: abort). */
static int rules_eval(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  int from_registry = c->have_registry && memcmp(b->author, c->registry, 32) == 0;
  if (b->kind == KK_PL_GENESIS) return rule_genesis(c, b);
  if (from_registry) {
    switch (b->kind) {
    case KK_PL_ADMIT: return rule_admit(c, b, id);
    case KK_PL_SUSPEND: return rule_suspend(c, b);
    case KK_PL_ROTATE_KEY: return 0;
    case KK_PL_INCIDENT: return rule_incident(c, b, id);
    default: return KK_ERR(ROLE);
    }
  }
  struct member m;
  int rc = rules_member_get(c->txn, c->s, b->author, &m);
  if (rc == STORE_ABSENT) return rules_wait(c, DEP_ADMIT, b->author);
  if (rc) return rc;
  if (m.suspended_from && b->seq >= m.suspended_from) return KK_ERR(SUSPENDED);
  /* A successor's records wait for its inheritance (succession.c). */
  if (m.inherit == INHERIT_PENDING) return rules_wait(c, DEP_INHERIT, b->author);
  switch (b->kind) {
  case KK_PL_ADMIT: case KK_PL_SUSPEND: return KK_ERR(NOT_REGISTRY);
  case KK_PL_ROTATE_KEY: return 0; /* checked on arrival: the signing key changes */
  case KK_PL_ISSUE: return rule_issue(c, b, id);
  case KK_PL_TRANSFER: return rule_transfer(c, b, id);
  case KK_PL_RECEIVE: return rule_close_transfer(c, b, id, b->u.receive.transfer, 1);
  case KK_PL_REFUSE: return rule_close_transfer(c, b, id, b->u.refuse.transfer, 0);
  case KK_PL_TRANSFORM: return rule_transform(c, b, id);
  case KK_PL_CLAIM: return rule_claim(c, b, id);
  case KK_PL_ATTEST: return rule_attest(c, b, id);
  case KK_PL_REVOKE: return rule_revoke(c, b, id);
  case KK_PL_INCIDENT: return rule_incident(c, b, id);
  default: return KK_ERR(NO_PAYLOAD);
  }
}

/* A feed waiting (pending: dependency(33) || feed), queued. */
static int waiter_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)v;
  (void)vl;
  if (kl != 65) return KK_ERR(CORRUPT);
  return rules_push(arg, (const uint8_t *)k + 33);
}

/* Wakes every feed waiting on dep: moves them from `pending` to the queue. */
int rules_wake(struct rules_ctx *c, uint8_t tag, const uint8_t what[32])
{
  uint8_t dep[33];
  dep[0] = tag;
  memcpy(dep + 1, what, 32);
  size_t first = c->qn;
  int rc = store_each(c->txn, c->s, STORE_DB_PENDING, dep, 33, waiter_one, c);
  if (rc) return rc;
  /* Then forget the waits (deleting while iterating is not worth the subtlety). */
  for (size_t i = first; i < c->qn; i++) {
    uint8_t key[65];
    memcpy(key, dep, 33);
    memcpy(key + 33, c->queue[i], 32);
    if ((rc = store_del(c->txn, c->s, STORE_DB_PENDING, key, 65))) return rc;
  }
  return 0;
}

int rules_cursor_get(struct rules_ctx *c, const uint8_t feed[32], uint64_t *applied)
{
  const void *v;
  size_t n;
  int rc = store_get(c->txn, c->s, STORE_DB_CURSORS, feed, 32, &v, &n);
  if (rc == STORE_ABSENT) { *applied = 0; return 0; }
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  *applied = be64_get(v);
  return 0;
}

unsigned long rules_judged;

/* The record at (feed, seq) if the batch being committed brought it, else NULL. */
static const struct rules_fresh *fresh_at(const struct rules_ctx *c, const uint8_t feed[32], uint64_t seq)
{
  size_t lo = 0, hi = c->nfresh;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    const struct rules_fresh *f = &c->fresh[mid];
    int d = memcmp(f->author, feed, 32);
    if (d == 0) d = (f->seq > seq) - (f->seq < seq);
    if (d == 0) return f;
    if (d < 0) lo = mid + 1;
    else hi = mid;
  }
  return NULL;
}

/* Evaluates feed from its cursor until its head or a wait. */
static int rules_run_feed(struct rules_ctx *c, const uint8_t feed[32])
{
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  int rc;
  for (;;) {
    struct store_head h;
    uint64_t applied;
    if ((rc = store_head_get(c->txn, c->s, feed, &h))) { if (rc == STORE_ABSENT) rc = 0; break; }
    if ((rc = rules_cursor_get(c, feed, &applied))) break;
    /* A feed with evidence of equivocation stops before its fork point. */
    uint64_t frozen;
    if ((rc = store_frozen_at(c->txn, c->s, feed, &frozen))) break;
    if (frozen && h.seq >= frozen) h.seq = frozen - 1;
    if (applied >= h.seq) { rc = 0; break; }
    /* The next record held: applied + 1 in a replica; a proof bundle's store holds
     * only the records a lot's provenance needs, so it skips the gaps. */
    const uint8_t *env;
    size_t len;
    uint8_t id[32];
    uint64_t next;
    const struct rules_fresh *fr = fresh_at(c, feed, applied + 1);
    if (fr) { /* as the batch brought it: neither read nor hashed again */
      next = fr->seq;
      env = fr->env;
      len = fr->len;
      memcpy(id, fr->id, 32);
    } else {
      if ((rc = store_record_next(c->txn, c->s, feed, applied + 1, &next, &env, &len))) break;
      if (next > h.seq) { rc = 0; break; }
      sig_sha256(id, env, len);
    }
    derived_known_add(c, id, feed, next);
    if ((rc = codec_envelope_body_stored(env, len, b))) {
      if (rc != -ENOMEM) rc = KK_ERR(CORRUPT); /* stored records were checked on arrival */
      break;
    }
    int verdict = rules_eval(c, b, id);
    rules_judged++;
    if (verdict == RULE_WAIT) {
      uint8_t k[65];
      memcpy(k, c->dep, 33);
      memcpy(k + 33, feed, 32);
      rc = store_put(c->txn, c->s, STORE_DB_PENDING, k, 65, "", 0);
      break;
    }
    if (verdict < 0 && !kk_err_is_input(verdict)) { rc = verdict; break; }
    if ((rc = derived_status_put(c, feed, next, verdict, (uint8_t)b->kind))) break;
    uint8_t cv[8];
    be64_put(cv, next);
    if ((rc = store_put(c->txn, c->s, STORE_DB_CURSORS, feed, 32, cv, 8))) break;
    if ((rc = rules_wake(c, DEP_RECORD, id))) break;
    if (verdict == 0 && b->kind == KK_PL_ADMIT && (rc = rules_wake(c, DEP_ADMIT, b->u.admit.member))) break;
  }
  mem_free(b);
  /* Where the feed stops, a succession may hand over its member's lots. */
  return rc ? rc : succession_settle(c, feed);
}

static int rules_load_registry(struct rules_ctx *c)
{
  const void *v;
  size_t n;
  int rc = store_meta_get(c->txn, c->s, "registry", &v, &n);
  if (rc == STORE_ABSENT) return 0;
  if (rc) return rc;
  if (n != 32) return KK_ERR(CORRUPT);
  memcpy(c->registry, v, 32);
  c->have_registry = 1;
  return 0;
}

static int rules_drain(struct rules_ctx *c)
{
  int rc = 0;
  while (c->qn && rc == 0) {
    uint8_t feed[32];
    memcpy(feed, c->queue[--c->qn], 32);
    rc = rules_run_feed(c, feed);
  }
  return rc;
}

static int feed_push_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  (void)h;
  return rules_push(arg, author);
}

static int rules_rebuild_ctx(struct rules_ctx *c)
{
  int rc;
  c->qn = 0;
  c->rebuild = 0;
  if ((rc = store_clear_derived(c->txn, c->s))) return rc;
  /* The registry first, so every suspension is known before any member record. */
  if (c->have_registry && ((rc = rules_push(c, c->registry)) || (rc = rules_drain(c)))) return rc;
  if ((rc = store_heads_each(c->txn, c->s, feed_push_one, c)) || (rc = rules_drain(c))) return rc;
  return c->rebuild ? KK_ERR(INTERNAL) : 0; /* cannot happen: registry went first */
}

int rules_advance(struct store *s, struct store_txn *txn, const uint8_t (*feeds)[32], size_t n)
{
  return rules_advance_fresh(s, txn, feeds, n, NULL, 0);
}

int rules_advance_fresh(struct store *s, struct store_txn *txn, const uint8_t (*feeds)[32], size_t n,
                        const struct rules_fresh *fresh, size_t nfresh)
{
  struct rules_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.txn = txn;
  c.fresh = fresh;
  c.nfresh = nfresh;
  int rc = rules_load_registry(&c);
  for (size_t i = 0; i < n && rc == 0; i++) rc = rules_push(&c, feeds[i]);
  if (rc == 0) rc = rules_drain(&c);
  if (rc == 0 && c.rebuild) rc = rules_rebuild_ctx(&c);
  mem_free(c.queue);
  mem_free(c.known);
  return rc;
}

int rules_rebuild(struct store *s, struct store_txn *txn)
{
  struct rules_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.txn = txn;
  int rc = rules_load_registry(&c);
  if (rc == 0) rc = rules_rebuild_ctx(&c);
  mem_free(c.queue);
  mem_free(c.known);
  return rc;
}

static int rules_upgrade_fn(struct store_txn *txn, void *ctx)
{
  struct store *s = ctx;
  uint8_t layout[4];
  be32_put(layout, STORE_LAYOUT);
  int rc = rules_rebuild(s, txn);
  return rc ? rc : store_meta_put(txn, s, "layout", layout, 4);
}

int rules_upgrade(struct store *s)
{
  int rc = store_migrate_log(s, tree_migrate, NULL, NULL); /* a log kept by author || seq first */
  if (rc) return rc;
  if (!store_derived_stale(s)) return 0;
  rc = store_write(s, rules_upgrade_fn, s);
  if (rc == 0) store_derived_rebuilt(s);
  return rc;
}

