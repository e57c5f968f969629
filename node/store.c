/*
 * store — LMDB environment, named databases, map growth, digest.
 */
#include "store.h"
#include "mem.h"
#include "buf.h"
#include "err.h"
#include "tree.h"
#include "../crypto/merkle.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The map of a node's store: address space, not disk (the file grows as pages are
 * used). Big enough never to need growing, because growing it safely requires that no
 * other thread of the process holds a transaction, and a node's loop thread reads
 * while its ingest thread writes (a map grown under a reader crashed a node). */
#define STORE_MAP ((size_t)1 << 40)
/* A scratch store is used by one thread: it starts small and grows (store_write). */
#define STORE_SCRATCH_MAP ((size_t)64 << 20)
#define STORE_MIN_MAP ((size_t)64 << 20)

/* LMDB returns system errors as positive errno values; Kiroku's convention is -errno. */
/* LMDB's codes at the module boundary: system errors (positive) become -errno, and the
 * codes that mean the file is damaged become KK_E_CORRUPT, so a user reads one clear
 * message whichever way LMDB noticed it. */
static int store_err(int rc)
{
  if (rc == EIO || rc == ENOSPC || rc == EFBIG || rc == EDQUOT) return KK_ERR(DISK_WRITE);
  if (rc > 0) return -rc;
  if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_VERSION_MISMATCH ||
      rc == MDB_INCOMPATIBLE)
    return KK_ERR(CORRUPT);
  return rc;
}

struct store_dbdef { const char *name; size_t off; int derived; };

#define D(field, derived) { #field, offsetof(struct store, field), derived }
/* Order matters for the digest: derived databases are hashed in this order. */
static const struct store_dbdef store_dbs[] = {
  D(records, 0), D(ids, 0), D(heads, 0), D(tree, 0), D(keys, 0),
  D(ckpts, 0), D(cosigs, 0), D(evidence, 0), D(frozen, 0), D(unverified, 0),
  D(status, 1), D(members, 1), D(lots, 1), D(codes, 1), D(transfers, 1), D(claims, 1),
  D(attests, 1), D(revoked, 1), D(spends, 1), D(cursors, 1), D(incidents, 1),
  D(pending, 0), D(arrivals, 0), D(meta, 0), D(witnessed, 0),
};
#undef D
#define STORE_NDBS (sizeof store_dbs / sizeof store_dbs[0])

static MDB_dbi *store_dbi(struct store *s, size_t i)
{
  return (MDB_dbi *)((char *)s + store_dbs[i].off);
}

static int store_open_flags(struct store **out, const char *dir, int readonly, unsigned extra, size_t map);

int store_open(struct store **out, const char *dir, int readonly)
{
  return store_open_flags(out, dir, readonly, 0, STORE_MAP);
}

int store_open_scratch(struct store **out, const char *dir)
{
  return store_open_flags(out, dir, 0, MDB_WRITEMAP | MDB_NOSYNC | MDB_NOMETASYNC, STORE_SCRATCH_MAP);
}

/* The layout of the derived state is recorded in meta "layout" (u32 BE). A new store
 * gets the current one; a ledger written by an earlier version (no or an older marker)
 * is refused when opened read-only, and flagged for a rebuild (rules_upgrade) when
 * opened for writing. */
static int store_check_layout(MDB_txn *txn, struct store *s)
{
  const void *v;
  size_t n;
  MDB_stat st;
  uint8_t cur[4];
  be32_put(cur, STORE_LAYOUT);
  int rc = store_meta_get(txn, s, "layout", &v, &n);
  if (rc == 0 && n == 4 && memcmp(v, cur, 4) == 0) return 0;
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  if ((rc = mdb_stat(txn, s->records, &st))) return rc;
  if (st.ms_entries > 0) {
    if (s->readonly) return KK_ERR(OLD_STORE);
    s->derived_stale = 1;
    return 0;
  }
  return s->readonly ? 0 : store_meta_put(txn, s, "layout", cur, 4);
}

static int store_open_flags(struct store **out, const char *dir, int readonly, unsigned extra, size_t map)
{
  char path[4096];
  struct stat st;
  int rc;
  snprintf(path, sizeof path, "%s/data.mdb", dir);
  if (readonly && stat(path, &st) != 0) return KK_ERR(NOT_INIT);
  struct store *s = mem_calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  s->readonly = readonly;
  /* Use the size already on disk when larger than the default: LMDB keeps it. */
  size_t used = stat(path, &st) == 0 ? (size_t)st.st_size : 0;
  if (used > map) map = used;
  /* Where address space is limited (ulimit -v, valgrind), reserving it fails: halve the
   * map until it fits, never below what the file already uses or STORE_MIN_MAP. A node
   * then grows it when full (store_grow). */
  for (;;) {
    if ((rc = mdb_env_create(&s->env))) goto fail;
    mdb_env_set_maxdbs(s->env, STORE_NDBS + 2);
    mdb_env_set_mapsize(s->env, map);
    rc = mdb_env_open(s->env, dir, (readonly ? MDB_RDONLY : 0) | MDB_NOTLS | extra, 0600);
    if (rc == 0) break;
    mdb_env_close(s->env);
    s->env = NULL;
    if ((rc != ENOMEM && rc != EINVAL) || map / 2 < STORE_MIN_MAP || map / 2 < used) goto fail;
    map /= 2;
  }

  MDB_txn *txn;
  if ((rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &txn))) goto fail;
  for (size_t i = 0; i < STORE_NDBS; i++) {
    rc = mdb_dbi_open(txn, store_dbs[i].name, readonly ? 0 : MDB_CREATE, store_dbi(s, i));
    if (rc) {
      mdb_txn_abort(txn);
      /* The first database missing: no ledger; a later one: an older layout. */
      if (rc == MDB_NOTFOUND) rc = i == 0 ? KK_ERR(NOT_INIT) : KK_ERR(OLD_STORE);
      goto fail;
    }
  }
  if ((rc = store_check_layout(txn, s))) { mdb_txn_abort(txn); goto fail; }
  if ((rc = mdb_txn_commit(txn))) goto fail;
  *out = s;
  return 0;
fail:
  store_close(s);
  return store_err(rc);
}

void store_close(struct store *s)
{
  if (!s) return;
  if (s->env) mdb_env_close(s->env);
  mem_free(s);
}

int store_write(struct store *s, int (*fn)(MDB_txn *txn, void *ctx), void *ctx)
{
  for (;;) {
    MDB_txn *txn;
    int rc = mdb_txn_begin(s->env, NULL, 0, &txn);
    if (rc) return rc;
    rc = fn(txn, ctx);
    if (rc == 0) rc = mdb_txn_commit(txn);
    else mdb_txn_abort(txn);
    if (rc != MDB_MAP_FULL) return store_err(rc);
    if (s->shared) return MDB_MAP_FULL;   /* the owner grows it when it is safe */
    if ((rc = store_grow(s))) return rc;
  }
}

void store_set_shared(struct store *s) { s->shared = 1; }

int store_grow(struct store *s)
{
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  int rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
  return rc ? store_err(rc) : 0;
}

int store_set_map_size(struct store *s, size_t bytes)
{
  int rc = mdb_env_set_mapsize(s->env, bytes);
  return rc ? store_err(rc) : 0;
}

size_t store_map_size(struct store *s)
{
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  return info.me_mapsize;
}

int store_read(struct store *s, MDB_txn **txn)
{
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
  if (rc == MDB_MAP_RESIZED) {
    /* Another process grew the map: adopt its size and try again. */
    mdb_env_set_mapsize(s->env, 0);
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, txn);
  }
  return store_err(rc);
}

int store_get(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void **val,
              size_t *vlen)
{
  MDB_val k = { klen, (void *)key }, v = { 0, NULL };
  int rc = mdb_get(txn, dbi, &k, &v);
  if (val) *val = rc ? NULL : v.mv_data;
  if (vlen) *vlen = rc ? 0 : v.mv_size;
  return rc ? store_err(rc) : 0;
}

int store_put(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen, const void *val,
              size_t vlen)
{
  MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
  return store_err(mdb_put(txn, dbi, &k, &v, 0));
}

int store_del(MDB_txn *txn, MDB_dbi dbi, const void *key, size_t klen)
{
  MDB_val k = { klen, (void *)key };
  int rc = mdb_del(txn, dbi, &k, NULL);
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int store_meta_get(MDB_txn *txn, struct store *s, const char *name, const void **val, size_t *vlen)
{
  return store_get(txn, s->meta, name, strlen(name), val, vlen);
}

int store_meta_put(MDB_txn *txn, struct store *s, const char *name, const void *val, size_t vlen)
{
  return store_put(txn, s->meta, name, strlen(name), val, vlen);
}

int store_head_get(MDB_txn *txn, struct store *s, const uint8_t author[32], struct store_head *h)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s->heads, author, 32, &v, &n);
  if (rc) return rc;
  if (n != 8 + 32 + 32) return KK_ERR(CORRUPT);
  h->seq = be64_get(v);
  memcpy(h->last_id, (const uint8_t *)v + 8, 32);
  memcpy(h->key, (const uint8_t *)v + 40, 32);
  return 0;
}

int store_head_put(MDB_txn *txn, struct store *s, const uint8_t author[32], const struct store_head *h)
{
  uint8_t v[72];
  be64_put(v, h->seq);
  memcpy(v + 8, h->last_id, 32);
  memcpy(v + 40, h->key, 32);
  return store_put(txn, s->heads, author, 32, v, sizeof v);
}

static void store_feedkey(uint8_t k[40], const uint8_t author[32], uint64_t seq)
{
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
}

int store_record_get(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                     const uint8_t **env, size_t *len)
{
  uint8_t k[40];
  const void *v;
  store_feedkey(k, author, seq);
  int rc = store_get(txn, s->records, k, 40, &v, len);
  if (rc == 0) *env = v;
  return rc;
}

int store_record_by_id(MDB_txn *txn, struct store *s, const uint8_t id[32],
                       uint8_t author[32], uint64_t *seq, const uint8_t **env, size_t *len)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s->ids, id, 32, &v, &n);
  if (rc) return rc;
  if (n != 40) return KK_ERR(CORRUPT);
  uint8_t a[32];
  memcpy(a, v, 32);
  uint64_t q = be64_get((const uint8_t *)v + 32);
  if (author) memcpy(author, a, 32);
  if (seq) *seq = q;
  if (!env) return 0;
  return store_record_get(txn, s, a, q, env, len);
}

int store_record_append(MDB_txn *txn, struct store *s, const uint8_t id[32],
                        const uint8_t author[32], uint64_t seq, const uint8_t *env,
                        size_t len, const uint8_t next_key[32])
{
  uint8_t k[40];
  int rc;
  store_feedkey(k, author, seq);
  if ((rc = store_put(txn, s->records, k, 40, env, len))) return rc;
  if ((rc = store_put(txn, s->ids, id, 32, k, 40))) return rc;
  uint8_t leaf[32];
  merkle_leaf_hash(leaf, env, len);
  if ((rc = tree_append(txn, s, author, seq - 1, leaf))) return rc;
  struct store_head h;
  rc = store_head_get(txn, s, author, &h);
  if (rc == MDB_NOTFOUND) memcpy(h.key, author, 32);
  else if (rc) return rc;
  if (memcmp(h.key, next_key, 32) != 0 && (rc = store_put(txn, s->keys, k, 40, next_key, 32))) return rc;
  h.seq = seq;
  memcpy(h.last_id, id, 32);
  memcpy(h.key, next_key, 32);
  if ((rc = store_head_put(txn, s, author, &h))) return rc;

  /* arrivals: a local counter, so a node can tell peers what is new since X. */
  MDB_cursor *c;
  uint64_t next = 1;
  if ((rc = mdb_cursor_open(txn, s->arrivals, &c))) return rc;
  MDB_val ck, cv;
  if (mdb_cursor_get(c, &ck, &cv, MDB_LAST) == 0 && ck.mv_size == 8) next = be64_get(ck.mv_data) + 1;
  mdb_cursor_close(c);
  uint8_t ak[8];
  be64_put(ak, next);
  return store_put(txn, s->arrivals, ak, 8, k, 40);
}

int store_record_next(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint64_t *got,
                      const uint8_t **env, size_t *len)
{
  /* A replica's feeds have no gaps: the exact seq is the common case (the rules call
   * this for every record), a cursor only for a sparse store. */
  int rc = store_record_get(txn, s, author, seq, env, len);
  if (rc != MDB_NOTFOUND) {
    if (rc == 0) *got = seq;
    return rc;
  }
  uint8_t k[40];
  store_feedkey(k, author, seq);
  MDB_cursor *c;
  MDB_val ck = { 40, k }, cv;
  if ((rc = mdb_cursor_open(txn, s->records, &c))) return store_err(rc);
  rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
  if (rc == 0 && (ck.mv_size != 40 || memcmp(ck.mv_data, author, 32) != 0)) rc = MDB_NOTFOUND;
  if (rc == 0) {
    *got = be64_get((const uint8_t *)ck.mv_data + 32);
    *env = cv.mv_data;
    *len = cv.mv_size;
  }
  mdb_cursor_close(c);
  return rc == MDB_NOTFOUND ? rc : store_err(rc);
}

int store_record_put_sparse(MDB_txn *txn, struct store *s, const uint8_t id[32], const uint8_t author[32],
                            uint64_t seq, const uint8_t *env, size_t len)
{
  uint8_t k[40];
  int rc;
  store_feedkey(k, author, seq);
  if ((rc = store_put(txn, s->records, k, 40, env, len)) || (rc = store_put(txn, s->ids, id, 32, k, 40))) return rc;
  struct store_head h;
  rc = store_head_get(txn, s, author, &h);
  if (rc == MDB_NOTFOUND) memset(&h, 0, sizeof h);
  else if (rc) return rc;
  if (seq <= h.seq) return 0;
  h.seq = seq;
  memcpy(h.last_id, id, 32);
  memcpy(h.key, author, 32);
  return store_head_put(txn, s, author, &h);
}

int store_key_at(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint8_t key[32])
{
  /* The last rotation at or before seq: the entry just below author || seq + 1. */
  uint8_t k[40];
  store_feedkey(k, author, seq + 1);
  MDB_cursor *c;
  MDB_val ck = { 40, k }, cv;
  int rc = mdb_cursor_open(txn, s->keys, &c);
  if (rc) return store_err(rc);
  rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
  if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_cursor_get(c, &ck, &cv, rc == 0 ? MDB_PREV : MDB_LAST);
  memcpy(key, author, 32);
  if (rc == 0 && ck.mv_size == 40 && cv.mv_size == 32 && memcmp(ck.mv_data, author, 32) == 0)
    memcpy(key, cv.mv_data, 32);
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int store_frozen_at(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t *seq)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s->frozen, author, 32, &v, &n);
  *seq = 0;
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  *seq = be64_get(v);
  return 0;
}

int store_clear_derived(MDB_txn *txn, struct store *s)
{
  for (size_t i = 0; i < STORE_NDBS; i++) {
    if (!store_dbs[i].derived) continue;
    int rc = mdb_drop(txn, *store_dbi(s, i), 0);
    if (rc) return rc;
  }
  /* Pending waits are re-discovered by the rebuild. */
  return mdb_drop(txn, s->pending, 0);
}

static void store_hash_len(crypto_hash_sha256_state *h, size_t n)
{
  uint8_t b[8];
  be64_put(b, n);
  crypto_hash_sha256_update(h, b, 8);
}

int store_digest(MDB_txn *txn, struct store *s, uint8_t out[32])
{
  crypto_hash_sha256_state h;
  crypto_hash_sha256_init(&h);
  crypto_hash_sha256_update(&h, (const uint8_t *)"kiroku/state/v3", 15);
  for (size_t i = 0; i < STORE_NDBS; i++) {
    if (!store_dbs[i].derived) continue;
    const char *name = store_dbs[i].name;
    store_hash_len(&h, strlen(name));
    crypto_hash_sha256_update(&h, (const uint8_t *)name, strlen(name));
    MDB_cursor *c;
    int rc = mdb_cursor_open(txn, *store_dbi(s, i), &c);
    if (rc) return rc;
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      store_hash_len(&h, k.mv_size);
      crypto_hash_sha256_update(&h, k.mv_data, k.mv_size);
      store_hash_len(&h, v.mv_size);
      crypto_hash_sha256_update(&h, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return rc;
    store_hash_len(&h, 0); /* end of database */
  }
  crypto_hash_sha256_final(&h, out);
  return 0;
}

int store_count_records(MDB_txn *txn, struct store *s, uint64_t *n)
{
  MDB_stat st;
  int rc = mdb_stat(txn, s->records, &st);
  if (rc == 0) *n = st.ms_entries;
  return rc;
}
