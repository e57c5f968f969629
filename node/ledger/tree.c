/*
 * tree — perfect-subtree storage and the RFC 9162 proof constructions over it.
 */
#include "tree.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "posdb.h"
#include "../../crypto/merkle.h"
#include "../../crypto/sig.h"

#include <sodium.h>
#include <string.h>

/* A node's key: author || the last leaf it covers (8, BE) || level, in a posdb
 * (node/ledger/posdb.h: the author kept once). Nodes are written when their last leaf is
 * appended, so every write lands at the end of the feed's entries, whatever its level
 * (keyed level first, the levels' ranges filled side by side). */
#define TREE_REST (TREE_KEY - 32)
static void tree_key(uint8_t k[TREE_KEY], const uint8_t author[32], unsigned level, uint64_t index)
{
  memcpy(k, author, 32);
  be64_put(k + 32, ((index + 1) << level) - 1);
  k[40] = (uint8_t)level;
}

/* A stored node; STORE_ABSENT when absent. */
static int tree_stored(struct store_txn *txn, struct store *s, const uint8_t author[32], unsigned level, uint64_t index,
                       uint8_t out[32])
{
  uint8_t k[TREE_KEY];
  const void *v;
  size_t n;
  tree_key(k, author, level, index);
  int rc = posdb_get(txn, s, STORE_DB_MERKLE, k, k + 32, TREE_REST, &v, &n);
  if (rc) return rc;
  if (n != 32) return KK_ERR(CORRUPT);
  memcpy(out, v, 32);
  return 0;
}

/* Leaf hash `index`: kept while its block is open, else hashed from its record. */
static int tree_leaf(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index, uint8_t out[32])
{
  int rc = tree_stored(txn, s, author, 0, index, out);
  if (rc != STORE_ABSENT) return rc;
  const uint8_t *env;
  size_t len;
  if ((rc = store_record_get(txn, s, author, index + 1, &env, &len))) return rc;
  merkle_leaf_hash(out, env, len);
  return 0;
}

/* The node of the perfect subtree at (level, index): stored from TREE_FLOOR up,
 * computed from its leaves below. */
static int tree_get(struct store_txn *txn, struct store *s, const uint8_t author[32], unsigned level, uint64_t index,
                    uint8_t out[32])
{
  if (level >= TREE_FLOOR) return tree_stored(txn, s, author, level, index, out);
  if (level == 0) return tree_leaf(txn, s, author, index, out);
  uint8_t l[32], r[32];
  int rc = tree_get(txn, s, author, level - 1, index * 2, l);
  if (!rc) rc = tree_get(txn, s, author, level - 1, index * 2 + 1, r);
  if (!rc) merkle_node_hash(out, l, r);
  return rc;
}

/* The root of block b hashed from its leaves (what is stored at the floor once closed). */
static int tree_block(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t b, uint8_t out[32])
{
  uint8_t l[32], r[32];
  int rc = tree_get(txn, s, author, TREE_FLOOR - 1, b * 2, l);
  if (!rc) rc = tree_get(txn, s, author, TREE_FLOOR - 1, b * 2 + 1, r);
  if (!rc) merkle_node_hash(out, l, r);
  return rc;
}

int tree_append_record(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                       const uint8_t *env, size_t len)
{
  uint8_t leaf[32];
  merkle_leaf_hash(leaf, env, len);
  return tree_append(txn, s, author, seq - 1, leaf);
}

int tree_append(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index,
                const uint8_t leaf_hash[32])
{
  uint8_t k[TREE_KEY], cur[32], left[32];
  const uint64_t block = UINT64_C(1) << TREE_FLOOR;
  tree_key(k, author, 0, index);
  int rc = posdb_put(txn, s, STORE_DB_MERKLE, k, k + 32, TREE_REST, leaf_hash, 32);
  if (rc || (index + 1) % block) return rc;
  /* The leaf completes a block: keep its root, forget its leaves. */
  uint64_t first = index + 1 - block;
  if ((rc = tree_block(txn, s, author, first >> TREE_FLOOR, cur))) return rc == STORE_ABSENT ? KK_ERR(INTERNAL) : rc;
  for (uint64_t i = first; i <= index && rc == 0; i++) {
    tree_key(k, author, 0, i);
    rc = posdb_del(txn, s, STORE_DB_MERKLE, k, k + 32, TREE_REST);
  }
  unsigned level = TREE_FLOOR;
  uint64_t at = index >> TREE_FLOOR;
  tree_key(k, author, level, at);
  if (!rc) rc = posdb_put(txn, s, STORE_DB_MERKLE, k, k + 32, TREE_REST, cur, 32);
  /* Every odd index closes a perfect subtree one level up. */
  while (rc == 0 && (at & 1)) {
    if ((rc = tree_get(txn, s, author, level, at - 1, left))) break;
    merkle_node_hash(cur, left, cur);
    level++;
    at >>= 1;
    tree_key(k, author, level, at);
    rc = posdb_put(txn, s, STORE_DB_MERKLE, k, k + 32, TREE_REST, cur, 32);
  }
  return rc;
}

/* MTH(D[lo:hi]), hi > lo. */
static int tree_range(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t lo, uint64_t hi,
                      uint8_t out[32])
{
  uint64_t w = hi - lo;
  if ((w & (w - 1)) == 0 && lo % w == 0) {
    unsigned level = 0;
    while ((UINT64_C(1) << level) < w) level++;
    return tree_get(txn, s, author, level, lo >> level, out);
  }
  uint8_t l[32], r[32];
  uint64_t k = merkle_split(w);
  int rc = tree_range(txn, s, author, lo, lo + k, l);
  if (!rc) rc = tree_range(txn, s, author, lo + k, hi, r);
  if (!rc) merkle_node_hash(out, l, r);
  return rc;
}

int tree_root(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, uint8_t root[32])
{
  if (size == 0) { crypto_hash_sha256(root, NULL, 0); return 0; }
  return tree_range(txn, s, author, 0, size, root);
}

/* PATH(m, D[lo:hi]) appended to proof. */
static int tree_path(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t m, uint64_t lo, uint64_t hi,
                     uint8_t (*proof)[32], size_t *n)
{
  if (hi - lo == 1) return 0;
  if (*n >= TREE_MAX_PROOF) return KK_ERR(INTERNAL);
  uint64_t k = merkle_split(hi - lo);
  int rc;
  if (m < k) {
    if ((rc = tree_path(txn, s, author, m, lo, lo + k, proof, n))) return rc;
    return tree_range(txn, s, author, lo + k, hi, proof[(*n)++]);
  }
  if ((rc = tree_path(txn, s, author, m - k, lo + k, hi, proof, n))) return rc;
  return tree_range(txn, s, author, lo, lo + k, proof[(*n)++]);
}

int tree_inclusion(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index, uint64_t size,
                   uint8_t (*proof)[32], size_t *n)
{
  *n = 0;
  if (index >= size) return KK_ERR(FIELD);
  return tree_path(txn, s, author, index, 0, size, proof, n);
}

/* SUBPROOF(m, D[lo:hi], b) appended to proof. */
static int tree_subproof(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t m, uint64_t lo,
                         uint64_t hi, int b, uint8_t (*proof)[32], size_t *n)
{
  if (*n >= TREE_MAX_PROOF) return KK_ERR(INTERNAL);
  if (m == hi - lo) return b ? 0 : tree_range(txn, s, author, lo, hi, proof[(*n)++]);
  uint64_t k = merkle_split(hi - lo);
  int rc;
  if (m <= k) {
    if ((rc = tree_subproof(txn, s, author, m, lo, lo + k, b, proof, n))) return rc;
    return tree_range(txn, s, author, lo + k, hi, proof[(*n)++]);
  }
  if ((rc = tree_subproof(txn, s, author, m - k, lo + k, hi, 0, proof, n))) return rc;
  return tree_range(txn, s, author, lo, lo + k, proof[(*n)++]);
}

int tree_consistency(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size1, uint64_t size2,
                     uint8_t (*proof)[32], size_t *n)
{
  *n = 0;
  if (size1 == 0 || size1 > size2) return KK_ERR(FIELD);
  if (size1 == size2) return 0;
  return tree_subproof(txn, s, author, size1, 0, size2, 1, proof, n);
}

int tree_leaf_check(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t index,
                    const uint8_t *env, size_t len)
{
  size_t ok;
  int rc = tree_check_run(txn, s, author, index, &env, &len, 1, &ok);
  return rc ? rc : ok == 1 ? 0 : KK_ERR(CORRUPT);
}

int tree_check_run(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t first,
                   const uint8_t *const *envs, const size_t *lens, size_t n, size_t *ok)
{
  const uint64_t block = UINT64_C(1) << TREE_FLOOR;
  size_t i = 0;
  int rc = 0;
  *ok = 0;
  while (i < n) {
    uint64_t index = first + i, b = index >> TREE_FLOOR, lo = b << TREE_FLOOR;
    uint8_t want[32], got[32];
    if ((rc = tree_stored(txn, s, author, TREE_FLOOR, b, want)) == 0) {
      /* A closed block: its root, against the root of these records (and of the
       * block's others, read, at the ends of the run). */
      uint8_t leaves[1u << TREE_FLOOR][32];
      for (uint64_t k = lo; k < lo + block; k++) {
        if (k >= first && k < first + n) {
          merkle_leaf_hash(leaves[k - lo], envs[k - first], lens[k - first]);
          continue;
        }
        const uint8_t *env;
        size_t len;
        if ((rc = store_record_get(txn, s, author, k + 1, &env, &len))) return rc == STORE_ABSENT ? 0 : rc;
        merkle_leaf_hash(leaves[k - lo], env, len);
      }
      for (uint64_t w = block; w > 1; w /= 2)
        for (uint64_t k = 0; k < w / 2; k++) merkle_node_hash(leaves[k], leaves[2 * k], leaves[2 * k + 1]);
      if (sodium_memcmp(want, leaves[0], 32) != 0) return 0;
      i = lo + block - first < n ? (size_t)(lo + block - first) : n;
    } else if (rc == STORE_ABSENT) {
      /* the open block: its leaves are kept */
      if ((rc = tree_stored(txn, s, author, 0, index, want))) return rc == STORE_ABSENT ? 0 : rc;
      merkle_leaf_hash(got, envs[i], lens[i]);
      if (sodium_memcmp(want, got, 32) != 0) return 0;
      i++;
    } else {
      return rc;
    }
    *ok = i;
  }
  return 0;
}

struct heads_check { struct store_txn *txn; struct store *s; uint8_t *bad_author; };

/* One feed's head: its last record is there, hashes to the id the head names, and is
 * the tree's last leaf. */
static int head_check_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct heads_check *hc = arg;
  const uint8_t *env;
  size_t len;
  uint8_t id[32];
  if (h->seq == 0) return 0;
  int bad = store_record_get(hc->txn, hc->s, author, h->seq, &env, &len) != 0;
  if (!bad) {
    sig_sha256(id, env, len);
    bad = sodium_memcmp(id, h->last_id, 32) != 0 || tree_leaf_check(hc->txn, hc->s, author, h->seq - 1, env, len) != 0;
  }
  if (!bad) return 0;
  if (hc->bad_author) memcpy(hc->bad_author, author, 32);
  return KK_ERR(CORRUPT);
}

int tree_check_heads(struct store_txn *txn, struct store *s, uint8_t bad_author[32])
{
  struct heads_check hc = { txn, s, bad_author };
  if (bad_author) memset(bad_author, 0, 32); /* a head that does not decode names no feed */
  return store_heads_each(txn, s, head_check_one, &hc);
}

/* Moving the old layout's Merkle nodes, for store_each_from: where it is, how many are
 * left to move this time. */
struct tree_move {
  struct store_txn *txn;
  struct store *s;
  uint8_t *from;
  uint8_t author[32];
  uint64_t open_from;           /* the first leaf of `author`'s open block */
  int have, *more;
  size_t n, max;
};

static int tree_move_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct tree_move *t = arg;
  /* the old key: author || level(1) || index(8, BE) */
  if (kl != TREE_KEY || vl != 32) return KK_ERR(CORRUPT);
  const uint8_t *key = k;
  unsigned level = key[32];
  uint64_t index = be64_get(key + 33);
  int rc;
  if (!t->have || memcmp(t->author, key, 32) != 0) {
    struct store_head h;
    memcpy(t->author, key, 32);
    t->have = 1;
    if ((rc = store_head_get(t->txn, t->s, t->author, &h)) && rc != STORE_ABSENT) return rc;
    t->open_from = rc ? 0 : h.seq >> TREE_FLOOR << TREE_FLOOR;
  }
  if (level < TREE_FLOOR && !(level == 0 && index >= t->open_from)) return 0; /* hashed from records now */
  if (t->n == t->max) {
    memcpy(t->from, key, TREE_KEY);
    *t->more = 1;
    return 1; /* this part is done */
  }
  uint8_t nk[TREE_KEY], hash[32];
  memcpy(hash, v, 32);
  tree_key(nk, t->author, level, index);
  if ((rc = posdb_put(t->txn, t->s, STORE_DB_MERKLE, nk, nk + 32, TREE_REST, hash, 32))) return rc;
  t->n++;
  return 0;
}

int tree_migrate(struct store_txn *txn, struct store *s, uint8_t from[TREE_KEY], size_t max, int *more)
{
  struct tree_move t = { .txn = txn, .s = s, .from = from, .more = more, .max = max };
  *more = 0;
  int rc = store_each_from(txn, s, STORE_DB_OLD_TREE, from, TREE_KEY, NULL, 0, tree_move_one, &t);
  return rc == 1 ? 0 : rc;
}
