/*
 * Exact arithmetic: 128-bit intermediates, overflow, attribution apportionment.
 */
#include "test.h"
#include "../../node/err.h"
#include "../../node/state.h"
#include "../../node/buf.h"

TEST(state_mul_div_and_overflow)
{
  uint64_t x;
  ASSERT_U64(mul_div_floor(UINT64_MAX, UINT64_MAX, UINT64_MAX), UINT64_MAX);
  ASSERT_U64(mul_div_floor(UINT64_MAX, 1, 2), UINT64_MAX / 2);
  ASSERT_U64(mul_div_floor(10, 3, 7), 4);
  ASSERT_U64(mul_div_floor(0, 5, 7), 0);
  ASSERT_EQ(add_u64(UINT64_MAX, 1, &x), KK_ERR(OVERFLOW));
  ASSERT_OK(add_u64(UINT64_MAX - 1, 1, &x));
  ASSERT_U64(x, UINT64_MAX);
}

static struct attr_entry entry(uint8_t tag, uint64_t mass, uint64_t post, uint64_t pre)
{
  struct attr_entry e;
  memset(&e, 0, sizeof e);
  memset(e.src, tag, 32);
  e.kind = 1;
  memcpy(e.country, "JP", 3);
  e.mass = mass;
  e.post = post;
  e.pre = pre;
  return e;
}

static uint64_t sum(const struct attr *a, int field)
{
  uint64_t s = 0;
  for (size_t i = 0; i < a->n; i++) s += field == 0 ? a->e[i].mass : field == 1 ? a->e[i].post : a->e[i].pre;
  return s;
}

TEST(state_attr_take_is_exact)
{
  struct attr a, t;
  attr_init(&a);
  attr_init(&t);
  struct attr_entry e1 = entry(1, 1, 1, 0), e2 = entry(2, 1, 1, 0), e3 = entry(3, 1, 1, 0);
  ASSERT_OK(attr_add(&a, &e3));
  ASSERT_OK(attr_add(&a, &e1));
  ASSERT_OK(attr_add(&a, &e2));
  ASSERT_EQ(a.n, 3);
  ASSERT_EQ(a.e[0].src[0], 1); /* sorted by key */
  /* 2 of 3 equal parts: the tie goes to the smaller keys */
  ASSERT_OK(attr_take(&a, 2, 2, 0, &t));
  ASSERT_U64(sum(&t, 0), 2);
  ASSERT_U64(sum(&t, 1), 2);
  ASSERT_EQ(t.n, 2);
  ASSERT_EQ(t.e[0].src[0], 1);
  ASSERT_EQ(t.e[1].src[0], 2);
  ASSERT_EQ(a.n, 1);
  ASSERT_EQ(a.e[0].src[0], 3);
  /* taking more than there is is an internal error */
  ASSERT_EQ(attr_take(&a, 2, 0, 0, &t), KK_ERR(INTERNAL));
  attr_free(&a);
  attr_free(&t);
}

TEST(state_attr_take_large_values)
{
  struct attr a, t;
  attr_init(&a);
  attr_init(&t);
  struct attr_entry e1 = entry(1, UINT64_MAX / 2, UINT64_MAX / 4, 7), e2 = entry(2, UINT64_MAX / 2, 3, UINT64_MAX / 4);
  ASSERT_OK(attr_add(&a, &e1));
  ASSERT_OK(attr_add(&a, &e2));
  uint64_t m = UINT64_MAX / 3, p = UINT64_MAX / 5, r = 11;
  ASSERT_OK(attr_take(&a, m, p, r, &t));
  ASSERT_U64(sum(&t, 0), m);
  ASSERT_U64(sum(&t, 1), p);
  ASSERT_U64(sum(&t, 2), r);
  ASSERT_U64(sum(&a, 0), (UINT64_MAX / 2) * 2 - m);
  /* merging the same source twice overflows cleanly */
  struct attr_entry big = entry(9, UINT64_MAX, 0, 0);
  ASSERT_OK(attr_add(&a, &big));
  ASSERT_EQ(attr_add(&a, &big), KK_ERR(OVERFLOW));
  attr_free(&a);
  attr_free(&t);
}

TEST(state_lot_encoding_roundtrip)
{
  struct lot l, d;
  struct buf b;
  lot_init(&l);
  lot_init(&d);
  strcpy(l.code, "SHEET-1");
  strcpy(l.material, "PET");
  l.mass = 5; l.post = 2; l.mass_left = 4; l.claimed = 1; l.model = 2;
  struct attr_entry e = entry(4, 5, 2, 0);
  ASSERT_OK(attr_add(&l.created, &e));
  ASSERT_OK(attr_add(&l.left, &e));
  buf_init(&b);
  lot_encode(&b, &l);
  ASSERT_OK(b.err);
  ASSERT_OK(lot_decode(b.p, b.len, &d));
  ASSERT_STR(d.code, "SHEET-1");
  ASSERT_EQ(d.created.n, 1);
  ASSERT_U64(d.created.e[0].mass, 5);
  /* truncated and padded values are corruption, never misread */
  lot_free(&d);
  lot_init(&d);
  ASSERT_EQ(lot_decode(b.p, b.len - 1, &d), KK_ERR(CORRUPT));
  lot_free(&d);
  lot_init(&d);
  buf_u8(&b, 0);
  ASSERT_EQ(lot_decode(b.p, b.len, &d), KK_ERR(CORRUPT));
  buf_free(&b);
  lot_free(&l);
  lot_free(&d);
}
