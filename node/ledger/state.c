/*
 * state — the encodings of derived-state values, and the small arithmetic they share.
 * Attribution vectors and their apportioning are in attr.c (declared in state.h too).
 */
#include "state.h"
#include "../base/buf.h"
#include "../base/err.h"

#include <assert.h>
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

/* ---- members, lots, transfers, claims ----------------------------------------- */

void member_encode(struct buf *b, const struct member *m)
{
  buf_str(b, m->name);
  buf_u32(b, m->roles);
  buf_put(b, m->country, 2);
  buf_put(b, m->admitted_by, 32);
  buf_u64(b, m->suspended_from);
  buf_u8(b, (uint8_t)(m->succeeded | m->inherit << 1));
  if (m->succeeded) {
    buf_put(b, m->successor, 32);
    buf_u64(b, m->succession_from);
  }
  if (m->inherit) buf_put(b, m->predecessor, 32);
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
  uint8_t flags = rd_u8(&r);
  m->succeeded = flags & 1;
  m->inherit = flags >> 1;
  if (flags > 5 || m->inherit > INHERIT_DONE) return KK_ERR(CORRUPT);
  if (m->succeeded) {
    rd_get(&r, m->successor, 32);
    m->succession_from = rd_u64(&r);
  } else {
    memset(m->successor, 0, 32);
    m->succession_from = 0;
  }
  if (m->inherit) rd_get(&r, m->predecessor, 32);
  else memset(m->predecessor, 0, 32);
  return rd_done(&r);
}

void lot_init(struct lot *l) { memset(l, 0, sizeof *l); }
void lot_free(struct lot *l) { (void)l; }

enum { LOT_OWNER_IS_AUTHOR = 1, LOT_UNSPENT = 2 };

void lot_encode(struct buf *b, const struct lot *l, const uint8_t author[32])
{
  /* The accounting invariants, at the one place a lot is written (the rules refuse what
   * would break them, so a failure here is a bug in the rules, not bad input). */
  assert(l->post <= l->mass && l->pre <= l->mass - l->post);   /* recycled within the mass */
  assert(l->mass_left <= l->mass && l->post_left <= l->post && l->pre_left <= l->pre);
  assert(l->claimed <= l->post + l->pre);                       /* claimed only what was recycled */
  uint8_t flags = 0;
  if (memcmp(l->owner, author, 32) == 0) flags |= LOT_OWNER_IS_AUTHOR;
  if (l->mass_left == l->mass && l->post_left == l->post && l->pre_left == l->pre && l->claimed == 0)
    flags |= LOT_UNSPENT;
  buf_u8(b, flags);
  if (!(flags & LOT_OWNER_IS_AUTHOR)) buf_put(b, l->owner, 32);
  buf_vstr(b, l->code);
  buf_vstr(b, l->material);
  buf_varint(b, l->model);
  buf_u8(b, l->origin_kind);
  buf_varint(b, l->mass);
  buf_varint(b, l->post);
  buf_varint(b, l->pre);
  if (flags & LOT_UNSPENT) return;
  buf_varint(b, l->mass_left);
  buf_varint(b, l->post_left);
  buf_varint(b, l->pre_left);
  buf_varint(b, l->claimed);
}

int lot_decode(const void *p, size_t n, struct lot *l, const uint8_t author[32])
{
  struct rd r;
  rd_init(&r, p, n);
  uint8_t flags = rd_u8(&r);
  if (flags & ~(LOT_OWNER_IS_AUTHOR | LOT_UNSPENT)) return KK_ERR(CORRUPT);
  if (flags & LOT_OWNER_IS_AUTHOR) memcpy(l->owner, author, 32);
  else rd_get(&r, l->owner, 32);
  rd_vstr(&r, l->code, CODEC_CODE_MAX);
  rd_vstr(&r, l->material, CODEC_MATERIAL_MAX);
  l->model = (uint32_t)rd_varint(&r);
  l->origin_kind = rd_u8(&r);
  l->mass = rd_varint(&r);
  l->post = rd_varint(&r);
  l->pre = rd_varint(&r);
  if (flags & LOT_UNSPENT) {
    l->mass_left = l->mass;
    l->post_left = l->post;
    l->pre_left = l->pre;
    l->claimed = 0;
  } else {
    l->mass_left = rd_varint(&r);
    l->post_left = rd_varint(&r);
    l->pre_left = rd_varint(&r);
    l->claimed = rd_varint(&r);
  }
  return rd_done(&r);
}

void xfer_init(struct xfer *x) { memset(x, 0, sizeof *x); }
void xfer_free(struct xfer *x) { (void)x; }

void xfer_encode(struct buf *b, const struct xfer *x)
{
  buf_put(b, x->from_lot, 36);
  buf_put(b, x->to, 32);
  buf_vstr(b, x->code);
  buf_vstr(b, x->material);
  buf_varint(b, x->model);
  buf_varint(b, x->mass);
  buf_varint(b, x->post);
  buf_varint(b, x->pre);
  buf_u8(b, x->state);
  buf_put(b, x->closed_by, 32);
}

int xfer_decode(const void *p, size_t n, struct xfer *x, const uint8_t sender[32])
{
  struct rd r;
  rd_init(&r, p, n);
  rd_get(&r, x->from_lot, 36);
  memcpy(x->sender, sender, 32);
  rd_get(&r, x->to, 32);
  rd_vstr(&r, x->code, CODEC_CODE_MAX);
  rd_vstr(&r, x->material, CODEC_MATERIAL_MAX);
  x->model = (uint32_t)rd_varint(&r);
  x->mass = rd_varint(&r);
  x->post = rd_varint(&r);
  x->pre = rd_varint(&r);
  x->state = rd_u8(&r);
  rd_get(&r, x->closed_by, 32);
  return rd_done(&r);
}

void spend_encode(struct buf *b, const struct spend *x)
{
  buf_u8(b, x->kind);
  buf_varint(b, x->mass);
  buf_varint(b, x->post);
  buf_varint(b, x->pre);
}

int spend_decode(const void *p, size_t n, struct spend *x)
{
  struct rd r;
  rd_init(&r, p, n);
  x->kind = rd_u8(&r);
  x->mass = rd_varint(&r);
  x->post = rd_varint(&r);
  x->pre = rd_varint(&r);
  return rd_done(&r);
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
