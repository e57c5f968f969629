/*
 * oldstore — turns a store into what an earlier version (derived-state layout 1) left:
 * status keyed by record id, lots by record id || index, no layout marker in meta. For
 * the upgrade tests only.
 *
 *   oldstore DIR
 */
#include "../../node/buf.h"
#include "../../node/rules.h"
#include "../../node/store.h"
#include "../../crypto/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Re-keys every entry of dbi: key_of maps a current key to the layout-1 key. */
static int rekey(MDB_txn *txn, struct store *s, MDB_dbi dbi, size_t klen,
                 int (*key_of)(MDB_txn *, struct store *, const uint8_t *, uint8_t *, size_t *))
{
  MDB_cursor *cur;
  MDB_val k, v;
  size_t n = 0, cap = 0;
  struct { uint8_t key[64]; size_t klen; uint8_t *val; size_t vlen; } *e = NULL;
  int rc = mdb_cursor_open(txn, dbi, &cur);
  if (rc) return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != klen) { rc = 1; break; }
    if (n == cap && !(e = realloc(e, (cap = cap ? 2 * cap : 256) * sizeof *e))) { rc = 1; break; }
    if ((rc = key_of(txn, s, k.mv_data, e[n].key, &e[n].klen))) break;
    e[n].val = malloc(v.mv_size);
    memcpy(e[n].val, v.mv_data, v.mv_size);
    e[n++].vlen = v.mv_size;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return rc ? rc : 1;
  if ((rc = mdb_drop(txn, dbi, 0))) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) rc = store_put(txn, dbi, e[i].key, e[i].klen, e[i].val, e[i].vlen);
  for (size_t i = 0; i < n; i++) free(e[i].val);
  free(e);
  return rc;
}

static int status_key(MDB_txn *txn, struct store *s, const uint8_t *pos, uint8_t *key, size_t *klen)
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_get(txn, s, pos, be64_get(pos + 32), &env, &len);
  if (rc) return rc;
  sig_sha256(key, env, len);
  *klen = 32;
  return 0;
}

static int lot_key(MDB_txn *txn, struct store *s, const uint8_t *pos, uint8_t *key, size_t *klen)
{
  *klen = STORE_LOTKEY;
  return rules_lot_key(txn, s, pos, key);
}

static int to_layout1(MDB_txn *txn, void *ctx)
{
  struct store *s = ctx;
  int rc = rekey(txn, s, s->status, 40, status_key);
  if (!rc) rc = rekey(txn, s, s->lots, STORE_LOTPOS, lot_key);
  if (!rc) rc = store_del(txn, s->meta, "layout", 6);
  return rc;
}

int main(int argc, char **argv)
{
  struct store *s;
  if (argc != 2) { fprintf(stderr, "usage: oldstore DIR\n"); return 2; }
  if (store_open(&s, argv[1], 0) || s->derived_stale) { fprintf(stderr, "oldstore: cannot open a current store in %s\n", argv[1]); return 1; }
  int rc = store_write(s, to_layout1, s);
  store_close(s);
  if (rc) { fprintf(stderr, "oldstore: failed (%d)\n", rc); return 1; }
  return 0;
}
