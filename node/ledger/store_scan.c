/*
 * store_scan — the store's scans: every entry of a database under a key prefix, how many
 * a database holds, and the typed walks over feeds' heads and unverified records.
 * Part of the store module (node/ledger/store.h declares them).
 */
#include "store_lmdb.h"
#include "store.h"
#include "../base/buf.h"
#include "../base/err.h"

#include <string.h>

/* The scan behind store_each and store_each_from: from the first key at or after
 * start[0..slen) (the first key when slen is 0), while keys begin with prefix[0..plen). */
static int scan(struct store_txn *txn, MDB_dbi dbi, const void *start, size_t slen, const void *prefix, size_t plen,
                store_each_fn fn, void *arg)
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &cur);
  if (rc) return store_err(rc);
  MDB_val k = { slen, (void *)start }, v;
  int said = 0; /* fn's result, returned as it is */
  for (rc = mdb_cursor_get(cur, &k, &v, slen ? MDB_SET_RANGE : MDB_FIRST); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (plen && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) break;
    if ((said = fn(arg, k.mv_data, k.mv_size, v.mv_data, v.mv_size))) break;
  }
  mdb_cursor_close(cur);
  if (said) return said;
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int store_each(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen, store_each_fn fn, void *arg)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  return scan(txn, dbi, prefix, plen, prefix, plen, fn, arg);
}

int store_each_from(struct store_txn *txn, struct store *s, enum store_db db, const void *start, size_t slen, const void *prefix, size_t plen,
                    store_each_fn fn, void *arg)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  return scan(txn, dbi, start, slen, prefix, plen, fn, arg);
}

int store_last(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen, const void **key, size_t *klen,
               const void **val, size_t *vlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  uint8_t after[STORE_KEY_MAX];
  if (plen == 0 || plen > sizeof after) return KK_ERR(INTERNAL);
  /* The first key past every key with the prefix: the prefix plus one, as a number
   * (none when it is all 0xff: then the database's last key is the candidate). */
  memcpy(after, prefix, plen);
  size_t i = plen;
  while (i > 0 && after[i - 1] == 0xff) after[--i] = 0;
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &cur);
  if (rc) return store_err(rc);
  MDB_val k = { plen, after }, v;
  if (i == 0) rc = mdb_cursor_get(cur, &k, &v, MDB_LAST);
  else {
    after[i - 1]++;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_cursor_get(cur, &k, &v, rc == 0 ? MDB_PREV : MDB_LAST);
  }
  if (rc == 0 && (k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0)) rc = MDB_NOTFOUND;
  if (rc == 0) {
    *key = k.mv_data;
    *klen = k.mv_size;
    if (val) *val = v.mv_data;
    if (vlen) *vlen = v.mv_size;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? STORE_ABSENT : store_err(rc);
}

int store_del_prefix(struct store_txn *txn, struct store *s, enum store_db db, const void *prefix, size_t plen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &cur);
  if (rc) return store_err(rc);
  for (;;) {
    MDB_val k = { plen, (void *)prefix }, v;
    rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
    if (rc || k.mv_size < plen || memcmp(k.mv_data, prefix, plen) != 0) break;
    if ((rc = mdb_cursor_del(cur, 0))) break;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int store_entries(struct store_txn *txn, struct store *s, enum store_counted which, uint64_t *n)
{
  MDB_dbi dbi;
  switch (which) {
  case STORE_N_MEMBERS: dbi = s->members; break;
  case STORE_N_REVOKED: dbi = s->revoked; break;
  case STORE_N_FROZEN: dbi = s->frozen; break;
  case STORE_N_PENDING: dbi = s->pending; break;
  case STORE_N_UNVERIFIED: dbi = s->unverified; break;
  case STORE_N_EVIDENCE: dbi = s->evidence; break;
  default: return KK_ERR(INTERNAL);
  }
  MDB_stat st;
  int rc = mdb_stat(txn_lmdb(txn), dbi, &st);
  if (rc) return store_err(rc);
  *n = st.ms_entries;
  return 0;
}

struct heads_each { store_head_fn fn; void *arg; };

static int head_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct heads_each *e = arg;
  struct store_head h;
  if (kl != 32 || store_head_decode(v, vl, &h)) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, &h);
}

int store_heads_each(struct store_txn *txn, struct store *s, store_head_fn fn, void *arg)
{
  struct heads_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_HEADS, NULL, 0, head_one, &e);
}

struct unverified_each { store_position_fn fn; void *arg; };

static int unverified_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct unverified_each *e = arg;
  (void)v;
  (void)vl;
  if (kl != 40) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, be64_get((const uint8_t *)k + 32));
}

int store_unverified_each(struct store_txn *txn, struct store *s, store_position_fn fn, void *arg)
{
  struct unverified_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_UNVERIFIED, NULL, 0, unverified_one, &e);
}

struct frozen_each { store_frozen_fn fn; void *arg; };

static int frozen_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct frozen_each *e = arg;
  if (kl != 32 || vl != 8) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, be64_get(v));
}

int store_frozen_each(struct store_txn *txn, struct store *s, store_frozen_fn fn, void *arg)
{
  struct frozen_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_FROZEN, NULL, 0, frozen_one, &e);
}

/* keys: author || seq of each RotateKey -> the key it rotated to */
int store_key_now(struct store_txn *txn, struct store *s, const uint8_t author[32], uint8_t key[32], uint64_t *since)
{
  const void *k, *v;
  size_t kl, vl;
  int rc = store_last(txn, s, STORE_DB_KEYS, author, 32, &k, &kl, &v, &vl);
  memcpy(key, author, 32);
  if (since) *since = 0;
  if (rc == STORE_ABSENT) return 0;
  if (rc) return rc;
  if (kl != 40 || vl != 32) return KK_ERR(CORRUPT);
  memcpy(key, v, 32);
  if (since) *since = be64_get((const uint8_t *)k + 32);
  return 0;
}

struct rotations_each { int (*fn)(void *arg, uint64_t seq); void *arg; };

static int rotation_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct rotations_each *e = arg;
  (void)v;
  (void)vl;
  if (kl != 40) return KK_ERR(CORRUPT);
  return e->fn(e->arg, be64_get((const uint8_t *)k + 32));
}

int store_rotations_each(struct store_txn *txn, struct store *s, const uint8_t author[32],
                         int (*fn)(void *arg, uint64_t seq), void *arg)
{
  struct rotations_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_KEYS, author, 32, rotation_one, &e);
}
