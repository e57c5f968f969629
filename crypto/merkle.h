/*
 * merkle — RFC 9162 Merkle tree hashing and proof verification (SHA-256).
 *
 *   leaf hash = SHA-256(0x00 || leaf bytes)     node hash = SHA-256(0x01 || left || right)
 *   MTH(D[n]) splits at k, the largest power of two smaller than n.
 *
 * Pure functions over caller-owned 32-byte hashes; thread-safe. Building and storing a
 * feed's tree is node/tree's job; these check proofs anyone can check offline.
 */
#ifndef KK_MERKLE_H
#define KK_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define MERKLE_HASH 32

void merkle_leaf_hash(uint8_t out[MERKLE_HASH], const uint8_t *leaf, size_t len);
void merkle_node_hash(uint8_t out[MERKLE_HASH], const uint8_t left[MERKLE_HASH], const uint8_t right[MERKLE_HASH]);

/* Largest power of two strictly smaller than n (n >= 2). */
uint64_t merkle_split(uint64_t n);

/* RFC 9162 §2.1.3.2: 0 when proof[0..n) proves leaf_hash at leaf_index in the tree of
 * tree_size leaves whose root is root; -1 otherwise. */
int merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[MERKLE_HASH],
                            const uint8_t (*proof)[MERKLE_HASH], size_t n, const uint8_t root[MERKLE_HASH]);

/* RFC 9162 §2.1.4.2: 0 when proof[0..n) shows the tree of size1 leaves (root1) is a
 * prefix of the tree of size2 leaves (root2); -1 otherwise. Equal sizes need an empty
 * proof and equal roots. An empty tree (size1 == 0) has no root to be consistent with:
 * refused, as the transparency-dev vectors expect. */
int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH],
                              const uint8_t root2[MERKLE_HASH], const uint8_t (*proof)[MERKLE_HASH], size_t n);

/* Subtrees (the Merkle Tree Certificates draft, §4.3–4.4): [start, end) is a valid
 * subtree when start < end and start is a multiple of the smallest power of two that is
 * at least end - start. 1 valid, 0 not. */
int merkle_valid_subtree(uint64_t start, uint64_t end);

/* 0 when proof shows leaf_hash at leaf_index inside the subtree [start, end) whose hash
 * is subtree_hash; -1 otherwise. */
int merkle_verify_subtree_inclusion(uint64_t leaf_index, uint64_t start, uint64_t end,
                                    const uint8_t leaf_hash[MERKLE_HASH], const uint8_t (*proof)[MERKLE_HASH],
                                    size_t n, const uint8_t subtree_hash[MERKLE_HASH]);

/* 0 when proof shows the subtree [start, end) with hash subtree_hash sits at those
 * positions in the tree of size leaves with root root; -1 otherwise. An empty subtree
 * (start == end) is consistent with any tree it fits in, with an empty proof, when its
 * hash is that of the empty tree, SHA-256(""). */
int merkle_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                      const uint8_t subtree_hash[MERKLE_HASH], const uint8_t root[MERKLE_HASH],
                                      const uint8_t (*proof)[MERKLE_HASH], size_t n);

/* Root from an inclusion proof (the hash the proof leads to); -1 when the proof's
 * length does not fit the position. */
int merkle_root_from_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[MERKLE_HASH],
                               const uint8_t (*proof)[MERKLE_HASH], size_t n, uint8_t root[MERKLE_HASH]);

/* Inclusion proofs of many leaves of one tree, checked against one root (a proof
 * bundle's records against their checkpoint). Every node a proof was verified to lead
 * through is remembered with its position, and a later path that computes a remembered
 * node at the same position is proven there: many leaves then cost about two hashes
 * each instead of log n. */
struct merkle_memo_node { uint64_t index; uint32_t level; int used; uint8_t hash[MERKLE_HASH]; };
struct merkle_memo {
  uint64_t size;
  uint8_t root[MERKLE_HASH];
  struct merkle_memo_node *t;   /* open addressing */
  size_t cap, n;
};
void merkle_memo_init(struct merkle_memo *m, uint64_t tree_size, const uint8_t root[MERKLE_HASH]);
void merkle_memo_free(struct merkle_memo *m);
/* merkle_verify_inclusion against the memo's tree and root: 0, -1, or -ENOMEM (the
 * memo could not grow: nothing was decided). */
int merkle_memo_verify(struct merkle_memo *m, uint64_t leaf_index, const uint8_t leaf_hash[MERKLE_HASH],
                       const uint8_t (*proof)[MERKLE_HASH], size_t n);

#endif
