/*
 * Exact arithmetic: 128-bit intermediates, overflow, attribution apportionment.
 */
#include "test.h"
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>
#include "../../node/base/err.h"
#include "../../node/ledger/state.h"
#include "../../node/base/buf.h"

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
  e.src = tag;
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
  ASSERT_EQ(a.e[0].src, 1); /* sorted by key */
  /* 2 of 3 equal parts: the tie goes to the smaller keys */
  ASSERT_OK(attr_take(&a, 2, 2, 0, &t));
  ASSERT_U64(sum(&t, 0), 2);
  ASSERT_U64(sum(&t, 1), 2);
  ASSERT_EQ(t.n, 2);
  ASSERT_EQ(t.e[0].src, 1);
  ASSERT_EQ(t.e[1].src, 2);
  ASSERT_EQ(a.n, 1);
  ASSERT_EQ(a.e[0].src, 3);
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
  /* a vector whose total would pass 64 bits is refused cleanly, and left as it was */
  size_t n = a.n;
  uint64_t before = a.mass;
  struct attr_entry big = entry(9, UINT64_MAX - before, 0, 0), one = entry(1, 1, 0, 0);
  ASSERT_OK(attr_add(&a, &big));
  ASSERT_U64(a.mass, UINT64_MAX);
  ASSERT_EQ(attr_add(&a, &one), KK_ERR(OVERFLOW));
  ASSERT_EQ(attr_add(&a, &big), KK_ERR(OVERFLOW));
  ASSERT_EQ(a.n, n + 1);
  ASSERT_U64(a.mass, UINT64_MAX);
  ASSERT_U64(sum(&a, 0), UINT64_MAX);
  attr_free(&a);
  attr_free(&t);
}

/* The textbook largest-remainder method (128-bit division, a full sort of the
 * remainders), against which the fast one in node/ledger/state.c is checked. */
struct ref_rem { unsigned __int128 rem; size_t i; };

static int ref_rem_cmp(const void *a, const void *b)
{
  const struct ref_rem *x = a, *y = b;
  if (x->rem != y->rem) return x->rem > y->rem ? -1 : 1;
  return x->i < y->i ? -1 : x->i > y->i;
}

static void ref_apportion(const uint64_t *v, size_t n, uint64_t target, uint64_t *out)
{
  unsigned __int128 total = 0;
  for (size_t i = 0; i < n; i++) total += v[i];
  if (total == 0) { memset(out, 0, n * sizeof *out); return; }
  struct ref_rem *r = calloc(n, sizeof *r);
  uint64_t given = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned __int128 p = (unsigned __int128)v[i] * target;
    out[i] = (uint64_t)(p / total);
    r[i].rem = p % total;
    r[i].i = i;
    given += out[i];
  }
  qsort(r, n, sizeof *r, ref_rem_cmp);
  for (uint64_t k = 0; k < target - given; k++) out[r[k].i]++;
  free(r);
}

static uint64_t rnd64(uint64_t *s)
{
  *s ^= *s >> 12; *s ^= *s << 25; *s ^= *s >> 27;
  return *s * 2685821657736338717ull;
}

/* Merging in one pass is adding every entry one by one: random vectors with shared and
 * distinct sources, one side empty or of one entry included. */
TEST(state_attr_merge_is_adding_each)
{
  uint64_t seed = 7;
  for (int round = 0; round < 500; round++) {
    struct attr a, b, one, each;
    attr_init(&a);
    attr_init(&b);
    attr_init(&one);
    attr_init(&each);
    size_t na = rnd64(&seed) % (round % 5 ? 60 : 2), nb = rnd64(&seed) % (round % 3 ? 60 : 2);
    for (size_t i = 0; i < na; i++) {
      struct attr_entry e = entry((uint8_t)(rnd64(&seed) % 100), rnd64(&seed) % 1000, 0, 0);
      ASSERT_OK(attr_add(&a, &e));
    }
    for (size_t i = 0; i < nb; i++) {
      struct attr_entry e = entry((uint8_t)(rnd64(&seed) % 100), rnd64(&seed) % 1000, rnd64(&seed) % 10, 1);
      ASSERT_OK(attr_add(&b, &e));
    }
    ASSERT_OK(attr_copy(&one, &a));
    ASSERT_OK(attr_merge(&one, &b));
    ASSERT_OK(attr_copy(&each, &a));
    for (size_t i = 0; i < b.n; i++) ASSERT_OK(attr_add(&each, &b.e[i]));
    ASSERT_EQ(one.n, each.n);
    ASSERT_U64(one.mass, sum(&one, 0));
    ASSERT_U64(one.post, sum(&one, 1));
    ASSERT_U64(one.pre, sum(&one, 2));
    ASSERT_U64(one.mass, each.mass);
    for (size_t i = 0; i < one.n; i++) {
      ASSERT_EQ(one.e[i].src, each.e[i].src);
      ASSERT_U64(one.e[i].mass, each.e[i].mass);
      ASSERT_U64(one.e[i].post, each.e[i].post);
      ASSERT_U64(one.e[i].pre, each.e[i].pre);
    }
    attr_free(&a);
    attr_free(&b);
    attr_free(&one);
    attr_free(&each);
  }
}

/* Thousands of random vectors — small and huge values, equal values (ties), zeros,
 * one entry and thousands — taken from by random amounts: every part equals the
 * textbook method's, and what is left is the rest. */
TEST(state_attr_take_matches_the_textbook_method)
{
  uint64_t seed = 88172645463325252ull;
  int wide = 0; /* rounds with a total past 2^63 */
  for (int round = 0; round < 3000; round++) {
    size_t n = 1 + rnd64(&seed) % (round % 10 == 0 ? 3000 : 40);
    unsigned shape = (unsigned)(rnd64(&seed) % 5); /* 4: totals past 2^63 (the wide path) */
    struct attr a, t;
    attr_init(&a);
    attr_init(&t);
    uint64_t total[3] = { 0, 0, 0 };
    uint64_t *v[3];
    for (int f = 0; f < 3; f++) v[f] = calloc(n, sizeof *v[f]);
    for (size_t i = 0; i < n; i++) {
      struct attr_entry e;
      memset(&e, 0, sizeof e);
      e.src = (uint32_t)(rnd64(&seed) >> 33); /* random ranks: duplicates merge */
      uint64_t cap = shape == 0   ? 1000
                     : shape == 1 ? UINT64_MAX / (4 * n)
                     : shape == 2 ? 7
                     : shape == 3 ? 1000000000000ull
                                  : UINT64_MAX / n;
      e.mass = shape == 2 ? 5 : rnd64(&seed) % cap;
      e.post = e.mass ? rnd64(&seed) % (e.mass + 1) : 0;
      e.pre = e.mass - e.post ? rnd64(&seed) % (e.mass - e.post + 1) : 0;
      if (!e.mass && !e.post && !e.pre) e.mass = 1;
      ASSERT_OK(attr_add(&a, &e));
    }
    for (size_t i = 0; i < a.n; i++) {
      v[0][i] = a.e[i].mass; v[1][i] = a.e[i].post; v[2][i] = a.e[i].pre;
      total[0] += a.e[i].mass; total[1] += a.e[i].post; total[2] += a.e[i].pre;
    }
    uint64_t want[3];
    wide += total[0] >= (1ull << 63);
    for (int f = 0; f < 3; f++) want[f] = total[f] ? rnd64(&seed) % (total[f] + 1) : 0;
    if (round % 7 == 0) want[0] = total[0];
    uint64_t *ref[3];
    for (int f = 0; f < 3; f++) {
      ref[f] = calloc(a.n, sizeof *ref[f]);
      ref_apportion(v[f], a.n, want[f], ref[f]);
    }
    struct attr before;
    attr_init(&before);
    ASSERT_OK(attr_copy(&before, &a));
    /* attr_take_last takes the same parts and drops the rest */
    struct attr last, lt;
    struct attr_scratch sc = { NULL, 0, NULL };
    attr_init(&last);
    attr_init(&lt);
    ASSERT_OK(attr_copy(&last, &a));
    ASSERT_OK(attr_take_last(&sc, &last, want[0], want[1], want[2], &lt));
    attr_scratch_free(&sc);
    ASSERT_OK(attr_take(&a, want[0], want[1], want[2], &t));
    ASSERT_EQ(last.n, 0);
    ASSERT_U64(last.mass, 0);
    ASSERT_EQ(lt.n, t.n);
    ASSERT_U64(lt.mass, t.mass);
    for (size_t i = 0; i < t.n; i++)
      ASSERT(lt.e[i].src == t.e[i].src && lt.e[i].mass == t.e[i].mass && lt.e[i].post == t.e[i].post &&
             lt.e[i].pre == t.e[i].pre);
    attr_free(&last);
    attr_free(&lt);
    /* the totals kept with each vector are its entries' sums */
    for (int f = 0; f < 3; f++) {
      ASSERT_U64(f == 0 ? t.mass : f == 1 ? t.post : t.pre, sum(&t, f));
      ASSERT_U64(f == 0 ? a.mass : f == 1 ? a.post : a.pre, sum(&a, f));
      ASSERT_U64(f == 0 ? before.mass : f == 1 ? before.post : before.pre, total[f]);
    }
    size_t ti = 0, ai = 0;
    for (size_t i = 0; i < before.n; i++) {
      uint64_t m = 0, p = 0, r = 0;
      if (ti < t.n && t.e[ti].src == before.e[i].src) {
        m = t.e[ti].mass; p = t.e[ti].post; r = t.e[ti].pre; ti++;
      }
      if (m != ref[0][i] || p != ref[1][i] || r != ref[2][i])
        FAIL("round %d, entry %zu of %zu: took %llu/%llu/%llu, textbook %llu/%llu/%llu", round, i, before.n,
             (unsigned long long)m, (unsigned long long)p, (unsigned long long)r, (unsigned long long)ref[0][i],
             (unsigned long long)ref[1][i], (unsigned long long)ref[2][i]);
      uint64_t lm = before.e[i].mass - m, lp = before.e[i].post - p, lr = before.e[i].pre - r;
      if (lm || lp || lr) {
        ASSERT(ai < a.n);
        ASSERT_U64(a.e[ai].mass, lm);
        ASSERT_U64(a.e[ai].post, lp);
        ASSERT_U64(a.e[ai].pre, lr);
        ai++;
      }
    }
    ASSERT_EQ(ti, t.n);
    ASSERT_EQ(ai, a.n);
    for (int f = 0; f < 3; f++) { free(v[f]); free(ref[f]); }
    attr_free(&before);
    attr_free(&a);
    attr_free(&t);
  }
  ASSERT(wide > 100);
}

TEST(state_lot_encoding_roundtrip)
{
  struct lot l, d;
  struct buf b;
  uint8_t author[32], other[32];
  memset(author, 7, 32);
  memset(other, 8, 32);
  lot_init(&l);
  memcpy(l.owner, author, 32);
  strcpy(l.code, "SHEET-1");
  strcpy(l.material, "PET/sheet");
  l.mass = l.mass_left = 47500000000ull;
  l.post = l.post_left = 19000000000ull;
  l.model = 2;
  l.origin_kind = 9;
  /* made by its owner and not spent from: neither the owner nor the *_left figures */
  buf_init(&b);
  lot_encode(&b, &l, author);
  ASSERT_OK(b.err);
  lot_init(&d);
  ASSERT_OK(lot_decode(b.p, b.len, &d, author));
  ASSERT(memcmp(&l, &d, sizeof l) == 0);
  size_t unspent_len = b.len;
  ASSERT(unspent_len < 1 + 8 + 10 + 1 + 1 + 3 * 6);
  buf_free(&b);
  /* a refused transfer's lot (its owner is not the author) after a spend, with figures
   * as large as 64 bits allow (and within the accounting invariants lot_encode asserts) */
  l.mass = UINT64_MAX;
  l.mass_left = UINT64_MAX - 1;
  l.claimed = 1;
  buf_init(&b);
  lot_encode(&b, &l, other);
  ASSERT_OK(b.err);
  ASSERT(b.len > unspent_len + 32);
  lot_init(&d);
  ASSERT_OK(lot_decode(b.p, b.len, &d, other));
  ASSERT(memcmp(&l, &d, sizeof l) == 0);
  /* truncated and padded values, unknown flags are corruption, never misread */
  ASSERT_EQ(lot_decode(b.p, b.len - 1, &d, other), KK_ERR(CORRUPT));
  buf_u8(&b, 0);
  ASSERT_EQ(lot_decode(b.p, b.len, &d, other), KK_ERR(CORRUPT));
  b.p[0] |= 4;
  ASSERT_EQ(lot_decode(b.p, b.len - 1, &d, other), KK_ERR(CORRUPT));
  buf_free(&b);
}

/* lot_encode refuses, by assertion, a lot that breaks the accounting invariants: more
 * left than created, recycled beyond the mass, claimed beyond the recycled. */
static int encode_aborts(const struct lot *l)
{
  fflush(NULL);
  pid_t pid = fork();
  if (pid == 0) {
    if (!freopen("/dev/null", "w", stderr)) _exit(2); /* the assertion's message is expected */
    struct buf b;
    buf_init(&b);
    lot_encode(&b, l, l->owner);
    _exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  return WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT;
}

TEST(state_lot_encode_asserts_the_invariants)
{
  struct lot l;
  lot_init(&l);
  l.mass = l.mass_left = 10;
  l.post = l.post_left = 4;
  l.pre = l.pre_left = 3;
  ASSERT(!encode_aborts(&l));
  struct lot x = l;
  x.mass_left = 11;
  ASSERT(encode_aborts(&x));
  x = l;
  x.pre = x.pre_left = 7; /* 4 + 7 > 10 */
  ASSERT(encode_aborts(&x));
  x = l;
  x.post_left = 5;
  ASSERT(encode_aborts(&x));
  x = l;
  x.claimed = 8;
  ASSERT(encode_aborts(&x));
}

/* Varints: every value round-trips in its shortest form; a longer form of a value, one
 * past 64 bits and a truncated one are corruption (equal values are equal bytes). */
TEST(state_varints)
{
  static const uint64_t vals[] = { 0, 1, 127, 128, 16383, 16384, 1000000000000ull, UINT64_MAX - 1, UINT64_MAX };
  for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
    struct buf b;
    struct rd r;
    buf_init(&b);
    buf_varint(&b, vals[i]);
    ASSERT_OK(b.err);
    size_t want = 1;
    for (uint64_t x = vals[i] >> 7; x; x >>= 7) want++;
    ASSERT_EQ(b.len, want);
    rd_init(&r, b.p, b.len);
    ASSERT_U64(rd_varint(&r), vals[i]);
    ASSERT_OK(rd_done(&r));
    rd_init(&r, b.p, b.len - 1);
    rd_varint(&r);
    ASSERT(r.err);
    buf_free(&b);
  }
  static const uint8_t overlong[] = { 0x80, 0x00 }, past[] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02 };
  struct rd r;
  rd_init(&r, overlong, sizeof overlong);
  rd_varint(&r);
  ASSERT(r.err);
  rd_init(&r, past, sizeof past);
  rd_varint(&r);
  ASSERT(r.err);
}
