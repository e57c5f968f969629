/*
 * The store's short-keyed id index and its posdbs (node/ledger/posdb.h), at the edges the
 * other tests do not reach: references to ids no record has, a damaged index, entries
 * put and replaced in the middle of a feed's range.
 */
#include "test.h"
#include "fixture.h"
#include "../../node/base/buf.h"
#include "../../node/base/err.h"
#include "../../node/ledger/posdb.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/store_lmdb.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

struct misfile { struct store *s; const uint8_t *key; uint64_t arrival; };

/* Files an arrival under another record's 8-byte key: damage to the index. */
static int misfile(struct store_txn *txn, void *arg)
{
  struct misfile *t = arg;
  uint8_t v[BUF_VARINT_MAX];
  return store_put(txn, t->s, STORE_DB_BYID, t->key, 8, v, buf_varint_encode(v, t->arrival));
}

/* byid keeps the first 8 bytes of an id: a lookup settles the rest by hashing the
 * record, so an id no record has is not found even when a record shares its first
 * bytes (a reference is attacker-chosen), and an entry filed under the wrong key is
 * damage, never an answer. */
TEST(store_ids_by_their_short_key)
{
  struct fx f;
  fx_network(&f, "byid");
  struct store *s = fx_store(&f, test_tmpdir());
  ASSERT(s);
  struct fx_member m;
  fx_member_init(&m);
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m.pk, 32);
  strcpy(b->u.admit.name, "m");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  strcpy(b->u.admit.country, "JP");
  struct fx_rec a = fx_sign(&f, &f.reg, b);
  ASSERT_OK(fx_ingest(s, &a, 0));

  struct store_txn *txn;
  const uint8_t *env;
  size_t len;
  uint8_t author[32], forged[32];
  uint64_t seq;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_record_by_id(txn, s, a.id, author, &seq, &env, &len));
  ASSERT(len == a.len && memcmp(env, a.env, len) == 0 && seq == 2 && memcmp(author, f.reg.pk, 32) == 0);
  ASSERT_OK(store_record_by_held_id(txn, s, a.id, author, &seq, &env, &len));
  ASSERT(len == a.len && memcmp(env, a.env, len) == 0 && seq == 2);
  memcpy(forged, a.id, 32);
  forged[31] ^= 1;
  ASSERT_EQ(store_record_by_id(txn, s, forged, NULL, NULL, NULL, NULL), STORE_ABSENT);
  memset(forged, 0xee, 32);
  ASSERT_EQ(store_record_by_id(txn, s, forged, NULL, NULL, NULL, NULL), STORE_ABSENT);
  ASSERT_EQ(store_record_by_held_id(txn, s, forged, NULL, NULL, NULL, NULL), STORE_ABSENT);
  store_txn_abort(txn);

  struct misfile t = { s, a.id, 1 }; /* the genesis (arrival 1) under a's key */
  ASSERT_OK(store_write(s, misfile, &t));
  ASSERT_OK(store_read(s, &txn));
  ASSERT_EQ(store_record_by_id(txn, s, a.id, NULL, NULL, NULL, NULL), KK_ERR(CORRUPT));
  ASSERT_EQ(store_record_by_held_id(txn, s, a.id, NULL, NULL, NULL, NULL), KK_ERR(CORRUPT));
  ASSERT_OK(store_record_by_id(txn, s, f.genesis.id, NULL, &seq, NULL, NULL));
  ASSERT_EQ(seq, 1);
  store_txn_abort(txn);
  free(b);
  fx_rec_free(&a);
  store_close(s);
  fx_free(&f);
}

/* A position-keyed database of the store's own (`made`, empty in a fresh store). */
struct pd { struct store *s; };

static void rest(uint8_t r[12], uint64_t seq, uint32_t index)
{
  be64_put(r, seq);
  be32_put(r + 8, index);
}

static int pd_fill(struct store_txn *txn, void *arg)
{
  struct pd *p = arg;
  uint8_t a[32], bb[32], r[12];
  memset(a, 1, 32);
  memset(bb, 2, 32);
  int rc = 0;
  /* appended in order for a, then one put in the middle, then b */
  for (uint64_t q = 1; q <= 300 && !rc; q += 2) {
    rest(r, q, 0);
    rc = posdb_put(txn, p->s, STORE_DB_MADE, a, r, 12, &q, sizeof q);
  }
  rest(r, 100, 0); /* between 99 and 101 */
  uint64_t mid = 100;
  if (!rc) rc = posdb_put(txn, p->s, STORE_DB_MADE, a, r, 12, &mid, sizeof mid);
  rest(r, 1, 0);
  if (!rc) rc = posdb_put(txn, p->s, STORE_DB_MADE, bb, r, 12, "b", 1);
  return rc;
}

struct count { size_t n; uint64_t last; int sorted; };

static int count_one(void *arg, const uint8_t author[32], const uint8_t *r, const void *val, size_t vlen)
{
  struct count *c = arg;
  (void)author;
  (void)val;
  (void)vlen;
  uint64_t q = be64_get(r);
  if (c->n && q <= c->last) c->sorted = 0;
  c->last = q;
  c->n++;
  return 0;
}

static int pd_change(struct store_txn *txn, void *arg)
{
  struct pd *p = arg;
  uint8_t a[32], r[12];
  memset(a, 1, 32);
  rest(r, 51, 0);
  int rc = posdb_put(txn, p->s, STORE_DB_MADE, a, r, 12, "longer value", 12); /* replaced, not added */
  rest(r, 53, 0);
  if (!rc) rc = posdb_del(txn, p->s, STORE_DB_MADE, a, r, 12);
  rest(r, 54, 0);
  if (!rc) rc = posdb_del(txn, p->s, STORE_DB_MADE, a, r, 12); /* not there: nothing */
  return rc;
}

TEST(store_posdb_entries)
{
  struct store *s;
  ASSERT_OK(store_open(&s, test_tmpdir(), 0));
  struct pd p = { s };
  ASSERT_OK(store_write(s, pd_fill, &p));
  struct store_txn *txn;
  uint8_t a[32], r[12];
  const void *v;
  size_t n;
  memset(a, 1, 32);
  ASSERT_OK(store_read(s, &txn));
  struct count c = { 0, 0, 1 };
  ASSERT_OK(posdb_each(txn, p.s, STORE_DB_MADE, 12, a, NULL, 0, count_one, &c));
  ASSERT_EQ(c.n, 151);
  ASSERT(c.sorted);
  c = (struct count){ 0, 0, 1 };
  ASSERT_OK(posdb_each(txn, p.s, STORE_DB_MADE, 12, NULL, NULL, 0, count_one, &c));
  ASSERT_EQ(c.n, 152); /* both authors */
  rest(r, 100, 0);
  ASSERT_OK(posdb_get(txn, p.s, STORE_DB_MADE, a, r, 12, &v, &n));
  uint64_t got;
  ASSERT_EQ(n, 8);
  memcpy(&got, v, 8);
  ASSERT_EQ(got, 100); /* the entry put between two others */
  rest(r, 2, 0);
  ASSERT_EQ(posdb_get(txn, p.s, STORE_DB_MADE, a, r, 12, &v, &n), STORE_ABSENT);
  /* a prefix of the rest: the entries of seq 99 only */
  rest(r, 99, 0);
  c = (struct count){ 0, 0, 1 };
  ASSERT_OK(posdb_each(txn, p.s, STORE_DB_MADE, 12, a, r, 8, count_one, &c));
  ASSERT_EQ(c.n, 1);
  store_txn_abort(txn);
  ASSERT_OK(store_write(s, pd_change, &p));
  ASSERT_OK(store_read(s, &txn));
  rest(r, 51, 0);
  ASSERT_OK(posdb_get(txn, p.s, STORE_DB_MADE, a, r, 12, &v, &n));
  ASSERT(n == 12 && memcmp(v, "longer value", 12) == 0);
  rest(r, 53, 0);
  ASSERT_EQ(posdb_get(txn, p.s, STORE_DB_MADE, a, r, 12, &v, &n), STORE_ABSENT);
  c = (struct count){ 0, 0, 1 };
  ASSERT_OK(posdb_each(txn, p.s, STORE_DB_MADE, 12, a, NULL, 0, count_one, &c));
  ASSERT_EQ(c.n, 150);
  store_txn_abort(txn);
  store_close(s);
}

/* The scans by prefix: the last entry under a prefix (also when the next key up does not
 * exist, and when the prefix is all 0xff bytes), and deleting every entry under one. */
static int scan_fill(struct store_txn *txn, void *arg)
{
  struct store *s = arg;
  const char *keys[] = { "zz\x01", "zz\x02", "zz\xff", "zzz", "zy", "\xff\xff", "\xff\xff\x01" };
  int rc = 0;
  for (size_t i = 0; i < sizeof keys / sizeof keys[0] && !rc; i++) rc = store_meta_put(txn, s, keys[i], "v", 1);
  return rc;
}

static int scan_drop(struct store_txn *txn, void *arg) { return store_del_prefix(txn, arg, STORE_DB_META, "zz", 2); }

static int count_all(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)k; (void)kl; (void)v; (void)vl;
  (*(size_t *)arg)++;
  return 0;
}

TEST(store_scans_by_prefix)
{
  struct store *s;
  ASSERT_OK(store_open(&s, test_tmpdir(), 0));
  ASSERT_OK(store_write(s, scan_fill, s));
  struct store_txn *txn;
  const void *k;
  size_t kl, n = 0;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_last(txn, s, STORE_DB_META, "zz", 2, &k, &kl, NULL, NULL));
  ASSERT(kl == 3 && memcmp(k, "zz\xff", 3) == 0); /* bytewise: 0xff sorts after z */
  ASSERT_OK(store_last(txn, s, STORE_DB_META, "zz\x01", 3, &k, &kl, NULL, NULL));
  ASSERT(kl == 3 && memcmp(k, "zz\x01", 3) == 0);
  ASSERT_OK(store_last(txn, s, STORE_DB_META, "\xff\xff", 2, &k, &kl, NULL, NULL)); /* no key above: the last */
  ASSERT(kl == 3 && memcmp(k, "\xff\xff\x01", 3) == 0);
  ASSERT_EQ(store_last(txn, s, STORE_DB_META, "zx", 2, &k, &kl, NULL, NULL), STORE_ABSENT);
  ASSERT_OK(store_each(txn, s, STORE_DB_META, "zz", 2, count_all, &n));
  ASSERT_EQ(n, 4);
  n = 0;
  ASSERT_OK(store_each_from(txn, s, STORE_DB_META, "zz\x02", 3, "zz", 2, count_all, &n));
  ASSERT_EQ(n, 3);
  store_txn_abort(txn);
  ASSERT_OK(store_write(s, scan_drop, s));
  ASSERT_OK(store_read(s, &txn));
  n = 0;
  ASSERT_OK(store_each(txn, s, STORE_DB_META, "zz", 2, count_all, &n));
  ASSERT_EQ(n, 0);
  ASSERT_OK(store_last(txn, s, STORE_DB_META, "zy", 2, &k, &kl, NULL, NULL)); /* the neighbour stays */
  store_txn_abort(txn);
  store_close(s);
}

/* ---- a second writer between the continuity check and the commit ------------------- */

static const struct fx_rec *other_writer_rec;

/* Appends another record at the position the batch is about to take, once. */
static void other_writer(struct store *s)
{
  const struct fx_rec *r = other_writer_rec;
  other_writer_rec = NULL;
  ingest_test_between = NULL;
  if (r) ASSERT_EQ(fx_ingest(s, r, 0), 0);
}

static uint64_t count_records(struct store *s)
{
  struct store_txn *txn;
  uint64_t n = 0;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_count_records(txn, s, &n));
  store_txn_abort(txn);
  return n;
}

/* A node and a CLI beside it both write the store: a record may reach the store after
 * a batch checked its feed and before it writes. The batch then takes the record it
 * brings as what it is — a fork of the one now held, kept as evidence, or refused when
 * it is the member's own — and the feed never holds two records for one seq. */
TEST(ingest_another_writer_between_check_and_commit)
{
  for (int local = 0; local <= 1; local++) {
    char dir[4200];
    snprintf(dir, sizeof dir, "%s/w%d", test_tmpdir(), local);
    ASSERT_OK(mkdir(dir, 0700));
    struct fx f;
    fx_network(&f, "race");
    struct store *s = fx_store(&f, dir);
    ASSERT(s);
    struct kk_body *b = fx_body(KK_PL_ADMIT);
    struct fx_member m1, m2;
    fx_member_init(&m1);
    fx_member_init(&m2);
    /* two different records for the registry's seq 2 */
    struct fx_member before = f.reg;
    memcpy(b->u.admit.member, m1.pk, 32);
    strcpy(b->u.admit.name, "one");
    b->u.admit.roles = KK_ROLE_RECYCLER;
    strcpy(b->u.admit.country, "JP");
    struct fx_rec first = fx_sign(&f, &f.reg, b);
    f.reg = before;
    memcpy(b->u.admit.member, m2.pk, 32);
    strcpy(b->u.admit.name, "two");
    struct fx_rec second = fx_sign(&f, &f.reg, b);
    uint64_t held = count_records(s);

    other_writer_rec = &first;
    ingest_test_between = other_writer;
    int rc = fx_ingest(s, &second, local ? INGEST_LOCAL : 0);
    ASSERT(ingest_test_between == NULL); /* the other writer ran */
    ASSERT_EQ(rc, KK_ERR(FORK));
    ASSERT_EQ(count_records(s), held + 1); /* the other writer's record only */
    struct store_txn *txn;
    const uint8_t *env;
    size_t len;
    uint64_t frozen = 0;
    MDB_stat st;
    ASSERT_OK(store_read(s, &txn));
    ASSERT_OK(store_record_get(txn, s, f.reg.pk, 2, &env, &len));
    ASSERT(len == first.len && memcmp(env, first.env, len) == 0);
    ASSERT_OK(store_frozen_at(txn, s, f.reg.pk, &frozen));
    ASSERT_OK(mdb_stat(txn_lmdb(txn), s->evidence, &st));
    if (local) {
      /* an own record that would fork its feed is refused, nothing kept */
      ASSERT_EQ(frozen, 0);
      ASSERT_EQ(st.ms_entries, 0);
    } else {
      /* a record from outside is evidence: kept, the feed frozen at the fork */
      ASSERT_EQ(frozen, 2);
      ASSERT_EQ(st.ms_entries, 1);
    }
    store_txn_abort(txn);
    free(b);
    fx_rec_free(&first);
    fx_rec_free(&second);
    store_close(s);
    fx_free(&f);
  }
}

/* ---- a failed read of the log's last arrival -------------------------------------- */

struct log_fault { struct store *s; const struct fx_rec *rec; int last_rc, append_rc; uint64_t arrival; };

/* With the log unreadable (its handle made invalid for the call), asks for the last
 * arrival and tries to append: both must fail; neither may read "empty". */
static int log_fault_fn(struct store_txn *txn, void *arg)
{
  struct log_fault *f = arg;
  MDB_dbi log = f->s->log;
  f->s->log = (MDB_dbi)9999;
  f->arrival = 77;
  f->last_rc = store_log_last(txn, f->s, &f->arrival);
  uint8_t key[32];
  memset(key, 5, 32);
  f->append_rc = store_record_append(txn, f->s, f->rec->id, key, 1, f->rec->env, f->rec->len, key);
  f->s->log = log;
  return KK_ERR(INTERNAL); /* write nothing */
}

static int log_first(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  const struct fx_rec *want = arg;
  ASSERT_EQ(arrival, 1);
  ASSERT(len == want->len && memcmp(env, want->env, len) == 0);
  return 1;
}

/* store_log_last once read a failed read as an empty log, and the next append then
 * took arrival 1 again, overwriting the first record's. */
TEST(store_log_last_read_failure_is_an_error)
{
  struct fx f;
  struct fx_member m;
  fx_network(&f, "logfault");
  fx_member_init(&m);
  struct store *s = fx_store(&f, test_tmpdir());
  struct kk_body *b = fx_body(KK_PL_INCIDENT);
  strcpy(b->u.incident.kind, "note");
  strcpy(b->u.incident.text, "x");
  struct fx_rec r = fx_sign(&f, &f.reg, b);
  free(b);
  struct log_fault lf = { s, &r, 0, 0, 0 };
  ASSERT_EQ(store_write(s, log_fault_fn, &lf), KK_ERR(INTERNAL));
  ASSERT(lf.last_rc != 0);
  ASSERT(lf.append_rc != 0);
  struct store_txn *txn;
  uint64_t last;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_log_last(txn, s, &last));
  ASSERT_EQ(last, 1); /* the genesis, as installed */
  ASSERT_EQ(store_log_each(txn, s, 0, log_first, &f.genesis), 1);
  store_txn_abort(txn);
  fx_rec_free(&r);
  store_close(s);
  fx_free(&f);
}

/* Every LMDB code is turned into a Kiroku one at the store's boundary (issue 11): none
 * of LMDB's leaves it. */
TEST(store_translates_every_lmdb_code)
{
  ASSERT_EQ(store_err(0), 0);
  ASSERT_EQ(store_err(MDB_NOTFOUND), STORE_ABSENT);
  ASSERT_EQ(store_err(MDB_MAP_FULL), STORE_MAP_FULL);
  ASSERT_EQ(store_err(MDB_MAP_RESIZED), STORE_MAP_RESIZED);
  ASSERT_EQ(store_err(MDB_CORRUPTED), KK_ERR(CORRUPT));
  ASSERT_EQ(store_err(MDB_PAGE_NOTFOUND), KK_ERR(CORRUPT));
  ASSERT_EQ(store_err(MDB_KEYEXIST), KK_ERR(EXISTS));
  ASSERT_EQ(store_err(MDB_READERS_FULL), STORE_LIMIT);
  ASSERT_EQ(store_err(MDB_TXN_FULL), STORE_LIMIT);
  ASSERT_EQ(store_err(MDB_BAD_TXN), KK_ERR(INTERNAL));
  ASSERT_EQ(store_err(MDB_BAD_DBI), KK_ERR(INTERNAL));
  ASSERT_EQ(store_err(ENOSPC), KK_ERR(DISK_WRITE));
  ASSERT_EQ(store_err(ENOMEM), -ENOMEM);
  ASSERT_EQ(store_err(KK_ERR(FIELD)), KK_ERR(FIELD)); /* Kiroku's own pass */
  for (int rc = MDB_KEYEXIST; rc <= MDB_LAST_ERRCODE; rc++) {
    int k = store_err(rc);
    ASSERT(k <= KK_ERR_BASE - 1 && k > KK_ERR_BASE - 1 - KK_EI__COUNT); /* a Kiroku code */
  }
}
