/*
 * tree — each feed's RFC 9162 Merkle tree, kept in the store.
 *
 * Leaf i of a feed's tree is the record at seq i + 1; its leaf hash is
 * SHA-256(0x00 || envelope bytes). The store keeps the hash of every complete (perfect)
 * subtree of 2^TREE_FLOOR leaves or more: `merkle` maps author(32) || last(8, BE) ||
 * level(1) to the hash of leaves [index × 2^level, (index + 1) × 2^level), where last
 * = (index + 1) × 2^level - 1 is the leaf that completes it (so nodes are appended in
 * key order). Below
 * the floor, nodes are hashed from the records themselves when needed (at most
 * 2^(TREE_FLOOR-1) records); only the leaves of the block still open are kept, so a
 * feed costs 1/8 of a node per record instead of two. Appending leaf n writes its hash
 * and, when it closes a block, the block's root and the subtrees it completes, in the
 * same write transaction as the record. Any MTH(D[a:b]) — roots of any size, proof
 * nodes — is assembled from those in O(log n) reads.
 */
#ifndef KK_TREE_H
#define KK_TREE_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

#define TREE_MAX_PROOF 128
#define TREE_FLOOR 4             /* blocks of 16 leaves: the lowest level kept */
#define TREE_KEY 41              /* author(32) || last leaf covered(8, BE) || level(1) */

/* Adds the leaf of record env (the feed's record at seq, just appended to the log) to
 * its feed's tree: what every append of a record to the log is followed by, in the same
 * transaction. 0 or a storage error. */
int tree_append_record(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                       const uint8_t *env, size_t len);

/* Adds leaf `index` (must be the feed's next leaf). 0 or a storage error. */
int tree_append(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index,
                const uint8_t leaf_hash[32]);

/* Whether env[0..len) — the record at seq index + 1 as just read from the store — is
 * leaf `index` of the feed's tree: its kept leaf hash, or for a closed block the block's
 * root recomputed from its records. 0, KK_E_CORRUPT when it is not. */
int tree_leaf_check(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index,
                    const uint8_t *env, size_t len);

/* How many of envs[0..n) — the records at seqs first + 1 .. first + n of the feed, as
 * just read from the store — are, from the first on, the leaves the tree holds: into
 * *ok (n when all are). Guards records read back from disk before they are served: a
 * closed block is checked once, by its root, reading the block's records outside the
 * run. 0, or a storage error. */
int tree_check_run(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t first,
                   const uint8_t *const *envs, const size_t *lens, size_t n, size_t *ok);

/* Checks every feed's newest record against its head and its tree: the record exists,
 * hashes to the head's id, and is the tree's last leaf. Cheap (one record per feed);
 * run when a node opens its store so a damaged file is reported before anything is
 * served. 0, or KK_E_CORRUPT with bad_author (may be NULL) naming the first bad feed. */
int tree_check_heads(struct store_txn *txn, struct store *s, uint8_t bad_author[32]);

/* Moves the tree an earlier version kept (STORE_DB_OLD_TREE, keyed author || level ||
 * index, every node kept) into this one's, leaving out what is now hashed from the
 * records (levels 1 .. TREE_FLOOR-1, the leaves of closed blocks): at most max nodes
 * per call, starting at old key `from` (zeroed for the first call). *more is 1 when
 * there is more to do: from then holds where to go on. Puts are idempotent, so an
 * interrupted migration may start over. For store_migrate_log, after the heads are
 * final. */
int tree_migrate(struct store_txn *txn, struct store *s, uint8_t from[TREE_KEY], size_t max, int *more);

/* Root of the feed's tree over its first `size` leaves (SHA-256("") for size 0).
 * STORE_ABSENT when the feed has fewer leaves. */
int tree_root(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, uint8_t root[32]);

/* Inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162 §2.1.3.1);
 * *n gets the number of hashes written to proof. */
int tree_inclusion(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index, uint64_t size,
                   uint8_t (*proof)[32], size_t *n);

/* Consistency proof between sizes 0 < size1 <= size2 (RFC 9162 §2.1.4.1). */
int tree_consistency(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size1, uint64_t size2,
                     uint8_t (*proof)[32], size_t *n);

#endif
