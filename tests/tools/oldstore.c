/*
 * oldstore — turns a store into what an earlier version left: derived-state layout 1
 * (status keyed by record id, lots by record id || index, transfers by id, codes by
 * owner || code, none of them with duplicates, no layout marker in meta)
 * and the log of layout 2 and before (`records` keyed by author || seq, `arrivals`
 * arrival -> author || seq, ids (id -> author || seq), 72-byte heads, every Merkle node
 * kept in `tree` by author || level || index). For the upgrade tests only.
 *
 *   oldstore DIR
 */
#include "../../node/base/buf.h"
#include "../../node/ledger/rules.h"
#include "../../node/ledger/store.h"
#include "../../node/ledger/store_lmdb.h"
#include "../../node/ledger/tree.h"
#include "../../crypto/merkle.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A put into one of the earlier layout's databases, which the store does not name. */
static int raw_put(struct store_txn *txn, MDB_dbi dbi, const void *k, size_t kl, const void *v, size_t vl)
{
  MDB_val key = { kl, (void *)k }, val = { vl, (void *)v };
  return mdb_put(txn_lmdb(txn), dbi, &key, &val, 0);
}

/* Re-keys every entry of the database `name` into a plain one (no duplicates): key_of
 * maps a current key to the earlier layout's. For a posdb (node/ledger/posdb.h, rlen > 0) the
 * current key is author || the first rlen bytes of the duplicate. */
static int rekey(struct store_txn *txn, struct store *s, MDB_dbi dbi, const char *name, size_t klen, size_t rlen,
                 int (*key_of)(struct store_txn *, struct store *, const uint8_t *, uint8_t *, size_t *))
{
  MDB_cursor *cur;
  MDB_val k, v;
  size_t n = 0, cap = 0;
  struct { uint8_t key[64]; size_t klen; uint8_t *val; size_t vlen; } *e = NULL;
  int rc = mdb_cursor_open(txn_lmdb(txn), dbi, &cur);
  if (rc) return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    uint8_t full[64];
    if (k.mv_size + rlen != klen || v.mv_size < rlen) { rc = 1; break; }
    memcpy(full, k.mv_data, k.mv_size);
    memcpy(full + k.mv_size, v.mv_data, rlen);
    if (n == cap && !(e = realloc(e, (cap = cap ? 2 * cap : 256) * sizeof *e))) { rc = 1; break; }
    if ((rc = key_of(txn, s, full, e[n].key, &e[n].klen))) break;
    e[n].vlen = v.mv_size - rlen;
    e[n].val = malloc(e[n].vlen + 1);
    memcpy(e[n].val, (const uint8_t *)v.mv_data + rlen, e[n].vlen);
    n++;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return rc ? rc : 1;
  MDB_dbi plain;
  if ((rc = mdb_drop(txn_lmdb(txn), dbi, 1)) || (rc = mdb_dbi_open(txn_lmdb(txn), name, MDB_CREATE, &plain))) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) rc = raw_put(txn, plain, e[i].key, e[i].klen, e[i].val, e[i].vlen);
  for (size_t i = 0; i < n; i++) free(e[i].val);
  free(e);
  return rc;
}

static int same_key(struct store_txn *txn, struct store *s, const uint8_t *pos, uint8_t *key, size_t *klen)
{
  (void)txn;
  (void)s;
  memcpy(key, pos, STORE_SPENDKEY);
  *klen = STORE_SPENDKEY;
  return 0;
}

static int status_key(struct store_txn *txn, struct store *s, const uint8_t *pos, uint8_t *key, size_t *klen)
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_get(txn, s, pos, be64_get(pos + 32), &env, &len);
  if (rc) return rc;
  sig_sha256(key, env, len);
  *klen = 32;
  return 0;
}

static int lot_key(struct store_txn *txn, struct store *s, const uint8_t *pos, uint8_t *key, size_t *klen)
{
  *klen = STORE_LOTKEY;
  return rules_lot_key(txn, s, pos, key);
}

/* codes as layout 2 kept them, without duplicates: owner || code || 0 || lot key -> "" */
struct code_entry { uint8_t key[32 + CODEC_CODE_MAX + 1 + STORE_LOTKEY]; size_t len; };
struct codes { struct store_txn *txn; struct store *s; struct code_entry *e; size_t n, cap; };

static int old_code(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct codes *c = arg;
  if (c->n == c->cap && !(c->e = realloc(c->e, (c->cap = c->cap ? 2 * c->cap : 64) * sizeof *c->e))) return 1;
  struct code_entry *e = &c->e[c->n];
  size_t cl = strlen(l->code);
  memcpy(e->key, l->owner, 32);
  memcpy(e->key + 32, l->code, cl + 1);
  e->len = 33 + cl + STORE_LOTKEY;
  c->n++;
  return rules_lot_key(c->txn, c->s, pos, e->key + 33 + cl);
}

static int old_codes(struct store_txn *txn, struct store *s)
{
  struct codes c = { txn, s, NULL, 0, 0 };
  int rc = rules_lots_each(txn, s, old_code, &c);
  MDB_dbi plain;
  if (!rc) rc = mdb_drop(txn_lmdb(txn), s->codes, 1);
  if (!rc) rc = mdb_dbi_open(txn_lmdb(txn), "codes", MDB_CREATE, &plain);
  for (size_t i = 0; i < c.n && rc == 0; i++) rc = raw_put(txn, plain, c.e[i].key, c.e[i].len, "", 0);
  free(c.e);
  return rc;
}

static int to_layout1(struct store_txn *txn, struct store *s)
{
  int rc = old_codes(txn, s);
  if (!rc) rc = rekey(txn, s, s->status, "status", 40, 0, status_key);
  if (!rc) rc = rekey(txn, s, s->transfers, "transfers", 40, 8, status_key); /* by transfer id */
  if (!rc) rc = rekey(txn, s, s->spends, "spends", STORE_SPENDKEY, STORE_SPENDKEY - 32, same_key);
  if (!rc) rc = rekey(txn, s, s->lots, "lots", STORE_LOTPOS, STORE_LOTPOS - 32, lot_key);
  if (!rc) rc = store_del(txn, s, STORE_DB_META, "layout", 6);
  return rc;
}

/* ---- the log by author || seq ------------------------------------------------------- */

struct oldlog { struct store_txn *txn; struct store *s; MDB_dbi records, arrivals, ids, tree; };

static int old_record(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct oldlog *o = arg;
  uint8_t pos[40], id[32], ak[8];
  uint64_t seq;
  int kind, rc;
  if ((rc = codec_record_position(env, len, pos, &seq, &kind))) return rc;
  be64_put(pos + 32, seq);
  be64_put(ak, arrival);
  sig_sha256(id, env, len);
  if ((rc = raw_put(o->txn, o->records, pos, 40, env, len))) return rc;
  if ((rc = raw_put(o->txn, o->arrivals, ak, 8, pos, 40))) return rc;
  return raw_put(o->txn, o->ids, id, 32, pos, 40);
}

/* Every node of levels 0 .. TREE_FLOOR-1 of a feed of n records, as the old tree kept. */
/* The tree as the old layout kept it, in `tree` by author || level || index: every
 * perfect subtree of a feed of n records, hashed from its records. */
static int old_tree(struct store_txn *txn, struct store *s, MDB_dbi tree, const uint8_t author[32], uint64_t n)
{
  uint8_t (*h)[32] = malloc((n ? n : 1) * 32), k[TREE_KEY];
  int rc = h ? 0 : 1;
  for (uint64_t i = 0; i < n && rc == 0; i++) {
    const uint8_t *env;
    size_t len;
    if ((rc = store_record_get(txn, s, author, i + 1, &env, &len))) break;
    merkle_leaf_hash(h[i], env, len);
  }
  memcpy(k, author, 32);
  for (unsigned level = 0; n && rc == 0; level++) {
    for (uint64_t i = 0; i < n && rc == 0; i++) {
      k[32] = (uint8_t)level;
      be64_put(k + 33, i);
      rc = raw_put(txn, tree, k, TREE_KEY, h[i], 32);
    }
    for (uint64_t i = 0; i + 1 < n; i += 2) merkle_node_hash(h[i / 2], h[i], h[i + 1]);
    n /= 2;
  }
  free(h);
  return rc;
}

static int to_old_log(struct store_txn *txn, struct store *s)
{
  struct oldlog o = { txn, s, 0, 0, 0, 0 };
  int rc = mdb_dbi_open(txn_lmdb(txn), "records", MDB_CREATE, &o.records);
  if (!rc) rc = mdb_dbi_open(txn_lmdb(txn), "arrivals", MDB_CREATE, &o.arrivals);
  if (!rc) rc = mdb_dbi_open(txn_lmdb(txn), "ids", MDB_CREATE, &o.ids);
  if (!rc) rc = mdb_dbi_open(txn_lmdb(txn), "tree", MDB_CREATE, &o.tree);
  if (!rc) rc = store_log_each(txn, s, 0, old_record, &o);
  /* heads without the run bookkeeping, the tree in full */
  MDB_cursor *c;
  MDB_val k, v;
  struct { uint8_t author[32], head[72]; } *h = NULL;
  size_t n = 0, cap = 0;
  if (rc || (rc = mdb_cursor_open(txn_lmdb(txn), s->heads, &c))) return rc;
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 32 || v.mv_size < 72) { rc = 1; break; }
    if (n == cap && !(h = realloc(h, (cap = cap ? 2 * cap : 64) * sizeof *h))) { rc = 1; break; }
    memcpy(h[n].author, k.mv_data, 32);
    memcpy(h[n++].head, v.mv_data, 72);
  }
  mdb_cursor_close(c);
  if (rc != MDB_NOTFOUND) { free(h); return rc ? rc : 1; }
  rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++)
    if (!(rc = old_tree(txn, s, o.tree, h[i].author, be64_get(h[i].head))))
      rc = store_put(txn, s, STORE_DB_HEADS, h[i].author, 32, h[i].head, 72);
  free(h);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), s->log, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), s->runs, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), s->byid, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), s->merkle, 1);
  return rc;
}

static int to_old(struct store_txn *txn, void *ctx)
{
  struct store *s = ctx;
  int rc = to_layout1(txn, s);
  return rc ? rc : to_old_log(txn, s);
}

int main(int argc, char **argv)
{
  struct store *s;
  if (argc != 2) { fprintf(stderr, "usage: oldstore DIR\n"); return 2; }
  if (store_open(&s, argv[1], 0) || s->derived_stale) { fprintf(stderr, "oldstore: cannot open a current store in %s\n", argv[1]); return 1; }
  int rc = store_write(s, to_old, s);
  store_close(s);
  if (rc) { fprintf(stderr, "oldstore: failed (%d)\n", rc); return 1; }
  return 0;
}
