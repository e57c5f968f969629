/*
 * store_lmdb — the store module's own view of a transaction: a `struct store_txn` is an
 * LMDB transaction under another name, so that nothing outside the module (store.c,
 * store_scan.c, posdb.c) can hand one to LMDB. Private to the module (and to white-box
 * tests that look at LMDB's databases directly).
 */
#ifndef KK_STORE_LMDB_H
#define KK_STORE_LMDB_H

#include "store.h"

#include <lmdb.h>

struct store {
  MDB_env *env;
  int readonly;
  int shared;                   /* used by several threads: store_write never grows it */
  int derived_stale;            /* the derived state has an earlier layout: rebuild it */
  MDB_dbi log, runs, byid, heads, merkle, keys;
  MDB_dbi ckpts, cosigs, evidence, frozen, unverified;
  MDB_dbi status, members, lots, codes, transfers, claims, attests, revoked, spends, cursors, incidents, made;
  MDB_dbi pending, meta, witnessed;
  /* A store written before the log was kept by arrival (layout 2 and earlier): records
   * by author || seq, arrivals, ids to author || seq, the tree in full by level. Open
   * only while not yet moved. */
  int log_stale;
  MDB_dbi old_records, old_arrivals, old_ids, old_tree;
};


/* The LMDB handle of one of the store's databases. */
MDB_dbi store_dbi_of(const struct store *s, enum store_db db);

static inline MDB_txn *txn_lmdb(struct store_txn *t) { return (MDB_txn *)(void *)t; }
static inline struct store_txn *txn_of(MDB_txn *t) { return (struct store_txn *)(void *)t; }

#endif
