/*
 * attr — attribution vectors (declared in state.h): adding, merging, copying, and the
 * exact largest-remainder take that apportions a part of a vector (decision 6).
 */
#include "state.h"
#include "../base/mem.h"
#include "../base/err.h"

#include <assert.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

/* ---- attribution -------------------------------------------------------------- */

void attr_init(struct attr *a) { memset(a, 0, sizeof *a); }

void attr_free(struct attr *a)
{
  if (!a) return;
  mem_free(a->e);
  memset(a, 0, sizeof *a);
}

int attr_source_cmp(const void *a, const void *b)
{
  const struct attr_source *x = a, *y = b;
  int c = memcmp(x->id, y->id, 32);
  if (c) return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

int attr_add(struct attr *a, const struct attr_entry *e)
{
  size_t lo = 0, hi = a->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (a->e[mid].src < e->src) lo = mid + 1;
    else hi = mid;
  }
  uint64_t tm, tp, tr;
  if (add_u64(a->mass, e->mass, &tm) || add_u64(a->post, e->post, &tp) || add_u64(a->pre, e->pre, &tr))
    return KK_ERR(OVERFLOW); /* an entry cannot overflow when the totals do not */
  if (lo < a->n && a->e[lo].src == e->src) {
    struct attr_entry *x = &a->e[lo];
    x->mass += e->mass;
    x->post += e->post;
    x->pre += e->pre;
    a->mass = tm;
    a->post = tp;
    a->pre = tr;
    return 0;
  }
  if (a->n == a->cap) {
    size_t cap = a->cap ? a->cap * 2 : 4;
    struct attr_entry *ne = mem_realloc(a->e, cap * sizeof *ne);
    if (!ne) return -ENOMEM;
    a->e = ne;
    a->cap = cap;
  }
  memmove(&a->e[lo + 1], &a->e[lo], (a->n - lo) * sizeof *a->e);
  a->e[lo] = *e;
  a->n++;
  a->mass = tm;
  a->post = tp;
  a->pre = tr;
  return 0;
}

int attr_merge(struct attr *into, const struct attr *from)
{
  if (from->n == 0) return 0;
  if (into->n == 0) return attr_copy(into, from);
  if (from->n == 1) return attr_add(into, &from->e[0]);
  uint64_t tm, tp, tr;
  if (add_u64(into->mass, from->mass, &tm) || add_u64(into->post, from->post, &tp) ||
      add_u64(into->pre, from->pre, &tr))
    return KK_ERR(OVERFLOW); /* so no entry's sum overflows either */
  size_t n = into->n + from->n, i = 0, j = 0, w = 0;
  struct attr_entry *e = mem_alloc(n * sizeof *e);
  if (!e) return -ENOMEM;
  while (i < into->n || j < from->n) {
    const struct attr_entry *x = i < into->n ? &into->e[i] : NULL, *y = j < from->n ? &from->e[j] : NULL;
    if (x && (!y || x->src < y->src)) { e[w++] = *x; i++; continue; }
    if (!x || y->src < x->src) { e[w++] = *y; j++; continue; }
    struct attr_entry sum = *x;
    sum.mass += y->mass;
    sum.post += y->post;
    sum.pre += y->pre;
    e[w++] = sum;
    i++;
    j++;
  }
  mem_free(into->e);
  into->e = e;
  into->n = w;
  into->cap = n;
  into->mass = tm;
  into->post = tp;
  into->pre = tr;
  return 0;
}

int attr_copy(struct attr *dst, const struct attr *src)
{
  attr_free(dst);
  if (!src->n) return 0;
  dst->e = mem_alloc(src->n * sizeof *dst->e);
  if (!dst->e) return -ENOMEM;
  memcpy(dst->e, src->e, src->n * sizeof *dst->e);
  dst->n = dst->cap = src->n;
  dst->mass = src->mass;
  dst->post = src->post;
  dst->pre = src->pre;
  return 0;
}

/* Largest-remainder apportionment of one quantity (mass, post or pre) of a vector's
 * entries: target over the values v[0..n) (adding up to total) into out[0..n): out[i]
 * is ⌊v[i] × target / total⌋, plus one for the (target − Σ of those) entries with the
 * largest remainders, ties to the smaller index.
 *
 * This runs for every entry of every vector a verification replays, so it avoids
 * division and sorting: the quotient comes from a multiplication by the fixed-point
 * ratio ⌊target × 2^64 / total⌋, off by at most one and corrected exactly; and the
 * entries that get the extra unit are found by a radix selection on the remainders
 * (histograms of up to 11 bits at a time, only the bucket where the cut falls looked
 * at again). The three quantities of a take share one pass over the entries
 * (attr_take_as). The result is the textbook method's, bit for bit
 * (tests/unit/test_state.c compares them). */
#define ATTR_BUCKET_BITS 11

enum { SHARE_NONE, SHARE_ALL, SHARE_SOME, SHARE_WIDE };

struct share {
  int mode;                     /* none of it taken, all of it, or apportioned */
  uint64_t target, total, ratio, given;
  unsigned bits, shift;
  uint64_t *out, *rem;
  int select;                   /* share_cut: some units go by remainder */
  uint64_t cut, need;           /* share_cut: the cut bucket, the units left in it */
  uint32_t hist[1u << ATTR_BUCKET_BITS];
};

/* Prepares s for apportioning target of total over n entries (a vector's parts add up
 * to one lot's quantity or a transform's inputs, which the rules keep within 64 bits).
 * KK_E_INTERNAL when target exceeds total. */
static int share_init(struct share *s, uint64_t total, uint64_t target, size_t n, uint64_t *out, uint64_t *rem)
{
  s->out = out;
  s->rem = rem;
  s->target = target;
  s->total = total;
  s->given = 0;
  if (target > total) return KK_ERR(INTERNAL);
  if (target == total || target == 0) {
    s->mode = target == 0 ? SHARE_NONE : SHARE_ALL;
    return 0;
  }
  /* The remainder before the correction is below 2 × total, exact in 64 bits when the
   * total is below 2^63: two short multiplications instead of wide ones. (Any real
   * total: 2^63 mg is nine billion tonnes.) */
  s->mode = total < (1ull << 63) ? SHARE_SOME : SHARE_WIDE;
  /* About as many buckets as entries (the buckets are walked, too). */
  unsigned bb = n > 1 ? 64 - (unsigned)__builtin_clzll((uint64_t)n - 1) : 1;
  bb = bb < 4 ? 4 : bb > ATTR_BUCKET_BITS ? ATTR_BUCKET_BITS : bb;
  s->bits = 64 - (unsigned)__builtin_clzll(total);
  s->shift = s->bits > bb ? s->bits - bb : 0;
  s->ratio = (uint64_t)(((unsigned __int128)target << 64) / total); /* < 2^64: target < total */
  memset(s->hist, 0, sizeof s->hist[0] << (s->bits - s->shift));
  return 0;
}

/* The first pass of one or two shares over the entries (field: offsetof the quantity
 * in an entry): each entry's quotient and remainder, its remainder counted in its
 * bucket. The shares' fields are copied into locals, so that the stores into out and rem
 * (which the compiler must assume may alias them) do not reload them every entry. */
#define SHARE_LOCALS(P, s)                                                                   \
  const uint64_t P##ratio = (s)->ratio, P##target = (s)->target, P##total = (s)->total;      \
  const unsigned P##shift = (s)->shift;                                                      \
  uint64_t *const P##out = (s)->out, *const P##rem = (s)->rem;                              \
  uint32_t *const P##hist = (s)->hist;                                                       \
  uint64_t P##given = 0
#define SHARE_STEP(P, i, x)                                                                  \
  do {                                                                                       \
    uint64_t x_ = (x);                                                                       \
    uint64_t q_ = (uint64_t)(((unsigned __int128)x_ * P##ratio) >> 64);                      \
    uint64_t r_ = x_ * P##target - q_ * P##total; /* q is exact or one short */              \
    if (r_ >= P##total) { q_++; r_ -= P##total; }                                            \
    P##out[i] = q_;                                                                          \
    P##rem[i] = r_;                                                                          \
    P##hist[r_ >> P##shift]++;                                                               \
    P##given += q_;                                                                          \
  } while (0)

static void share_pass1(struct share *s, const struct attr_entry *e, size_t n, size_t field)
{
  SHARE_LOCALS(a_, s);
  for (size_t i = 0; i < n; i++) {
    uint64_t x;
    memcpy(&x, (const char *)&e[i] + field, sizeof x);
    SHARE_STEP(a_, i, x);
  }
  s->given = a_given;
}

/* Mass and post-consumer mass together: one read of each entry. */
static void share_pass_mass_post(struct share *m, struct share *p, const struct attr_entry *e, size_t n)
{
  SHARE_LOCALS(m_, m);
  SHARE_LOCALS(p_, p);
  for (size_t i = 0; i < n; i++) {
    SHARE_STEP(m_, i, e[i].mass);
    SHARE_STEP(p_, i, e[i].post);
  }
  m->given = m_given;
  p->given = p_given;
}

/* share_step for a total of 2^63 or more: the remainder in 128 bits. */
static void share_step_wide(struct share *s, size_t i, uint64_t x)
{
  unsigned __int128 p = (unsigned __int128)x * s->target;
  uint64_t q = (uint64_t)(((unsigned __int128)x * s->ratio) >> 64);
  unsigned __int128 r = p - (unsigned __int128)q * s->total; /* q is exact or one short */
  if (r >= s->total) { q++; r -= s->total; }
  s->out[i] = q;
  s->rem[i] = (uint64_t)r;
  s->hist[s->rem[i] >> s->shift]++;
  s->given += q;
}

/* Once every entry has been stepped: where the units left fall. The buckets are walked
 * from the top until they cover them: every entry above the cut bucket gets its unit;
 * the cut bucket's entries are the candidates for the `need` units left over, which
 * share_choose settles. */
static void share_cut(struct share *s, size_t n)
{
  s->select = 0;
  s->cut = UINT64_MAX; /* no bucket is above or at it */
  if (s->mode != SHARE_SOME && s->mode != SHARE_WIDE) return;
  uint64_t left = s->target - s->given;
  /* Each entry's remainder is below one unit, so fewer than n units are left — unless
   * the vector's totals are not the sum of its entries, which its operations never
   * allow; the walk below would then run off the histogram. */
  assert(left < n);
  (void)n;
  if (left == 0) return;
  const uint32_t *hist = s->hist;
  uint64_t above = 0, cut = (1u << (s->bits - s->shift)) - 1;
  /* four buckets a step first: the sums are independent, the walk's chain is not */
  while (cut >= 3) {
    uint64_t four = (uint64_t)hist[cut] + hist[cut - 1] + hist[cut - 2] + hist[cut - 3];
    if (above + four >= left) break;
    above += four;
    cut -= 4;
  }
  while (above + hist[cut] < left) above += hist[cut--];
  s->select = 1;
  s->cut = cut;
  s->need = left - above;
}

/* Which of a share's candidates (its n_cand entries in the cut bucket, in index order,
 * idx[k] the entry) get the `need` units left: their remainders' next bits split them
 * again, and so on down to single values; equal remainders — common, equal parts give
 * them — then go in index order. Calls give(arg, entry index) for each. work: n_cand words. */
static void share_choose(struct share *s, const size_t *idx, size_t n_cand, size_t *work,
                         void (*give)(void *, size_t), void *arg)
{
  const uint64_t *rem = s->rem;
  uint32_t *hist = s->hist;
  uint64_t need = s->need;
  unsigned shift = s->shift;
  size_t m = n_cand;
  for (size_t k = 0; k < m; k++) work[k] = k;
  while (shift > 0 && need > 0) {
    /* As many buckets as candidates again: walking and clearing 2^11 buckets for a
     * handful of candidates would cost more than the first pass over all entries. */
    unsigned cb = m > 1 ? 64 - (unsigned)__builtin_clzll((uint64_t)m - 1) : 1;
    cb = cb < 4 ? 4 : cb > ATTR_BUCKET_BITS ? ATTR_BUCKET_BITS : cb;
    unsigned s2 = shift > cb ? shift - cb : 0;
    uint64_t mask = (1ull << (shift - s2)) - 1;
    memset(hist, 0, sizeof hist[0] << (shift - s2));
    for (size_t k = 0; k < m; k++) hist[(rem[idx[work[k]]] >> s2) & mask]++;
    size_t above = 0;
    uint64_t cut = mask;
    while (above + hist[cut] < need) above += hist[cut--];
    size_t w = 0;
    for (size_t k = 0; k < m; k++) {
      uint64_t bkt = (rem[idx[work[k]]] >> s2) & mask;
      if (bkt > cut) give(arg, idx[work[k]]);
      work[w] = work[k];
      w += bkt == cut;
    }
    m = w;
    need -= above;
    shift = s2;
  }
  for (size_t k = 0; k < need; k++) give(arg, idx[work[k]]); /* equal remainders: smaller index first */
}

void attr_scratch_free(struct attr_scratch *sc)
{
  mem_free(sc->v);
  mem_free(sc->shares);
  sc->v = NULL;
  sc->shares = NULL;
  sc->cap = 0;
}

/* A unit given to a candidate of one share: added to its entry in taken, taken from
 * its entry in what is kept (both still at the entry's index); the counts of empty
 * entries follow. */
struct give_ctx {
  struct attr_entry *taken, *rest;
  size_t field;                 /* offsetof the quantity */
  size_t *empty_taken, *empty_rest;
};

static int entry_empty(const struct attr_entry *e) { return !(e->mass | e->post | e->pre); }

static void give_unit(void *arg, size_t i)
{
  struct give_ctx *g = arg;
  uint64_t v;
  struct attr_entry *te = &g->taken[i];
  *g->empty_taken -= entry_empty(te);
  memcpy(&v, (char *)te + g->field, sizeof v);
  v++;
  memcpy((char *)te + g->field, &v, sizeof v);
  if (g->rest) {
    struct attr_entry *re = &g->rest[i];
    memcpy(&v, (char *)re + g->field, sizeof v);
    v--;
    memcpy((char *)re + g->field, &v, sizeof v);
    *g->empty_rest += entry_empty(re);
  }
}

/* Drops the entries left empty. */
static size_t compact(struct attr_entry *e, size_t n)
{
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    e[w] = e[i];
    w += !entry_empty(&e[i]);
  }
  return w;
}

/* What write_parts hands back: the candidates of each quantity, the empty entries of
 * taken and of the rest, and what was taken of each quantity so far. */
struct parts_out {
  struct attr_entry *te;
  size_t kc[3], empty_t, empty_r;
  uint64_t sum[3];
};

/* The one pass that writes the parts, each at its entry's index: the quotient, plus a
 * unit when the remainder is above its quantity's cut bucket; the entries in a cut
 * bucket are noted (idx) for share_choose. The rest goes back into e when keep_rest.
 * keep_rest and pre_too are constants at every call, so that each variant is compiled
 * with only the work it does (pre_too: the pre-consumer share is not all zero). */
static inline __attribute__((always_inline)) void write_parts(struct share *const all[3], struct attr_entry *e, size_t n,
                                                              size_t *const idx[3], struct parts_out *po,
                                                              const int keep_rest, const int pre_too)
{
  const struct share *sm = all[0], *sp = all[1], *sr = all[2];
  const unsigned shm = sm->shift, shp = sp->shift, shr = sr->shift;
  const uint64_t cm = sm->cut, cp = sp->cut, cr = sr->cut;
  const int selm = sm->select, selp = sp->select, selr = sr->select;
  const uint64_t *rm = sm->rem, *rp = sp->rem, *rr = sr->rem;
  const uint64_t *om = sm->out, *op = sp->out, *orr = sr->out;
  size_t *im = idx[0], *ip = idx[1], *ir = idx[2];
  struct attr_entry *te = po->te;
  size_t km = 0, kp = 0, kr = 0, empty_t = 0, empty_r = 0;
  uint64_t sum_m = 0, sum_p = 0, sum_r = 0;
  for (size_t i = 0; i < n; i++) {
    struct attr_entry x = e[i];
    uint64_t bm = selm ? rm[i] >> shm : 0, bp = selp ? rp[i] >> shp : 0;
    uint64_t qm = om[i] + (bm > cm), qp = op[i] + (bp > cp), qr = 0;
    im[km] = i;
    km += bm == cm;
    ip[kp] = i;
    kp += bp == cp;
    if (pre_too) {
      uint64_t br = selr ? rr[i] >> shr : 0;
      qr = orr[i] + (br > cr);
      ir[kr] = i;
      kr += br == cr;
    }
    te[i] = (struct attr_entry){ x.src, qm, qp, qr };
    empty_t += !(qm | qp | qr);
    sum_m += qm;
    sum_p += qp;
    sum_r += qr;
    if (keep_rest) {
      x.mass -= qm;
      x.post -= qp;
      x.pre -= qr;
      e[i] = x;
      empty_r += !(x.mass | x.post | x.pre);
    }
  }
  po->kc[0] = km;
  po->kc[1] = kp;
  po->kc[2] = kr;
  po->empty_t = empty_t;
  po->empty_r = empty_r;
  po->sum[0] = sum_m;
  po->sum[1] = sum_p;
  po->sum[2] = sum_r;
}

/* attr_take_in and attr_take_last: keep_rest says whether what is not taken stays in
 * from. */
static int attr_take_as(struct attr_scratch *sc, struct attr *from, uint64_t mass, uint64_t post, uint64_t pre,
                        struct attr *taken, int keep_rest)
{
  size_t n = from->n;
  attr_free(taken);
  if (mass > from->mass || post > from->post || pre > from->pre) return KK_ERR(INTERNAL);
  if (mass == from->mass && post == from->post && pre == from->pre) {
    /* All of it (a lot shipped or blended whole): the vector itself moves. */
    *taken = *from;
    attr_init(from);
    return 0;
  }
  /* The scratch, per quantity: what each entry gives, its remainder, the candidates'
   * entry indices; and the selection's work list. Grown, never shrunk: a verification
   * takes from vectors of similar sizes again and again, and fresh memory each time
   * costs a page fault per page. */
  size_t need = 6 * n + 4 * (n + 1);
  if (sc->cap < need) {
    uint64_t *nv = mem_realloc(sc->v, need * sizeof *nv);
    if (!nv) return -ENOMEM;
    sc->v = nv;
    sc->cap = need;
  }
  if (!sc->shares && !(sc->shares = mem_alloc(3 * sizeof *sc->shares))) return -ENOMEM;
  _Static_assert(sizeof(size_t) == sizeof(uint64_t), "indices share the scratch's words");
  uint64_t *out[3], *rem[3];
  size_t *idx[3];
  for (int k = 0; k < 3; k++) {
    out[k] = sc->v + k * n;
    rem[k] = sc->v + (3 + k) * n;
    idx[k] = (size_t *)(sc->v + 6 * n + k * (n + 1));
  }
  size_t *work = (size_t *)(sc->v + 6 * n + 3 * (n + 1));
  struct share *sm = &sc->shares[0], *sp = &sc->shares[1], *sr = &sc->shares[2];
  int rc;
  if ((rc = share_init(sm, from->mass, mass, n, out[0], rem[0])) ||
      (rc = share_init(sp, from->post, post, n, out[1], rem[1])) ||
      (rc = share_init(sr, from->pre, pre, n, out[2], rem[2])))
    return rc;
  /* Mass and post-consumer mass apportioned in one pass over the entries when both
   * are (the common take: some of a lot with post-consumer content), any other in a
   * pass of its own. */
  const struct attr_entry *e = from->e;
  int both = sm->mode == SHARE_SOME && sp->mode == SHARE_SOME;
  if (both) share_pass_mass_post(sm, sp, e, n);
  else {
    if (sm->mode == SHARE_SOME) share_pass1(sm, e, n, offsetof(struct attr_entry, mass));
    if (sp->mode == SHARE_SOME) share_pass1(sp, e, n, offsetof(struct attr_entry, post));
  }
  if (sr->mode == SHARE_SOME) share_pass1(sr, e, n, offsetof(struct attr_entry, pre));
  struct share *all[3] = { sm, sp, sr };
  for (int k = 0; k < 3; k++) {
    struct share *x = all[k];
    if (x->mode == SHARE_WIDE)
      for (size_t i = 0; i < n; i++) share_step_wide(x, i, k == 0 ? e[i].mass : k == 1 ? e[i].post : e[i].pre);
    else if (x->mode == SHARE_NONE) memset(x->out, 0, n * sizeof *x->out);
    else if (x->mode == SHARE_ALL)
      for (size_t i = 0; i < n; i++) x->out[i] = k == 0 ? e[i].mass : k == 1 ? e[i].post : e[i].pre;
    share_cut(x, n);
  }
  /* One pass writes the parts, each at its entry's index: the quotient, plus a unit
   * when the remainder is above its quantity's cut bucket; the entries in a cut bucket
   * are noted for share_choose. Taken goes into from's own array when the rest is not
   * kept. Empty entries are counted, and dropped at the end if any is left. */
  struct attr_entry *te = from->e;
  if (keep_rest && !(te = mem_alloc(n * sizeof *te))) return -ENOMEM;
  struct parts_out po = { .te = te };
  int pre_too = sr->mode != SHARE_NONE;
  if (keep_rest) {
    if (pre_too) write_parts(all, from->e, n, idx, &po, 1, 1);
    else write_parts(all, from->e, n, idx, &po, 1, 0);
  } else {
    if (pre_too) write_parts(all, from->e, n, idx, &po, 0, 1);
    else write_parts(all, from->e, n, idx, &po, 0, 0);
  }
  size_t *kc = po.kc, empty_t = po.empty_t, empty_r = po.empty_r;
  uint64_t *sum = po.sum;
  /* The candidates' units, then the entries that ended up empty dropped. */
  for (int k = 0; k < 3; k++) {
    if (!all[k]->select) continue;
    struct give_ctx g = { te, keep_rest ? from->e : NULL,
                          k == 0   ? offsetof(struct attr_entry, mass)
                          : k == 1 ? offsetof(struct attr_entry, post)
                                   : offsetof(struct attr_entry, pre),
                          &empty_t, &empty_r };
    share_choose(all[k], idx[k], kc[k], work, give_unit, &g);
    sum[k] += all[k]->need;
  }
  /* What was taken adds up to what was asked, quantity by quantity: the apportioning's
   * contract. */
  assert(sum[0] == mass && sum[1] == post && sum[2] == pre);
  size_t t = empty_t ? compact(te, n) : n;
  if (!keep_rest) {
    *taken = *from;
    attr_init(from);
    taken->n = t;
    taken->mass = mass;
    taken->post = post;
    taken->pre = pre;
    return 0;
  }
  taken->e = te;
  taken->cap = n;
  taken->n = t;
  taken->mass = mass;
  taken->post = post;
  taken->pre = pre;
  from->n = empty_r ? compact(from->e, n) : n;
  from->mass -= mass;
  from->post -= post;
  from->pre -= pre;
  return 0;
}

int attr_take_in(struct attr_scratch *sc, struct attr *from, uint64_t mass, uint64_t post, uint64_t pre,
                 struct attr *taken)
{
  return attr_take_as(sc, from, mass, post, pre, taken, 1);
}

int attr_take_last(struct attr_scratch *sc, struct attr *from, uint64_t mass, uint64_t post, uint64_t pre,
                   struct attr *taken)
{
  return attr_take_as(sc, from, mass, post, pre, taken, 0);
}

int attr_take(struct attr *from, uint64_t mass, uint64_t post, uint64_t pre, struct attr *taken)
{
  struct attr_scratch sc = { NULL, 0, NULL };
  int rc = attr_take_in(&sc, from, mass, post, pre, taken);
  attr_scratch_free(&sc);
  return rc;
}

