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

static inline MDB_txn *txn_lmdb(struct store_txn *t) { return (MDB_txn *)(void *)t; }
static inline struct store_txn *txn_of(MDB_txn *t) { return (struct store_txn *)(void *)t; }

#endif
