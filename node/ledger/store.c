/*
 * store — LMDB environment, named databases, map growth, digest.
 */
#include "store_lmdb.h"
#include "store.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../../crypto/merkle.h"
#include "../../proto/codec.h"

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

int store_err(int rc)
{
  if (rc == EIO || rc == ENOSPC || rc == EFBIG || rc == EDQUOT) return KK_ERR(DISK_WRITE);
  if (rc > 0) return -rc;
  if (rc == MDB_NOTFOUND) return STORE_ABSENT;
  if (rc == MDB_MAP_FULL) return STORE_MAP_FULL;
  if (rc == MDB_MAP_RESIZED) return STORE_MAP_RESIZED;
  if (rc == MDB_INVALID || rc == MDB_CORRUPTED || rc == MDB_PAGE_NOTFOUND || rc == MDB_VERSION_MISMATCH ||
      rc == MDB_INCOMPATIBLE)
    return KK_ERR(CORRUPT);
  if (rc == MDB_KEYEXIST) return KK_ERR(EXISTS); /* a put that must not replace (the log) */
  if (rc == MDB_READERS_FULL || rc == MDB_TXN_FULL || rc == MDB_CURSOR_FULL || rc == MDB_PAGE_FULL ||
      rc == MDB_DBS_FULL || rc == MDB_TLS_FULL || rc == MDB_BAD_RSLOT)
    return STORE_LIMIT;
  if (rc >= MDB_KEYEXIST && rc <= MDB_LAST_ERRCODE) return KK_ERR(INTERNAL); /* a misuse: BAD_TXN, BAD_DBI, ... */
  return rc; /* Kiroku's own, or -errno */
}

struct store_dbdef { const char *name; size_t off; int derived; unsigned flags; };

#define D(field, derived) { #field, offsetof(struct store, field), derived, 0 }
#define DUPS(field, derived, flags) { #field, offsetof(struct store, field), derived, flags }
/* Order matters for the digest: derived databases are hashed in this order. */
static const struct store_dbdef store_dbs[] = {
  D(log, 0), D(runs, 0), DUPS(byid, 0, MDB_DUPSORT), D(heads, 0), DUPS(merkle, 0, MDB_DUPSORT), D(keys, 0),
  D(ckpts, 0), D(cosigs, 0), D(evidence, 0), D(frozen, 0), D(unverified, 0),
  D(status, 1), D(members, 1), DUPS(lots, 1, MDB_DUPSORT), DUPS(codes, 1, MDB_DUPSORT),
  DUPS(transfers, 1, MDB_DUPSORT), D(claims, 1),
  D(attests, 1), D(revoked, 1), DUPS(spends, 1, MDB_DUPSORT), D(cursors, 1), D(incidents, 1),
  DUPS(made, 1, MDB_DUPSORT),
  D(pending, 0), D(meta, 0), D(witnessed, 0),
};
#undef D
#undef DUPS
#define STORE_NDBS (sizeof store_dbs / sizeof store_dbs[0])

static MDB_dbi *store_dbi(struct store *s, size_t i)
{
  return (MDB_dbi *)((char *)s + store_dbs[i].off);
}

_Static_assert(STORE_NDBS == STORE_DB__COUNT, "enum store_db names every database, in store_dbs' order");

MDB_dbi store_dbi_of(const struct store *s, enum store_db db)
{
  if (db == STORE_DB_OLD_TREE) return s->old_tree;
  return *(const MDB_dbi *)((const char *)s + store_dbs[db].off);
}

static int store_open_flags(struct store **out, const char *dir, int readonly, unsigned extra, size_t map);

/* LMDB's messages for its codes, for kk_strerror (the base layer knows no LMDB). */
static const char *lmdb_message(int code) { return mdb_strerror(code); }

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
static int store_check_layout(struct store_txn *txn, struct store *s)
{
  const void *v;
  size_t n;
  MDB_stat st;
  uint8_t cur[4];
  be32_put(cur, STORE_LAYOUT);
  int rc = store_meta_get(txn, s, "layout", &v, &n);
  if (rc == 0 && n == 4 && memcmp(v, cur, 4) == 0) return 0;
  if (rc != 0 && rc != STORE_ABSENT) return rc;
  if ((rc = mdb_stat(txn_lmdb(txn), s->log, &st))) return store_err(rc);
  if (st.ms_entries > 0 || s->log_stale) {
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
  kk_err_register_library(MDB_KEYEXIST, MDB_LAST_ERRCODE, "LMDB", lmdb_message);
  for (;;) {
    if ((rc = mdb_env_create(&s->env))) goto fail;
    mdb_env_set_maxdbs(s->env, STORE_NDBS + 4); /* + an earlier log's four */
    mdb_env_set_mapsize(s->env, map);
    rc = mdb_env_open(s->env, dir, (readonly ? MDB_RDONLY : 0) | MDB_NOTLS | extra, 0600);
    if (rc == 0) break;
    mdb_env_close(s->env);
    s->env = NULL;
    if ((rc != ENOMEM && rc != EINVAL) || map / 2 < STORE_MIN_MAP || map / 2 < used) goto fail;
    map /= 2;
  }

  MDB_txn *mt;
  if ((rc = mdb_txn_begin(s->env, NULL, readonly ? MDB_RDONLY : 0, &mt))) goto fail;
  struct store_txn *txn = txn_of(mt);
  /* A log kept by author || seq (layout 2 and earlier) is moved by store_migrate_log;
   * its databases stay until the migration has finished, even when emptied. */
  if (mdb_dbi_open(txn_lmdb(txn), "records", 0, &s->old_records) == 0 && mdb_dbi_open(txn_lmdb(txn), "arrivals", 0, &s->old_arrivals) == 0 &&
      mdb_dbi_open(txn_lmdb(txn), "ids", 0, &s->old_ids) == 0 && mdb_dbi_open(txn_lmdb(txn), "tree", 0, &s->old_tree) == 0) {
    if (readonly) { mdb_txn_abort(txn_lmdb(txn)); rc = KK_ERR(OLD_STORE); goto fail; }
    s->log_stale = 1;
  }
  for (size_t i = 0; i < STORE_NDBS; i++) {
    rc = mdb_dbi_open(txn_lmdb(txn), store_dbs[i].name, store_dbs[i].flags | (readonly ? 0 : MDB_CREATE), store_dbi(s, i));
    /* An existing database keeps the flags it was made with (LMDB ignores ours): one of
     * an earlier layout made without duplicates is derived state, which goes and is
     * rebuilt (store_check_layout flags it), or in a read-only open an older layout. */
    unsigned have;
    if (rc == 0 && (rc = mdb_dbi_flags(txn_lmdb(txn), *store_dbi(s, i), &have)) == 0 &&
        (have & (MDB_DUPSORT | MDB_DUPFIXED)) != store_dbs[i].flags) {
      if (readonly || !store_dbs[i].derived) rc = MDB_NOTFOUND;
      else if (!(rc = mdb_drop(txn_lmdb(txn), *store_dbi(s, i), 1)))
        rc = mdb_dbi_open(txn_lmdb(txn), store_dbs[i].name, store_dbs[i].flags | MDB_CREATE, store_dbi(s, i));
    }
    if (rc) {
      mdb_txn_abort(txn_lmdb(txn));
      /* The first database missing: no ledger; a later one: an older layout. */
      if (rc == MDB_NOTFOUND) rc = i == 0 && !s->old_records ? KK_ERR(NOT_INIT) : KK_ERR(OLD_STORE);
      goto fail;
    }
  }
  if ((rc = store_check_layout(txn, s))) { mdb_txn_abort(txn_lmdb(txn)); goto fail; }
  if ((rc = mdb_txn_commit(txn_lmdb(txn)))) goto fail;
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

int store_write(struct store *s, int (*fn)(struct store_txn *txn, void *ctx), void *ctx)
{
  for (;;) {
    MDB_txn *mt;
    int rc = mdb_txn_begin(s->env, NULL, 0, &mt);
    if (rc == MDB_MAP_RESIZED && !s->shared) { /* another process grew the map */
      if ((rc = store_adopt_map_size(s))) return rc;
      continue;
    }
    if (rc) return store_err(rc); /* a shared store: STORE_MAP_RESIZED for its owner */
    rc = fn(txn_of(mt), ctx);
    if (rc == 0) rc = mdb_txn_commit(mt);
    else mdb_txn_abort(mt);
    rc = store_err(rc); /* fn's own results pass unchanged; LMDB's become Kiroku's */
    if (rc != STORE_MAP_FULL) return rc;
    if (s->shared) return STORE_MAP_FULL;   /* the owner grows it when it is safe */
    if ((rc = store_grow(s))) return rc;
  }
}

void store_set_shared(struct store *s) { s->shared = 1; }

int store_derived_stale(const struct store *s) { return s->derived_stale; }

void store_derived_rebuilt(struct store *s) { s->derived_stale = 0; }

int store_grow(struct store *s)
{
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  int rc = mdb_env_set_mapsize(s->env, info.me_mapsize * 2);
  return rc ? store_err(rc) : 0;
}

int store_adopt_map_size(struct store *s)
{
  int rc = mdb_env_set_mapsize(s->env, 0);
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

int store_read(struct store *s, struct store_txn **txn)
{
  MDB_txn *mt = NULL;
  int rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &mt);
  if (rc == MDB_MAP_RESIZED && !s->shared) {
    /* Another process grew the map: adopt its size and try again. A shared store
     * cannot (other threads may hold transactions): STORE_MAP_RESIZED goes to its owner. */
    if ((rc = store_adopt_map_size(s))) return rc;
    rc = mdb_txn_begin(s->env, NULL, MDB_RDONLY, &mt);
  }
  *txn = rc ? NULL : txn_of(mt);
  return store_err(rc);
}

int store_get(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen, const void **val,
              size_t *vlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_val k = { klen, (void *)key }, v = { 0, NULL };
  int rc = mdb_get(txn_lmdb(txn), dbi, &k, &v);
  if (val) *val = rc ? NULL : v.mv_data;
  if (vlen) *vlen = rc ? 0 : v.mv_size;
  return rc ? store_err(rc) : 0;
}

int store_put(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen, const void *val,
              size_t vlen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_val k = { klen, (void *)key }, v = { vlen, (void *)val };
  return store_err(mdb_put(txn_lmdb(txn), dbi, &k, &v, 0));
}

int store_del(struct store_txn *txn, struct store *s, enum store_db db, const void *key, size_t klen)
{
  MDB_dbi dbi = store_dbi_of(s, db);
  MDB_val k = { klen, (void *)key };
  int rc = mdb_del(txn_lmdb(txn), dbi, &k, NULL);
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

void store_txn_abort(struct store_txn *txn)
{
  if (txn) mdb_txn_abort(txn_lmdb(txn));
}

int store_head_decode(const void *v, size_t n, struct store_head *h)
{
  if (n != 8 + 32 + 32 + 16 && n != 8 + 32 + 32) return KK_ERR(CORRUPT); /* the shorter: before runs */
  h->seq = be64_get(v);
  memcpy(h->last_id, (const uint8_t *)v + 8, 32);
  memcpy(h->key, (const uint8_t *)v + 40, 32);
  h->run_first = n > 72 ? be64_get((const uint8_t *)v + 72) : 0;
  h->run_arrival = n > 72 ? be64_get((const uint8_t *)v + 80) : 0;
  return 0;
}

int store_meta_get(struct store_txn *txn, struct store *s, const char *name, const void **val, size_t *vlen)
{
  return store_get(txn, s, STORE_DB_META, name, strlen(name), val, vlen);
}

int store_meta_put(struct store_txn *txn, struct store *s, const char *name, const void *val, size_t vlen)
{
  return store_put(txn, s, STORE_DB_META, name, strlen(name), val, vlen);
}

int store_head_get(struct store_txn *txn, struct store *s, const uint8_t author[32], struct store_head *h)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s, STORE_DB_HEADS, author, 32, &v, &n);
  return rc ? rc : store_head_decode(v, n, h);
}

int store_head_put(struct store_txn *txn, struct store *s, const uint8_t author[32], const struct store_head *h)
{
  uint8_t v[88];
  be64_put(v, h->seq);
  memcpy(v + 8, h->last_id, 32);
  memcpy(v + 40, h->key, 32);
  be64_put(v + 72, h->run_first);
  be64_put(v + 80, h->run_arrival);
  return store_put(txn, s, STORE_DB_HEADS, author, 32, v, sizeof v);
}

static void store_feedkey(uint8_t k[40], const uint8_t author[32], uint64_t seq)
{
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
}

/* The run of the feed holding seq: its first seq, arrival and count. STORE_ABSENT
 * when the feed has no record at seq. With `next`, the first run holding a seq at or
 * after seq instead (for sparse stores). */
static int store_run(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, int next,
                     uint64_t *first, uint64_t *arrival, uint64_t *count)
{
  uint8_t k[40];
  store_feedkey(k, author, seq);
  MDB_cursor *c;
  MDB_val ck = { 40, k }, cv, pk, pv;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->runs, &c);
  if (rc) return store_err(rc);
  int at = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE); /* the first run starting at seq or later */
  int found = 0;
  if (at == 0 && ck.mv_size == 40 && memcmp(ck.mv_data, k, 40) == 0) found = 1; /* starts at seq */
  if (!found && (at == 0 || at == MDB_NOTFOUND)) {
    /* the run before it, if it is this feed's and reaches seq */
    int before = mdb_cursor_get(c, &pk, &pv, at == 0 ? MDB_PREV : MDB_LAST);
    if (before == 0 && pk.mv_size == 40 && pv.mv_size == 16 && memcmp(pk.mv_data, author, 32) == 0 &&
        seq - be64_get((const uint8_t *)pk.mv_data + 32) < be64_get((const uint8_t *)pv.mv_data + 8)) {
      ck = pk;
      cv = pv;
      found = 1;
    }
  }
  if (!found && next && at == 0 && ck.mv_size == 40 && memcmp(ck.mv_data, author, 32) == 0) found = 1;
  if (at != 0 && at != MDB_NOTFOUND) rc = store_err(at);
  else if (!found) rc = STORE_ABSENT;
  else if (cv.mv_size != 16) rc = KK_ERR(CORRUPT);
  else {
    *first = be64_get((const uint8_t *)ck.mv_data + 32);
    *arrival = be64_get(cv.mv_data);
    *count = be64_get((const uint8_t *)cv.mv_data + 8);
  }
  mdb_cursor_close(c);
  return rc;
}

static int store_log_get(struct store_txn *txn, struct store *s, uint64_t arrival, const uint8_t **env, size_t *len)
{
  uint8_t k[8];
  const void *v;
  be64_put(k, arrival);
  int rc = store_get(txn, s, STORE_DB_LOG, k, 8, &v, len);
  if (rc == 0) *env = v;
  return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc; /* indexed but missing: damage */
}

int store_record_get(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                     const uint8_t **env, size_t *len)
{
  uint64_t first, arrival, count;
  int rc = store_run(txn, s, author, seq, 0, &first, &arrival, &count);
  return rc ? rc : store_log_get(txn, s, arrival + (seq - first), env, len);
}

/* byid: the first 8 bytes of a record id -> its arrival as a varint (duplicates). A
 * short key and value make the entry a third of id -> arrival; the record's bytes
 * settle which entry is the id's. */
#define STORE_IDKEY 8

/* Calls fn(arg, id, arrival, env, len) for the records whose id's first 8 bytes are at
 * or after `from` (8 bytes), in that order, until fn returns non-zero (its result is
 * returned; 0 when the index ends). */
static int store_byid_from(struct store_txn *txn, struct store *s, const uint8_t from[STORE_IDKEY], int exact,
                           int (*fn)(void *arg, const uint8_t id[32], const uint8_t *env, size_t len), void *arg)
{
  MDB_cursor *c;
  uint8_t key[STORE_IDKEY];
  memcpy(key, from, STORE_IDKEY);
  MDB_val k = { STORE_IDKEY, key }, v;
  int from_fn = 0;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->byid, &c);
  if (rc) return store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, exact ? MDB_SET_KEY : MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(c, &k, &v, exact ? MDB_NEXT_DUP : MDB_NEXT)) {
    const uint8_t *env;
    size_t len;
    uint8_t id[32];
    struct rd r;
    rd_init(&r, v.mv_data, v.mv_size);
    uint64_t arrival = rd_varint(&r);
    if (k.mv_size != STORE_IDKEY || rd_done(&r)) { rc = KK_ERR(CORRUPT); break; }
    if ((rc = store_log_get(txn, s, arrival, &env, &len))) break;
    crypto_hash_sha256(id, env, len);
    if (memcmp(id, k.mv_data, STORE_IDKEY) != 0) { rc = KK_ERR(CORRUPT); break; } /* indexed wrongly */
    if ((rc = fn(arg, id, env, len))) { from_fn = 1; break; }
  }
  mdb_cursor_close(c);
  if (from_fn) return rc; /* fn's result (1: found), unchanged */
  return rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

struct by_id { const uint8_t *id; const uint8_t *env; size_t len; };

static int by_id_match(void *arg, const uint8_t id[32], const uint8_t *env, size_t len)
{
  struct by_id *b = arg;
  if (memcmp(id, b->id, 32) != 0) return 0;
  b->env = env;
  b->len = len;
  return 1;
}

/* The record under byid key id[0..8) when it is the only one there: 0, 1 when there are
 * several (or none: STORE_ABSENT). */
static int store_byid_only(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t **env, size_t *len)
{
  MDB_cursor *c;
  MDB_val k = { STORE_IDKEY, (void *)id }, v;
  size_t count = 0;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->byid, &c);
  if (rc) return store_err(rc);
  rc = mdb_cursor_get(c, &k, &v, MDB_SET_KEY);
  if (rc == 0) rc = mdb_cursor_count(c, &count);
  if (rc == 0 && count == 1) {
    struct rd r;
    rd_init(&r, v.mv_data, v.mv_size);
    uint64_t arrival = rd_varint(&r);
    rc = rd_done(&r) ? KK_ERR(CORRUPT) : store_log_get(txn, s, arrival, env, len);
  } else if (rc == 0) {
    rc = 1;
  }
  mdb_cursor_close(c);
  return rc == 1 ? 1 : store_err(rc);
}

static int store_record_by_id_as(struct store_txn *txn, struct store *s, const uint8_t id[32], int held, uint8_t author[32],
                                 uint64_t *seq, const uint8_t **env, size_t *len)
{
  struct by_id b = { id, NULL, 0 };
  int rc = held ? store_byid_only(txn, s, id, &b.env, &b.len) : 1;
  if (rc == 1) {
    rc = store_byid_from(txn, s, id, 1, by_id_match, &b);
    if (rc != 1) return rc ? rc : STORE_ABSENT;
  } else if (rc) {
    return rc;
  }
  if (author || seq) {
    uint8_t a[32];
    uint64_t q;
    int kind;
    if (codec_record_position(b.env, b.len, a, &q, &kind)) return KK_ERR(CORRUPT);
    if (author) memcpy(author, a, 32);
    if (seq) *seq = q;
  }
  if (env) { *env = b.env; *len = b.len; }
  return 0;
}

int store_record_by_id(struct store_txn *txn, struct store *s, const uint8_t id[32],
                       uint8_t author[32], uint64_t *seq, const uint8_t **env, size_t *len)
{
  return store_record_by_id_as(txn, s, id, 0, author, seq, env, len);
}

int store_record_by_held_id(struct store_txn *txn, struct store *s, const uint8_t id[32],
                            uint8_t author[32], uint64_t *seq, const uint8_t **env, size_t *len)
{
  return store_record_by_id_as(txn, s, id, 1, author, seq, env, len);
}

/* a and b compared on their first n nibbles (hex digits) */
static int nibble_cmp(const uint8_t *a, const uint8_t *b, unsigned n)
{
  int c = memcmp(a, b, n / 2);
  if (c || n % 2 == 0) return c;
  return (a[n / 2] >> 4) - (b[n / 2] >> 4);
}

struct id_prefix {
  const uint8_t *prefix;
  unsigned nibbles;
  int past;                 /* the index went past the prefix */
  int (*fn)(void *arg, const uint8_t id[32]);
  void *arg;
};

static int id_prefix_step(void *arg, const uint8_t id[32], const uint8_t *env, size_t len)
{
  struct id_prefix *p = arg;
  (void)env;
  (void)len;
  /* the index is sorted on the first 8 bytes (16 nibbles) only */
  unsigned head = p->nibbles < 2 * STORE_IDKEY ? p->nibbles : 2 * STORE_IDKEY;
  int c = nibble_cmp(id, p->prefix, head);
  if (c > 0) { p->past = 1; return 1; }
  if (c < 0 || nibble_cmp(id, p->prefix, p->nibbles) != 0) return 0;
  return p->fn(p->arg, id);
}

int store_ids_with_prefix(struct store_txn *txn, struct store *s, const uint8_t *prefix, unsigned nibbles,
                          int (*fn)(void *arg, const uint8_t id[32]), void *arg)
{
  if (nibbles > 64) return KK_ERR(FIELD);
  uint8_t from[STORE_IDKEY] = { 0 };
  unsigned bytes = (nibbles + 1) / 2;
  memcpy(from, prefix, bytes < STORE_IDKEY ? bytes : STORE_IDKEY);
  if (nibbles % 2 && nibbles / 2 < STORE_IDKEY) from[nibbles / 2] &= 0xf0;
  struct id_prefix p = { prefix, nibbles, 0, fn, arg };
  int rc = store_byid_from(txn, s, from, 0, id_prefix_step, &p);
  return p.past ? 0 : rc;
}

/* Puts env at the log's next arrival and indexes it: ids, and the feed's runs (the last
 * run grows when the record follows it, in the feed and in the log). */
static int store_log_append(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t author[32],
                            uint64_t seq, const uint8_t *env, size_t len, struct store_head *h)
{
  uint64_t arrival;
  int rc = store_log_last(txn, s, &arrival);
  if (rc) return rc;
  arrival++;
  uint8_t ak[8];
  be64_put(ak, arrival);
  MDB_val k = { 8, ak }, v = { len, (void *)env };
  /* A record and its id are put never replacing one: MDB_APPEND refuses an arrival not
   * above the last, MDB_NODUPDATA the same id entry twice. */
  if ((rc = store_err(mdb_put(txn_lmdb(txn), s->log, &k, &v, MDB_APPEND)))) return rc;
  uint8_t av[BUF_VARINT_MAX];
  MDB_val ik = { STORE_IDKEY, (void *)id }, iv = { buf_varint_encode(av, arrival), av };
  if ((rc = store_err(mdb_put(txn_lmdb(txn), s->byid, &ik, &iv, MDB_NODUPDATA)))) return rc;
  if (!(h->run_arrival && seq > h->run_first && arrival - h->run_arrival == seq - h->run_first && h->seq == seq - 1)) {
    h->run_first = seq;
    h->run_arrival = arrival;
  }
  uint8_t rk[40], rv[16];
  store_feedkey(rk, author, h->run_first);
  be64_put(rv, h->run_arrival);
  be64_put(rv + 8, seq - h->run_first + 1);
  return store_put(txn, s, STORE_DB_RUNS, rk, 40, rv, 16);
}

int store_record_append(struct store_txn *txn, struct store *s, const uint8_t id[32],
                        const uint8_t author[32], uint64_t seq, const uint8_t *env,
                        size_t len, const uint8_t next_key[32])
{
  int rc;
  struct store_head h;
  rc = store_head_get(txn, s, author, &h);
  if (rc == STORE_ABSENT) { memset(&h, 0, sizeof h); memcpy(h.key, author, 32); }
  else if (rc) return rc;
  if ((rc = store_log_append(txn, s, id, author, seq, env, len, &h))) return rc;
  uint8_t k[40];
  store_feedkey(k, author, seq);
  if (memcmp(h.key, next_key, 32) != 0 && (rc = store_put(txn, s, STORE_DB_KEYS, k, 40, next_key, 32))) return rc;
  h.seq = seq;
  memcpy(h.last_id, id, 32);
  memcpy(h.key, next_key, 32);
  return store_head_put(txn, s, author, &h);
}

int store_feed_each(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t from, uint64_t max,
                    int (*fn)(void *arg, uint64_t seq, const uint8_t *env, size_t len), void *arg)
{
  uint64_t q = from, end = UINT64_MAX - from < max ? UINT64_MAX : from + max;
  while (q < end) {
    uint64_t first, arrival, count;
    int rc = store_run(txn, s, author, q, 0, &first, &arrival, &count);
    if (rc) return rc == STORE_ABSENT ? 0 : rc; /* the feed ends (or has a gap) here */
    /* within a run the records are consecutive arrivals: read them without a cursor */
    for (; q < first + count && q < end; q++) {
      const uint8_t *env;
      size_t len;
      if ((rc = store_log_get(txn, s, arrival + (q - first), &env, &len)) || (rc = fn(arg, q, env, len))) return rc;
    }
  }
  return 0;
}

int store_record_next(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint64_t *got,
                      const uint8_t **env, size_t *len)
{
  /* A replica's feeds have no gaps; a proof bundle's sparse store does. */
  uint64_t first, arrival, count;
  int rc = store_run(txn, s, author, seq, 1, &first, &arrival, &count);
  if (rc) return rc;
  uint64_t q = seq > first ? seq : first;
  *got = q;
  return store_log_get(txn, s, arrival + (q - first), env, len);
}

int store_record_put_sparse(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t author[32],
                            uint64_t seq, const uint8_t *env, size_t len)
{
  struct store_head h;
  int rc = store_head_get(txn, s, author, &h);
  if (rc == STORE_ABSENT) memset(&h, 0, sizeof h);
  else if (rc) return rc;
  if (seq <= h.seq) return 0; /* held (a feed goes in in seq order) */
  if ((rc = store_log_append(txn, s, id, author, seq, env, len, &h))) return rc;
  h.seq = seq;
  memcpy(h.last_id, id, 32);
  memcpy(h.key, author, 32);
  return store_head_put(txn, s, author, &h);
}

int store_key_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, uint8_t key[32])
{
  /* The last rotation at or before seq: the entry just below author || seq + 1. */
  uint8_t k[40];
  store_feedkey(k, author, seq + 1);
  MDB_cursor *c;
  MDB_val ck = { 40, k }, cv;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->keys, &c);
  if (rc) return store_err(rc);
  rc = mdb_cursor_get(c, &ck, &cv, MDB_SET_RANGE);
  if (rc == 0 || rc == MDB_NOTFOUND) rc = mdb_cursor_get(c, &ck, &cv, rc == 0 ? MDB_PREV : MDB_LAST);
  memcpy(key, author, 32);
  if (rc == 0 && ck.mv_size == 40 && cv.mv_size == 32 && memcmp(ck.mv_data, author, 32) == 0)
    memcpy(key, cv.mv_data, 32);
  mdb_cursor_close(c);
  return rc == 0 || rc == MDB_NOTFOUND ? 0 : store_err(rc);
}

int store_frozen_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t *seq)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s, STORE_DB_FROZEN, author, 32, &v, &n);
  *seq = 0;
  if (rc == STORE_ABSENT) return 0;
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  *seq = be64_get(v);
  return 0;
}

int store_clear_derived(struct store_txn *txn, struct store *s)
{
  for (size_t i = 0; i < STORE_NDBS; i++) {
    if (!store_dbs[i].derived) continue;
    int rc = mdb_drop(txn_lmdb(txn), *store_dbi(s, i), 0);
    if (rc) return store_err(rc);
  }
  /* Pending waits are re-discovered by the rebuild. */
  return store_err(mdb_drop(txn_lmdb(txn), s->pending, 0));
}

static void store_hash_len(crypto_hash_sha256_state *h, size_t n)
{
  uint8_t b[8];
  be64_put(b, n);
  crypto_hash_sha256_update(h, b, 8);
}

int store_digest(struct store_txn *txn, struct store *s, uint8_t out[32])
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
    int rc = mdb_cursor_open(txn_lmdb(txn), *store_dbi(s, i), &c);
    if (rc) return store_err(rc);
    MDB_val k, v;
    for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
      store_hash_len(&h, k.mv_size);
      crypto_hash_sha256_update(&h, k.mv_data, k.mv_size);
      store_hash_len(&h, v.mv_size);
      crypto_hash_sha256_update(&h, v.mv_data, v.mv_size);
    }
    mdb_cursor_close(c);
    if (rc != MDB_NOTFOUND) return store_err(rc);
    store_hash_len(&h, 0); /* end of database */
  }
  crypto_hash_sha256_final(&h, out);
  return 0;
}

int store_count_records(struct store_txn *txn, struct store *s, uint64_t *n)
{
  MDB_stat st;
  int rc = mdb_stat(txn_lmdb(txn), s->log, &st);
  if (rc == 0) *n = st.ms_entries;
  return store_err(rc);
}

int store_log_last(struct store_txn *txn, struct store *s, uint64_t *arrival)
{
  MDB_cursor *c;
  MDB_val k, v;
  *arrival = 0;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->log, &c);
  if (rc) return store_err(rc);
  rc = mdb_cursor_get(c, &k, &v, MDB_LAST);
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) return 0; /* an empty log */
  if (rc) return store_err(rc);      /* never read as "empty": the next append would reuse 1 */
  if (k.mv_size != 8) return KK_ERR(CORRUPT);
  *arrival = be64_get(k.mv_data);
  return 0;
}

int store_log_each(struct store_txn *txn, struct store *s, uint64_t after,
                   int (*fn)(void *arg, uint64_t arrival, const uint8_t *env, size_t len), void *arg)
{
  MDB_cursor *c;
  uint8_t start[8];
  be64_put(start, after + 1);
  MDB_val k = { 8, start }, v;
  int from_fn = 0;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->log, &c);
  if (rc) return store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_SET_RANGE); rc == 0; rc = mdb_cursor_get(c, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 8) { rc = KK_ERR(CORRUPT); break; }
    if ((rc = fn(arg, be64_get(k.mv_data), v.mv_data, v.mv_size))) { from_fn = 1; break; }
  }
  mdb_cursor_close(c);
  return from_fn ? rc : rc == MDB_NOTFOUND ? 0 : store_err(rc); /* fn's result passes unchanged */
}

/* ---- moving an earlier log ------------------------------------------------------------ */

#define STORE_MIGRATE_BATCH 20000   /* records per transaction: bounded dirty pages */

struct migrate {
  struct store *s;
  uint64_t moved, total;
  int moved_all;               /* the old log is empty */
  int done;                    /* and the tree moved, the old databases gone */
  uint8_t tree_from[STORE_KEY_MAX]; /* where moving the tree goes on */
  store_tree_move_fn move_tree;
};

/* Moves the next batch of the old log, in its arrival order, into the new one; the old
 * entries go as they are moved, so an interrupted migration resumes where it stopped. */
static int migrate_fn(struct store_txn *txn, void *arg)
{
  struct migrate *m = arg;
  struct store *s = m->s;
  MDB_cursor *c;
  MDB_val k, v;
  size_t n = 0;
  int rc = mdb_cursor_open(txn_lmdb(txn), s->old_arrivals, &c);
  if (rc) return store_err(rc);
  for (rc = mdb_cursor_get(c, &k, &v, MDB_FIRST); rc == 0 && n < STORE_MIGRATE_BATCH;
       rc = mdb_cursor_get(c, &k, &v, MDB_FIRST), n++) {
    if (v.mv_size != 40) { rc = KK_ERR(CORRUPT); break; }
    uint8_t pos[40];
    memcpy(pos, v.mv_data, 40);
    MDB_val rk = { 40, pos }, rv;
    if ((rc = mdb_get(txn_lmdb(txn), s->old_records, &rk, &rv))) { rc = rc == MDB_NOTFOUND ? KK_ERR(CORRUPT) : store_err(rc); break; }
    uint8_t *env = mem_alloc(rv.mv_size ? rv.mv_size : 1), id[32];
    if (!env) { rc = -ENOMEM; break; }
    size_t len = rv.mv_size;
    memcpy(env, rv.mv_data, len); /* the puts below may move pages */
    crypto_hash_sha256(id, env, len);
    struct store_head h;
    uint64_t seq = be64_get(pos + 32);
    if ((rc = store_head_get(txn, s, pos, &h))) { /* a record of a feed without a head: damage */
      mem_free(env);
      if (rc == STORE_ABSENT) rc = KK_ERR(CORRUPT);
      break;
    }
    /* the head keeps its seq and key; only the run bookkeeping follows the moves */
    uint64_t keep = h.seq;
    h.seq = seq - 1;
    if (seq == 1 || h.run_arrival == 0) h.run_arrival = 0;
    rc = store_log_append(txn, s, id, pos, seq, env, len, &h);
    mem_free(env);
    h.seq = keep;
    if (rc || (rc = store_head_put(txn, s, pos, &h))) break;
    if ((rc = mdb_cursor_del(c, 0)) || (rc = mdb_del(txn_lmdb(txn), s->old_records, &rk, NULL))) { rc = store_err(rc); break; }
    m->moved++;
  }
  mdb_cursor_close(c);
  if (rc == MDB_NOTFOUND) {
    m->moved_all = 1;
    rc = 0;
  }
  return rc;
}

/* With the log moved: moves the tree an earlier version kept in full, without what is
 * now hashed from records, a batch at a time; the last batch drops the old databases,
 * which ends the migration. */
static int migrate_tree_fn(struct store_txn *txn, void *arg)
{
  struct migrate *m = arg;
  int more;
  int rc = m->move_tree(txn, m->s, m->tree_from, STORE_MIGRATE_BATCH, &more);
  if (rc || more) return rc;
  m->done = 1;
  rc = mdb_drop(txn_lmdb(txn), m->s->old_arrivals, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), m->s->old_records, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), m->s->old_ids, 1);
  if (!rc) rc = mdb_drop(txn_lmdb(txn), m->s->old_tree, 1);
  return store_err(rc);
}

int store_migrate_log(struct store *s, store_tree_move_fn move_tree, void (*progress)(void *arg, uint64_t done, uint64_t total),
                      void *arg)
{
  if (!s->log_stale) return 0;
  struct migrate m = { .s = s, .move_tree = move_tree };
  struct store_txn *txn;
  MDB_stat st;
  int rc = store_read(s, &txn);
  if (rc) return rc;
  rc = mdb_stat(txn_lmdb(txn), s->old_arrivals, &st);
  mdb_txn_abort(txn_lmdb(txn));
  if (rc) return store_err(rc);
  m.total = st.ms_entries;
  while (!m.moved_all) {
    if ((rc = store_write(s, migrate_fn, &m))) return rc;
    if (progress) progress(arg, m.moved, m.total);
  }
  while (!m.done)
    if ((rc = store_write(s, migrate_tree_fn, &m))) return rc;
  s->log_stale = 0;
  return 0;
}
