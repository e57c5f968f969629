/*
 * state — attribution arithmetic and the encodings of derived-state values.
 */
#include "state.h"
#include "mem.h"
#include "buf.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

uint64_t mul_div_floor(uint64_t a, uint64_t b, uint64_t c)
{
  return (uint64_t)((unsigned __int128)a * b / c);
}

int add_u64(uint64_t a, uint64_t b, uint64_t *out)
{
  if (a > UINT64_MAX - b) return KK_ERR(OVERFLOW);
  *out = a + b;
  return 0;
}

void lotkey_make(uint8_t key[36], const uint8_t record[32], uint32_t index)
{
  memcpy(key, record, 32);
  be32_put(key + 32, index);
}

/* ---- attribution -------------------------------------------------------------- */

void attr_init(struct attr *a) { memset(a, 0, sizeof *a); }

void attr_free(struct attr *a)
{
  if (!a) return;
  mem_free(a->e);
  memset(a, 0, sizeof *a);
}

static int attr_cmp_key(const struct attr_entry *x, const uint8_t src[32], uint32_t idx)
{
  int c = memcmp(x->src, src, 32);
  if (c) return c;
  return x->idx < idx ? -1 : x->idx > idx;
}

int attr_add(struct attr *a, const struct attr_entry *e)
{
  size_t lo = 0, hi = a->n;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    if (attr_cmp_key(&a->e[mid], e->src, e->idx) < 0) lo = mid + 1;
    else hi = mid;
  }
  if (lo < a->n && attr_cmp_key(&a->e[lo], e->src, e->idx) == 0) {
    struct attr_entry *x = &a->e[lo];
    int rc;
    if ((rc = add_u64(x->mass, e->mass, &x->mass)) || (rc = add_u64(x->post, e->post, &x->post)) ||
        (rc = add_u64(x->pre, e->pre, &x->pre)))
      return rc;
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
  return 0;
}

int attr_merge(struct attr *into, const struct attr *from)
{
  for (size_t i = 0; i < from->n; i++) {
    int rc = attr_add(into, &from->e[i]);
    if (rc) return rc;
  }
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
  return 0;
}

struct attr_rem { uint64_t rem; size_t i; };

static int attr_rem_cmp(const void *a, const void *b)
{
  const struct attr_rem *x = a, *y = b;
  if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

/* Apportions target over vals[0..n) (largest remainder) into out[]. */
static int attr_apportion(const uint64_t *vals, size_t n, uint64_t target, uint64_t *out)
{
  unsigned __int128 total = 0;
  for (size_t i = 0; i < n; i++) total += vals[i];
  if (target > total) return KK_ERR(INTERNAL);
  if (target == total) { memcpy(out, vals, n * sizeof *out); return 0; }
  if (target == 0) { memset(out, 0, n * sizeof *out); return 0; }
  struct attr_rem *rems = mem_alloc(n * sizeof *rems);
  if (!rems) return -ENOMEM;
  uint64_t given = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned __int128 p = (unsigned __int128)vals[i] * target;
    out[i] = (uint64_t)(p / total);
    rems[i].rem = (uint64_t)(p % total);
    rems[i].i = i;
    given += out[i];
  }
  uint64_t left = target - given; /* < n */
  qsort(rems, n, sizeof *rems, attr_rem_cmp);
  for (size_t k = 0; k < left; k++) out[rems[k].i]++;
  mem_free(rems);
  return 0;
}

int attr_take(struct attr *from, uint64_t mass, uint64_t post, uint64_t pre, struct attr *taken)
{
  size_t n = from->n;
  int rc = 0;
  attr_free(taken);
  if (n == 0) return (mass || post || pre) ? KK_ERR(INTERNAL) : 0;
  uint64_t *v = mem_alloc(6 * n * sizeof *v);
  if (!v) return -ENOMEM;
  uint64_t *vm = v, *vp = v + n, *vr = v + 2 * n, *om = v + 3 * n, *op = v + 4 * n, *orr = v + 5 * n;
  for (size_t i = 0; i < n; i++) {
    vm[i] = from->e[i].mass;
    vp[i] = from->e[i].post;
    vr[i] = from->e[i].pre;
  }
  if ((rc = attr_apportion(vm, n, mass, om)) || (rc = attr_apportion(vp, n, post, op)) ||
      (rc = attr_apportion(vr, n, pre, orr)))
    goto done;
  size_t w = 0;
  for (size_t i = 0; i < n; i++) {
    struct attr_entry e = from->e[i];
    e.mass = om[i];
    e.post = op[i];
    e.pre = orr[i];
    if (e.mass || e.post || e.pre) {
      if ((rc = attr_add(taken, &e))) goto done;
    }
    struct attr_entry *x = &from->e[i];
    x->mass -= om[i];
    x->post -= op[i];
    x->pre -= orr[i];
    if (x->mass || x->post || x->pre) from->e[w++] = *x;
  }
  from->n = w;
done:
  mem_free(v);
  return rc;
}

static void attr_encode(struct buf *b, const struct attr *a)
{
  buf_u32(b, (uint32_t)a->n);
  for (size_t i = 0; i < a->n; i++) {
    const struct attr_entry *e = &a->e[i];
    buf_put(b, e->src, 32);
    buf_u32(b, e->idx);
    buf_u8(b, e->kind);
    buf_put(b, e->country, 2);
    buf_u64(b, e->mass);
    buf_u64(b, e->post);
    buf_u64(b, e->pre);
  }
}

static int attr_decode(struct rd *r, struct attr *a)
{
  uint32_t n = rd_u32(r);
  attr_free(a);
  if (r->err) return r->err;
  /* Each entry takes 63 bytes: a count beyond what is left is corruption. */
  if ((uint64_t)n * 63 > r->len - r->off) return KK_ERR(CORRUPT);
  if (n) {
    a->e = mem_calloc(n, sizeof *a->e);
    if (!a->e) return -ENOMEM;
    a->cap = n;
  }
  for (uint32_t i = 0; i < n; i++) {
    struct attr_entry *e = &a->e[i];
    rd_get(r, e->src, 32);
    e->idx = rd_u32(r);
    e->kind = rd_u8(r);
    rd_get(r, e->country, 2);
    e->country[2] = 0;
    e->mass = rd_u64(r);
    e->post = rd_u64(r);
    e->pre = rd_u64(r);
  }
  a->n = n;
  return r->err;
}

/* ---- members, lots, transfers, claims ----------------------------------------- */

void member_encode(struct buf *b, const struct member *m)
{
  buf_str(b, m->name);
  buf_u32(b, m->roles);
  buf_put(b, m->country, 2);
  buf_put(b, m->admitted_by, 32);
  buf_u64(b, m->suspended_from);
}

int member_decode(const void *p, size_t n, struct member *m)
{
  struct rd r;
  rd_init(&r, p, n);
  rd_str(&r, m->name, CODEC_NAME_MAX);
  m->roles = rd_u32(&r);
  rd_get(&r, m->country, 2);
  m->country[2] = 0;
  rd_get(&r, m->admitted_by, 32);
  m->suspended_from = rd_u64(&r);
  return rd_done(&r);
}

void lot_init(struct lot *l) { memset(l, 0, sizeof *l); }

void lot_free(struct lot *l)
{
  if (!l) return;
  attr_free(&l->created);
  attr_free(&l->left);
}

void lot_encode(struct buf *b, const struct lot *l)
{
  buf_put(b, l->owner, 32);
  buf_str(b, l->code);
  buf_str(b, l->material);
  buf_u32(b, l->model);
  buf_u8(b, l->origin_kind);
  buf_u64(b, l->mass);
  buf_u64(b, l->post);
  buf_u64(b, l->pre);
  buf_u64(b, l->mass_left);
  buf_u64(b, l->post_left);
  buf_u64(b, l->pre_left);
  buf_u64(b, l->claimed);
  attr_encode(b, &l->created);
  attr_encode(b, &l->left);
}

int lot_decode(const void *p, size_t n, struct lot *l)
{
  struct rd r;
  rd_init(&r, p, n);
  rd_get(&r, l->owner, 32);
  rd_str(&r, l->code, CODEC_CODE_MAX);
  rd_str(&r, l->material, CODEC_MATERIAL_MAX);
  l->model = rd_u32(&r);
  l->origin_kind = rd_u8(&r);
  l->mass = rd_u64(&r);
  l->post = rd_u64(&r);
  l->pre = rd_u64(&r);
  l->mass_left = rd_u64(&r);
  l->post_left = rd_u64(&r);
  l->pre_left = rd_u64(&r);
  l->claimed = rd_u64(&r);
  int rc = attr_decode(&r, &l->created);
  if (!rc) rc = attr_decode(&r, &l->left);
  if (!rc) rc = rd_done(&r);
  if (rc) { attr_free(&l->created); attr_free(&l->left); } /* nothing to release on error */
  return rc;
}

void xfer_init(struct xfer *x) { memset(x, 0, sizeof *x); }
void xfer_free(struct xfer *x) { if (x) attr_free(&x->attr); }

void xfer_encode(struct buf *b, const struct xfer *x)
{
  buf_put(b, x->from_lot, 36);
  buf_put(b, x->sender, 32);
  buf_put(b, x->to, 32);
  buf_str(b, x->code);
  buf_str(b, x->material);
  buf_u32(b, x->model);
  buf_u64(b, x->mass);
  buf_u64(b, x->post);
  buf_u64(b, x->pre);
  buf_u8(b, x->state);
  buf_put(b, x->closed_by, 32);
  attr_encode(b, &x->attr);
}

int xfer_decode(const void *p, size_t n, struct xfer *x)
{
  struct rd r;
  rd_init(&r, p, n);
  rd_get(&r, x->from_lot, 36);
  rd_get(&r, x->sender, 32);
  rd_get(&r, x->to, 32);
  rd_str(&r, x->code, CODEC_CODE_MAX);
  rd_str(&r, x->material, CODEC_MATERIAL_MAX);
  x->model = rd_u32(&r);
  x->mass = rd_u64(&r);
  x->post = rd_u64(&r);
  x->pre = rd_u64(&r);
  x->state = rd_u8(&r);
  rd_get(&r, x->closed_by, 32);
  int rc = attr_decode(&r, &x->attr);
  if (!rc) rc = rd_done(&r);
  if (rc) attr_free(&x->attr);
  return rc;
}

void claim_encode(struct buf *b, const struct claim_state *c)
{
  buf_put(b, c->id, 32);
  buf_put(b, c->author, 32);
  buf_u32(b, c->share_ppm);
  buf_u64(b, c->claimed);
  buf_str(b, c->scope);
}

int claim_decode(const void *p, size_t n, struct claim_state *c)
{
  struct rd r;
  rd_init(&r, p, n);
  rd_get(&r, c->id, 32);
  rd_get(&r, c->author, 32);
  c->share_ppm = rd_u32(&r);
  c->claimed = rd_u64(&r);
  rd_str(&r, c->scope, CODEC_TEXT_MAX);
  return rd_done(&r);
}
