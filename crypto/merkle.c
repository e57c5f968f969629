/*
 * merkle — RFC 9162 hashing and the two verification algorithms, as the RFC writes them.
 */
#include "merkle.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void merkle_leaf_hash(uint8_t out[MERKLE_HASH], const uint8_t *leaf, size_t len)
{
  crypto_hash_sha256_state st;
  uint8_t prefix = 0x00;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, &prefix, 1);
  crypto_hash_sha256_update(&st, leaf, len);
  crypto_hash_sha256_final(&st, out);
}

void merkle_node_hash(uint8_t out[MERKLE_HASH], const uint8_t left[MERKLE_HASH], const uint8_t right[MERKLE_HASH])
{
  uint8_t buf[1 + 2 * MERKLE_HASH];
  buf[0] = 0x01;
  memcpy(buf + 1, left, MERKLE_HASH);
  memcpy(buf + 1 + MERKLE_HASH, right, MERKLE_HASH);
  crypto_hash_sha256(out, buf, sizeof buf);
}

uint64_t merkle_split(uint64_t n)
{
  uint64_t k = 1;
  while (k < (UINT64_C(1) << 63) && k << 1 < n) k <<= 1;
  return k;
}

int merkle_root_from_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[MERKLE_HASH],
                               const uint8_t (*proof)[MERKLE_HASH], size_t n, uint8_t root[MERKLE_HASH])
{
  if (leaf_index >= tree_size) return -1;
  uint64_t fn = leaf_index, sn = tree_size - 1;
  uint8_t r[MERKLE_HASH];
  memcpy(r, leaf_hash, MERKLE_HASH);
  for (size_t i = 0; i < n; i++) {
    if (sn == 0) return -1;
    if ((fn & 1) || fn == sn) {
      merkle_node_hash(r, proof[i], r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
    } else {
      merkle_node_hash(r, r, proof[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return -1;
  memcpy(root, r, MERKLE_HASH);
  return 0;
}

int merkle_verify_inclusion(uint64_t leaf_index, uint64_t tree_size, const uint8_t leaf_hash[MERKLE_HASH],
                            const uint8_t (*proof)[MERKLE_HASH], size_t n, const uint8_t root[MERKLE_HASH])
{
  uint8_t r[MERKLE_HASH];
  if (merkle_root_from_inclusion(leaf_index, tree_size, leaf_hash, proof, n, r)) return -1;
  return sodium_memcmp(r, root, MERKLE_HASH) == 0 ? 0 : -1;
}

int merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[MERKLE_HASH],
                              const uint8_t root2[MERKLE_HASH], const uint8_t (*proof)[MERKLE_HASH], size_t n)
{
  if (size2 < size1 || size1 == 0) return -1;
  if (size1 == size2) return n == 0 && sodium_memcmp(root1, root2, MERKLE_HASH) == 0 ? 0 : -1;
  if (n == 0) return -1;
  /* When size1 is a power of two, its root is the first node of the path. */
  int pow2 = (size1 & (size1 - 1)) == 0;
  size_t i = 0;
  uint8_t fr[MERKLE_HASH], sr[MERKLE_HASH];
  const uint8_t *first = pow2 ? root1 : proof[i++];
  memcpy(fr, first, MERKLE_HASH);
  memcpy(sr, first, MERKLE_HASH);
  uint64_t fn = size1 - 1, sn = size2 - 1;
  while (fn & 1) { fn >>= 1; sn >>= 1; }
  for (; i < n; i++) {
    if (sn == 0) return -1;
    if ((fn & 1) || fn == sn) {
      merkle_node_hash(fr, proof[i], fr);
      merkle_node_hash(sr, proof[i], sr);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; }
    } else {
      merkle_node_hash(sr, sr, proof[i]);
    }
    fn >>= 1;
    sn >>= 1;
  }
  if (sn != 0) return -1;
  return sodium_memcmp(fr, root1, MERKLE_HASH) == 0 && sodium_memcmp(sr, root2, MERKLE_HASH) == 0 ? 0 : -1;
}

int merkle_valid_subtree(uint64_t start, uint64_t end)
{
  if (start >= end) return 0;
  uint64_t w = end - start, p = 1;
  if (w > (UINT64_C(1) << 63)) return start == 0; /* the power of two would be 2^64 */
  while (p < w) p <<= 1;
  return start % p == 0;
}

int merkle_verify_subtree_inclusion(uint64_t leaf_index, uint64_t start, uint64_t end,
                                    const uint8_t leaf_hash[MERKLE_HASH], const uint8_t (*proof)[MERKLE_HASH],
                                    size_t n, const uint8_t subtree_hash[MERKLE_HASH])
{
  if (!merkle_valid_subtree(start, end) || leaf_index < start || leaf_index >= end) return -1;
  /* Inside its subtree, a leaf is an ordinary leaf of a tree of end - start leaves. */
  return merkle_verify_inclusion(leaf_index - start, end - start, leaf_hash, proof, n, subtree_hash);
}

int merkle_verify_subtree_consistency(uint64_t start, uint64_t end, uint64_t size,
                                      const uint8_t subtree_hash[MERKLE_HASH], const uint8_t root[MERKLE_HASH],
                                      const uint8_t (*proof)[MERKLE_HASH], size_t n)
{
  if (start == end && end <= size) {
    /* An empty subtree: its hash is that of the empty tree, and nothing needs proving. */
    uint8_t empty[MERKLE_HASH];
    crypto_hash_sha256(empty, NULL, 0);
    return n == 0 && sodium_memcmp(subtree_hash, empty, MERKLE_HASH) == 0 ? 0 : -1;
  }
  if (!merkle_valid_subtree(start, end) || end > size) return -1;
  /* fn, sn: the subtree's first and last leaf; tn: the tree's last leaf. Shifting all
   * three right climbs one level. */
  uint64_t fn = start, sn = end - 1, tn = size - 1;
#define CLIMB() do { fn >>= 1; sn >>= 1; tn >>= 1; } while (0)
  if (sn == tn) {
    while (fn != sn) CLIMB();           /* flush right: nothing to fold on the way */
  } else {
    while (fn != sn && (sn & 1)) CLIMB();
  }
  uint8_t fr[MERKLE_HASH], sr[MERKLE_HASH];
  size_t i = 0;
  if (fn == sn) {
    memcpy(fr, subtree_hash, MERKLE_HASH);
  } else {
    if (n == 0) return -1;
    memcpy(fr, proof[i++], MERKLE_HASH);
  }
  memcpy(sr, fr, MERKLE_HASH);
  for (; i < n; i++) {
    if (tn == 0) return -1;
    if ((sn & 1) || sn == tn) {
      if (fn < sn) merkle_node_hash(fr, proof[i], fr);
      merkle_node_hash(sr, proof[i], sr);
      while (!(sn & 1) && sn != 0) CLIMB();
    } else {
      merkle_node_hash(sr, sr, proof[i]);
    }
    CLIMB();
  }
#undef CLIMB
  if (tn != 0) return -1;
  return sodium_memcmp(fr, subtree_hash, MERKLE_HASH) == 0 && sodium_memcmp(sr, root, MERKLE_HASH) == 0 ? 0 : -1;
}

/* ---- many proofs against one root ----------------------------------------------------- */

void merkle_memo_init(struct merkle_memo *m, uint64_t tree_size, const uint8_t root[MERKLE_HASH])
{
  memset(m, 0, sizeof *m);
  m->size = tree_size;
  memcpy(m->root, root, MERKLE_HASH);
}

void merkle_memo_free(struct merkle_memo *m)
{
  free(m->t);
  m->t = NULL;
  m->cap = m->n = 0;
}

static size_t memo_slot(const struct merkle_memo *m, uint32_t level, uint64_t index)
{
  uint64_t h = (index + 1) * UINT64_C(0x9e3779b97f4a7c15) ^ ((uint64_t)level << 56);
  h ^= h >> 29;
  size_t i = (size_t)h & (m->cap - 1);
  while (m->t[i].used && (m->t[i].level != level || m->t[i].index != index)) i = (i + 1) & (m->cap - 1);
  return i;
}

/* The remembered node at (level, index), or NULL. */
static const struct merkle_memo_node *memo_get(const struct merkle_memo *m, uint32_t level, uint64_t index)
{
  if (!m->cap) return NULL;
  const struct merkle_memo_node *e = &m->t[memo_slot(m, level, index)];
  return e->used ? e : NULL;
}

static int memo_put(struct merkle_memo *m, uint32_t level, uint64_t index, const uint8_t hash[MERKLE_HASH])
{
  if (2 * (m->n + 1) > m->cap) {
    struct merkle_memo old = *m;
    m->cap = m->cap ? 2 * m->cap : 256;
    if (!(m->t = calloc(m->cap, sizeof *m->t))) { *m = old; return -ENOMEM; }
    m->n = 0;
    for (size_t i = 0; i < old.cap; i++)
      if (old.t[i].used) m->t[memo_slot(m, old.t[i].level, old.t[i].index)] = old.t[i], m->n++;
    free(old.t);
  }
  struct merkle_memo_node *e = &m->t[memo_slot(m, level, index)];
  if (!e->used) m->n++;
  e->used = 1;
  e->level = level;
  e->index = index;
  memcpy(e->hash, hash, MERKLE_HASH);
  return 0;
}

int merkle_memo_verify(struct merkle_memo *m, uint64_t leaf_index, const uint8_t leaf_hash[MERKLE_HASH],
                       const uint8_t (*proof)[MERKLE_HASH], size_t n)
{
  /* RFC 9162 §2.1.3.2, each node the path computes named by (level, index at that
   * level): the position of a subtree in the tree of m->size leaves. */
  enum { MAX_PATH = 64 };
  struct { uint32_t level; uint64_t index; uint8_t hash[MERKLE_HASH]; } path[MAX_PATH];
  size_t np = 0;
  if (leaf_index >= m->size || n > MAX_PATH) return -1;
  /* a proof of any other length is malformed, also when it would meet a node proven */
  size_t want = 0;
  for (uint64_t f = leaf_index, l = m->size - 1; l != 0; want++) {
    if (!(f & 1) && f == l)
      while (!(f & 1) && f != 0) { f >>= 1; l >>= 1; }
    f >>= 1;
    l >>= 1;
  }
  if (want != n) return -1;
  uint64_t fn = leaf_index, sn = m->size - 1;
  uint32_t level = 0;
  uint8_t r[MERKLE_HASH];
  memcpy(r, leaf_hash, MERKLE_HASH);
  int proven = 0;
  for (size_t i = 0; i < n; i++) {
    if (sn == 0) return -1;
    if ((fn & 1) || fn == sn) {
      merkle_node_hash(r, proof[i], r);
      if (!(fn & 1))
        while (!(fn & 1) && fn != 0) { fn >>= 1; sn >>= 1; level++; }
    } else {
      merkle_node_hash(r, r, proof[i]);
    }
    fn >>= 1;
    sn >>= 1;
    level++;
    const struct merkle_memo_node *e = memo_get(m, level, fn);
    if (e) {
      /* a node already proven: this path is proven when it computed the same hash */
      if (sodium_memcmp(e->hash, r, MERKLE_HASH) != 0) return -1;
      proven = 1;
      break;
    }
    path[np].level = level;
    path[np].index = fn;
    memcpy(path[np++].hash, r, MERKLE_HASH);
  }
  if (!proven && (sn != 0 || sodium_memcmp(r, m->root, MERKLE_HASH) != 0)) return -1;
  for (size_t i = 0; i < np; i++)
    if (memo_put(m, path[i].level, path[i].index, path[i].hash)) return -ENOMEM;
  return 0;
}
