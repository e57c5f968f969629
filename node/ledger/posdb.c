/*
 * posdb — databases about feed positions, the author stored once per feed.
 */
#include "store_lmdb.h"
#include "posdb.h"
#include "../base/err.h"
#include "store.h"

#include <string.h>

/* Puts the cursor on (author, rest): 0 there, MDB_NOTFOUND when absent. */
static int posdb_seek(MDB_cursor *c, const uint8_t author[32], const uint8_t *rest, size_t rlen, MDB_val *v)
{
  MDB_val k = { 32, (void *)author };
  v->mv_size = rlen;
  v->mv_data = (void *)rest;
  int rc = mdb_cursor_get(c, &k, v, MDB_GET_BOTH_RANGE); /* the first duplicate >= rest */
  if (rc) return rc;
  if (v->mv_size < rlen || memcmp(v->mv_data, rest, rlen) != 0) return MDB_NOTFOUND;
  return 0;
}

int posdb_get(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen,
              const void **val, size_t *vlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_cursor *c;
  MDB_val v;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &c);
  if (rc) return store_err(rc);
  rc = posdb_seek(c, author, rest, rlen, &v);
  if (rc == 0) {
    *val = (const uint8_t *)v.mv_data + rlen;
    *vlen = v.mv_size - rlen;
  }
  mdb_cursor_close(c);
  return store_err(rc); /* absent: STORE_ABSENT */
}

int posdb_put(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen,
              const void *val, size_t vlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  uint8_t buf[POSDB_MAX];
  if (rlen + vlen > sizeof buf) return KK_ERR(INTERNAL);
  memcpy(buf, rest, rlen);
  if (vlen) memcpy(buf + rlen, val, vlen);
  MDB_cursor *c;
  MDB_val k = { 32, (void *)author }, v, d = { rlen + vlen, buf };
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &c);
  if (rc) return store_err(rc);
  rc = posdb_seek(c, author, rest, rlen, &v);
  if (rc == 0 && v.mv_size == d.mv_size && memcmp(v.mv_data, buf, d.mv_size) == 0) {
    mdb_cursor_close(c); /* unchanged: no page to write */
    return 0;
  }
  if (rc == 0) rc = mdb_cursor_del(c, 0); /* this duplicate only */
  else if (rc == MDB_NOTFOUND) rc = 0;
  if (rc == 0) rc = mdb_cursor_put(c, &k, &d, 0);
  mdb_cursor_close(c);
  return store_err(rc);
}

int posdb_del(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_cursor *c;
  MDB_val v;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &c);
  if (rc) return store_err(rc);
  rc = posdb_seek(c, author, rest, rlen, &v);
  if (rc == 0) rc = mdb_cursor_del(c, 0);
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int posdb_each(struct store_txn *txn, struct store *s, enum store_db db, size_t rlen, const uint8_t *author, const uint8_t *prefix, size_t plen,
               posdb_fn fn, void *arg)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_cursor *c;
  MDB_val k = { 32, (void *)author }, v = { plen, (void *)prefix };
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &c);
  if (rc) return store_err(rc);
  MDB_cursor_op first = !author ? MDB_FIRST : plen ? MDB_GET_BOTH_RANGE : MDB_SET_KEY;
  MDB_cursor_op next = author ? MDB_NEXT_DUP : MDB_NEXT;
  int from_fn = 0;
  for (rc = mdb_cursor_get(c, &k, &v, first); rc == 0; rc = mdb_cursor_get(c, &k, &v, next)) {
    if (k.mv_size != 32 || v.mv_size < rlen) { rc = KK_ERR(CORRUPT); break; }
    if (author && plen && memcmp(v.mv_data, prefix, plen) != 0) { rc = MDB_NOTFOUND; break; } /* past it */
    if ((rc = fn(arg, k.mv_data, v.mv_data, (const uint8_t *)v.mv_data + rlen, v.mv_size - rlen))) {
      from_fn = 1;
      break;
    }
  }
  mdb_cursor_close(c);
  if (from_fn) return rc;
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}
