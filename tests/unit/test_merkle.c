/*
 * Merkle trees: the store's incremental tree against a naive RFC 9162 reference, proofs
 * of every size, and the transparency-dev vectors through the library.
 */
#include "test.h"
#include "../../crypto/merkle.h"
#include "../../node/ledger/tree.h"
#include "../../node/base/buf.h"
#include "../../crypto/sig.h"
#include "../../node/ledger/store_lmdb.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <sodium.h>

/* The eight leaves used across RFC 6962 test suites. */
static const char *rfc_leaves[] = { "", "00", "10", "2021", "3031", "40414243", "5051525354555657",
                                    "606162636465666768696a6b6c6d6e6f" };

static void naive_mth(uint8_t (*leaves)[32], uint64_t lo, uint64_t hi, uint8_t out[32])
{
  if (hi - lo == 1) { memcpy(out, leaves[lo], 32); return; }
  uint64_t k = merkle_split(hi - lo);
  uint8_t l[32], r[32];
  naive_mth(leaves, lo, lo + k, l);
  naive_mth(leaves, lo + k, hi, r);
  merkle_node_hash(out, l, r);
}

/* A feed whose records are the given byte strings (the store and its tree do not care
 * what a record says), appended through the store as ingest appends them. */
struct build { uint8_t author[32]; const uint8_t *const *raw; const size_t *len; uint64_t from, to; };

struct build_ctx { struct build b; struct store *s; };

static int build_fn(struct store_txn *txn, void *arg)
{
  struct build *b = arg;
  struct store *s = ((struct build_ctx *)arg)->s;
  for (uint64_t i = b->from; i < b->to; i++) {
    uint8_t id[32];
    sig_sha256(id, b->raw[i], b->len[i]);
    int rc = store_record_append(txn, s, id, b->author, i + 1, b->raw[i], b->len[i], b->author);
    if (!rc) rc = tree_append_record(txn, s, b->author, i + 1, b->raw[i], b->len[i]);
    if (rc) return rc;
  }
  return 0;
}

TEST(merkle_tree_matches_rfc_and_proves)
{
  enum { N = 8 };
  uint8_t leaves[N][32], raw[N][32];
  const uint8_t *rp[N];
  size_t lens[N];
  for (int i = 0; i < N; i++) {
    lens[i] = strlen(rfc_leaves[i]) / 2;
    ASSERT_OK(sig_unhex(raw[i], lens[i], rfc_leaves[i]));
    merkle_leaf_hash(leaves[i], raw[i], lens[i]);
    rp[i] = raw[i];
  }
  struct store *s;
  ASSERT_OK(store_open(&s, test_tmpdir(), 0));
  struct build_ctx bc;
  memset(&bc, 0, sizeof bc);
  memset(bc.b.author, 9, 32);
  bc.b.raw = rp;
  bc.b.len = lens;
  bc.s = s;
  /* in two transactions, to cross a commit */
  bc.b.from = 0; bc.b.to = 5;
  ASSERT_OK(store_write(s, build_fn, &bc));
  bc.b.from = 5; bc.b.to = N;
  ASSERT_OK(store_write(s, build_fn, &bc));

  struct store_txn *txn;
  uint8_t root[32], ref[32], want[32];
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(tree_root(txn, s, bc.b.author, N, root));
  ASSERT_OK(sig_unhex(want, 32, "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328"));
  ASSERT(memcmp(root, want, 32) == 0);
  for (uint64_t n = 1; n <= N; n++) {
    ASSERT_OK(tree_root(txn, s, bc.b.author, n, root));
    naive_mth(leaves, 0, n, ref);
    ASSERT(memcmp(root, ref, 32) == 0);
    for (uint64_t m = 0; m < n; m++) {
      uint8_t proof[TREE_MAX_PROOF][32];
      size_t np;
      ASSERT_OK(tree_inclusion(txn, s, bc.b.author, m, n, proof, &np));
      ASSERT_OK(merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, np, root));
      if (np) {
        proof[0][0] ^= 1;
        ASSERT(merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, np, root) != 0);
      }
      ASSERT(merkle_verify_inclusion(m, n, leaves[(m + 1) % n], (const uint8_t(*)[32])proof, np, root) != 0 || n == 1);
    }
    for (uint64_t m = 1; m <= n; m++) {
      uint8_t proof[TREE_MAX_PROOF][32], r1[32];
      size_t np;
      ASSERT_OK(tree_root(txn, s, bc.b.author, m, r1));
      ASSERT_OK(tree_consistency(txn, s, bc.b.author, m, n, proof, &np));
      ASSERT_OK(merkle_verify_consistency(m, n, r1, root, (const uint8_t(*)[32])proof, np));
      if (np) {
        proof[np - 1][31] ^= 1;
        ASSERT(merkle_verify_consistency(m, n, r1, root, (const uint8_t(*)[32])proof, np) != 0);
      }
    }
  }
  store_txn_abort(txn);
  store_close(s);
}

/* n records, the ints 0 .. n-1, and their leaf hashes: the trees the large tests build. */
struct int_leaves { uint8_t (*leaves)[32]; int *vals; const uint8_t **rp; size_t *lens; };

static void int_leaves_make(struct int_leaves *l, int n)
{
  l->leaves = malloc((size_t)n * 32);
  l->vals = malloc((size_t)n * sizeof *l->vals);
  l->rp = malloc((size_t)n * sizeof *l->rp);
  l->lens = malloc((size_t)n * sizeof *l->lens);
  ASSERT(l->leaves && l->vals && l->rp && l->lens);
  for (int i = 0; i < n; i++) {
    l->vals[i] = i;
    l->rp[i] = (const uint8_t *)&l->vals[i];
    l->lens[i] = sizeof l->vals[i];
    merkle_leaf_hash(l->leaves[i], l->rp[i], l->lens[i]);
  }
}

static void int_leaves_free(struct int_leaves *l)
{
  free(l->leaves);
  free(l->vals);
  free(l->rp);
  free(l->lens);
}

TEST(merkle_tree_large)
{
  enum { N = 1037 };
  struct int_leaves il;
  int_leaves_make(&il, N);
  uint8_t (*leaves)[32] = il.leaves;
  struct store *s;
  ASSERT_OK(store_open(&s, test_tmpdir(), 0));
  struct build_ctx bc;
  memset(&bc, 0, sizeof bc);
  bc.b.raw = il.rp;
  bc.b.len = il.lens;
  bc.s = s;
  /* in uneven transactions, so blocks close across commits */
  for (uint64_t at = 0; at < N; at += 101) {
    bc.b.from = at;
    bc.b.to = at + 101 < N ? at + 101 : N;
    ASSERT_OK(store_write(s, build_fn, &bc));
  }
  struct store_txn *txn;
  ASSERT_OK(store_read(s, &txn));
  uint64_t sizes[] = { 1, 2, 3, 255, 256, 257, 511, 512, 1000, 1024, 1025, N };
  for (size_t a = 0; a < sizeof sizes / sizeof sizes[0]; a++) {
    uint8_t root[32], ref[32];
    uint64_t n = sizes[a];
    ASSERT_OK(tree_root(txn, s, bc.b.author, n, root));
    naive_mth(leaves, 0, n, ref);
    ASSERT(memcmp(root, ref, 32) == 0);
    for (uint64_t m = 0; m < n; m += 97) {
      uint8_t proof[TREE_MAX_PROOF][32];
      size_t np;
      ASSERT_OK(tree_inclusion(txn, s, bc.b.author, m, n, proof, &np));
      ASSERT_OK(merkle_verify_inclusion(m, n, leaves[m], (const uint8_t(*)[32])proof, np, root));
    }
    for (size_t b2 = 0; b2 <= a; b2++) {
      uint8_t proof[TREE_MAX_PROOF][32], r1[32];
      size_t np;
      ASSERT_OK(tree_root(txn, s, bc.b.author, sizes[b2], r1));
      ASSERT_OK(tree_consistency(txn, s, bc.b.author, sizes[b2], n, proof, &np));
      ASSERT_OK(merkle_verify_consistency(sizes[b2], n, r1, root, (const uint8_t(*)[32])proof, np));
    }
  }
  /* Many proofs against one root, remembered (merkle_memo): every leaf in a scattered
   * order, then tampered and misshapen proofs, refused by a memo that knows the tree. */
  {
    struct merkle_memo memo;
    uint8_t root[32], proof[TREE_MAX_PROOF][32];
    ASSERT_OK(tree_root(txn, s, bc.b.author, N, root));
    merkle_memo_init(&memo, N, root);
    for (uint64_t k = 0; k < N; k++) {
      uint64_t leaf = (k * 389) % N; /* 389 is prime to N */
      size_t np;
      ASSERT_OK(tree_inclusion(txn, s, bc.b.author, leaf, N, proof, &np));
      ASSERT_OK(merkle_memo_verify(&memo, leaf, leaves[leaf], (const uint8_t(*)[32])proof, np));
      if (k % 97 == 0) {
        uint8_t bad[32];
        memcpy(bad, leaves[leaf], 32);
        bad[0] ^= 1;
        ASSERT_EQ(merkle_memo_verify(&memo, leaf, bad, (const uint8_t(*)[32])proof, np), -1);
        proof[0][5] ^= 1;
        ASSERT_EQ(merkle_memo_verify(&memo, leaf, leaves[leaf], (const uint8_t(*)[32])proof, np), -1);
        proof[0][5] ^= 1;
        ASSERT_EQ(merkle_memo_verify(&memo, leaf, leaves[leaf], (const uint8_t(*)[32])proof, np - 1), -1);
        ASSERT_EQ(merkle_memo_verify(&memo, (leaf + 1) % N, leaves[leaf], (const uint8_t(*)[32])proof, np), -1);
      }
    }
    ASSERT(memo.n < 3 * N); /* each node once */
    merkle_memo_free(&memo);
  }
  /* Only the floor and up is kept: a feed of N records holds about N/8 nodes, plus the
   * leaves of its open block. */
  MDB_stat st;
  ASSERT_OK(mdb_stat(txn_lmdb(txn), s->merkle, &st));
  ASSERT(st.ms_entries <= N / 8 + (1u << TREE_FLOOR) + 64);
  store_txn_abort(txn);
  store_close(s);
  int_leaves_free(&il);
}

/* What an earlier version kept, in `tree` by author || level || index: every node of
 * every perfect subtree. */
struct old_nodes { struct store *s; uint8_t author[32]; const uint8_t (*leaves)[32]; uint64_t n; };

static int old_nodes_fn(struct store_txn *txn, void *arg)
{
  struct old_nodes *o = arg;
  uint8_t (*h)[32] = malloc(o->n * 32), k[TREE_KEY];
  if (!h) return ENOMEM;
  memcpy(h, o->leaves, o->n * 32);
  memcpy(k, o->author, 32);
  int rc = 0;
  for (uint64_t level = 0, n = o->n; n && rc == 0; level++, n /= 2) {
    for (uint64_t i = 0; i < n && rc == 0; i++) {
      k[32] = (uint8_t)level;
      be64_put(k + 33, i);
      rc = store_put(txn, o->s, STORE_DB_OLD_TREE, k, TREE_KEY, h[i], 32);
    }
    for (uint64_t i = 0; i + 1 < n; i += 2) merkle_node_hash(h[i / 2], h[i], h[i + 1]);
  }
  free(h);
  return rc;
}

struct migrate_tree { struct store *s; uint8_t from[TREE_KEY]; int more; };

static int open_old_tree(struct store_txn *txn, void *arg)
{
  struct migrate_tree *m = arg;
  int rc = mdb_dbi_open(txn_lmdb(txn), "tree", MDB_CREATE, &m->s->old_tree);
  return rc ? rc : mdb_drop(txn_lmdb(txn), m->s->merkle, 0); /* the current tree goes: migrate makes it again */
}

static int migrate_tree_fn(struct store_txn *txn, void *arg)
{
  struct migrate_tree *m = arg;
  return tree_migrate(txn, m->s, m->from, 100, &m->more);
}

static uint64_t tree_entries(struct store *s)
{
  struct store_txn *txn;
  MDB_stat st;
  if (store_read(s, &txn)) return 0;
  int rc = mdb_stat(txn_lmdb(txn), s->merkle, &st);
  store_txn_abort(txn);
  return rc ? 0 : st.ms_entries;
}

/* A tree kept in full by an earlier version is moved into what this one keeps, in
 * batches that resume, across feeds, and proves the same roots afterwards. */
TEST(merkle_migrate_keeps_what_the_floor_keeps)
{
  enum { N = 1037, M = 45 };
  struct int_leaves il;
  int_leaves_make(&il, N);
  uint8_t (*leaves)[32] = il.leaves;
  struct store *s;
  ASSERT_OK(store_open(&s, test_tmpdir(), 0));
  struct build_ctx bc;
  memset(&bc, 0, sizeof bc);
  bc.b.raw = il.rp;
  bc.b.len = il.lens;
  bc.s = s;
  uint64_t sizes[2] = { N, M };
  for (int f = 0; f < 2; f++) {
    memset(bc.b.author, 1 + f, 32);
    bc.b.from = 0;
    bc.b.to = sizes[f];
    ASSERT_OK(store_write(s, build_fn, &bc));
  }
  uint64_t kept = tree_entries(s);
  struct migrate_tree m;
  memset(&m, 0, sizeof m);
  m.s = s;
  ASSERT_OK(store_write(s, open_old_tree, &m));
  ASSERT_EQ(tree_entries(s), 0);
  for (int f = 0; f < 2; f++) {
    struct old_nodes o = { s, { 0 }, (const uint8_t(*)[32])leaves, sizes[f] };
    memset(o.author, 1 + f, 32);
    ASSERT_OK(store_write(s, old_nodes_fn, &o));
  }
  int calls = 0;
  do {
    ASSERT_OK(store_write(s, migrate_tree_fn, &m));
    calls++;
  } while (m.more);
  ASSERT(calls > 1); /* it went on where it stopped */
  ASSERT_EQ(tree_entries(s), kept);
  struct store_txn *txn;
  ASSERT_OK(store_read(s, &txn));
  for (int f = 0; f < 2; f++) {
    uint8_t author[32], root[32], want[32];
    memset(author, 1 + f, 32);
    for (uint64_t size = 1; size <= sizes[f]; size += 97) {
      ASSERT_OK(tree_root(txn, s, author, size, root));
      naive_mth(leaves, 0, size, want);
      ASSERT(memcmp(root, want, 32) == 0);
    }
  }
  store_txn_abort(txn);
  store_close(s);
  int_leaves_free(&il);
}

/* ---- the transparency-dev vectors through the library -------------------------- */

static int hash_of(json_t *o, const char *key, uint8_t out[32])
{
  json_t *x = json_object_get(o, key);
  size_t n;
  uint8_t buf[64];
  if (!json_is_string(x)) return -1;
  if (sodium_base642bin(buf, sizeof buf, json_string_value(x), strlen(json_string_value(x)), NULL, &n, NULL,
                        sodium_base64_VARIANT_ORIGINAL) || n != 32)
    return -1;
  memcpy(out, buf, 32);
  return 0;
}

static int run_dir(const char *dir, int consistency, int *checked)
{
  DIR *d = opendir(dir);
  struct dirent *e;
  if (!d) return 0;
  while ((e = readdir(d))) {
    char path[4200];
    if (e->d_name[0] == '.') continue;
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    if (!strstr(e->d_name, ".json")) { run_dir(path, consistency, checked); continue; }
    json_error_t err;
    json_t *j = json_load_file(path, JSON_DECODE_INT_AS_REAL, &err);
    if (!j) FAIL("%s: %s", path, err.text);
    int want_ok = !json_is_true(json_object_get(j, "wantErr"));
    json_t *pj = json_object_get(j, "proof");
    size_t np = json_array_size(pj);
    uint8_t (*proof)[32] = calloc(np + 1, 32);
    int lens_ok = 1;
    for (size_t i = 0; i < np; i++) {
      json_t *tmp = json_pack("{s:O}", "h", json_array_get(pj, i));
      if (hash_of(tmp, "h", proof[i])) lens_ok = 0;
      json_decref(tmp);
    }
    const char *ka = consistency ? "size1" : "leafIdx", *kb = consistency ? "size2" : "treeSize";
    json_t *a = json_object_get(j, ka), *b = json_object_get(j, kb);
    double da = json_number_value(a), db = json_number_value(b);
    uint8_t h1[32], h2[32];
    int hashes = hash_of(j, consistency ? "root1" : "root", h1) == 0 &&
                 hash_of(j, consistency ? "root2" : "leafHash", h2) == 0;
    /* Vectors needing exact integers past 2^53, or hashes of other lengths, are the CLI's
     * concern (tests/cli/merkle_vectors.sh); here: the library's verdict on the rest. */
    if (hashes && lens_ok && da < 9007199254740992.0 && db < 9007199254740992.0) {
      uint64_t ua = (uint64_t)da, ub = (uint64_t)db;
      int ok = consistency ? merkle_verify_consistency(ua, ub, h1, h2, (const uint8_t(*)[32])proof, np) == 0
                           : merkle_verify_inclusion(ua, ub, h2, (const uint8_t(*)[32])proof, np, h1) == 0;
      if (ok != want_ok) FAIL("%s: library says %s", path, ok ? "valid" : "invalid");
      (*checked)++;
    }
    free(proof);
    json_decref(j);
  }
  closedir(d);
  return 0;
}

TEST(merkle_vectors_through_the_library)
{
  const char *base = getenv("KIROKU_SHARED");
  char dir[4200];
  int checked = 0;
  snprintf(dir, sizeof dir, "%s/data/merkle/inclusion", base ? base : "../shared");
  run_dir(dir, 0, &checked);
  snprintf(dir, sizeof dir, "%s/data/merkle/consistency", base ? base : "../shared");
  run_dir(dir, 1, &checked);
  if (checked < 120) FAIL("only %d vectors checked: is ../shared/data/merkle there?", checked);
}
