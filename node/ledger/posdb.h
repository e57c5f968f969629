/*
 * posdb — databases about feed positions, keyed author(32) || rest, stored with the
 * author once per feed.
 *
 * Derived state about records (lots, spends, transfers) is keyed by the position of
 * the record it is about, so that a batch's entries land next to each other (decision
 * 24). Keyed author || seq || …, every entry repeated its author's 32 bytes. A posdb
 * keeps such a database as LMDB duplicates (MDB_DUPSORT): the key is the author, each
 * duplicate is rest || value, sorted by rest (fixed-length per database, big-endian).
 * An entry then costs its rest, its value and LMDB's 10 bytes of node overhead.
 * rest + value must fit LMDB's limit on a duplicate's size (POSDB_MAX bytes).
 *
 * Functions return 0, STORE_ABSENT where stated, or a store error (store_err).
 */
#ifndef KK_POSDB_H
#define KK_POSDB_H

#include "store.h"
#include <stddef.h>
#include <stdint.h>

#define POSDB_MAX 511 /* LMDB's largest duplicate */

/* The value of (author, rest[0..rlen)), valid until the transaction writes or ends.
 * STORE_ABSENT when absent. */
int posdb_get(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen,
              const void **val, size_t *vlen);

/* Sets the value of (author, rest), replacing the one there (nothing is written when it
 * is the same). KK_E_INTERNAL when rlen + vlen > POSDB_MAX. */
int posdb_put(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen,
              const void *val, size_t vlen);

/* Removes (author, rest); 0 when it was not there. */
int posdb_del(struct store_txn *txn, struct store *s, enum store_db db, const uint8_t author[32], const uint8_t *rest, size_t rlen);

/* Calls fn(arg, author, rest, val, vlen) for each entry — of `author` only when not
 * NULL, and then only those whose rest begins with prefix[0..plen) — in key order,
 * until fn returns non-zero, which is returned; 0 at the end. Entries shorter than
 * rlen are KK_E_CORRUPT. */
typedef int (*posdb_fn)(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen);
int posdb_each(struct store_txn *txn, struct store *s, enum store_db db, size_t rlen, const uint8_t *author, const uint8_t *prefix, size_t plen,
               posdb_fn fn, void *arg);

#endif
