/*
 * ckpt — checkpoints, cosignatures, witnessing.
 */
#include "ckpt.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "evidence.h"
#include "rules.h"
#include "tree.h"
#include "../../crypto/merkle.h"
#include "../../crypto/note.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


/* ---- storage --------------------------------------------------------------------------- */

static void ckpt_key(uint8_t k[40], const uint8_t author[32], uint64_t size)
{
  memcpy(k, author, 32);
  be64_put(k + 32, size);
}

/* Newest stored checkpoint size of a feed (0: none). */
static int ckpt_newest(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t *size)
{
  const void *k;
  size_t kl;
  *size = 0;
  int rc = store_last(txn, s, STORE_DB_CKPTS, author, 32, &k, &kl, NULL, NULL);
  if (rc == 0 && kl == 40) *size = be64_get((const uint8_t *)k + 32);
  return rc == 0 || rc == STORE_ABSENT ? 0 : rc;
}

static int count_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)k;
  (void)v;
  (void)vl;
  *(size_t *)arg += kl == 72;
  return 0;
}

/* How many cosignatures the checkpoint at k (author || size) holds; 0 on a read error
 * (it then counts for nothing, which pruning and picking tolerate). */
static size_t ckpt_count_cosigs(struct store_txn *txn, struct store *s, const uint8_t k[40])
{
  size_t n = 0;
  return store_each(txn, s, STORE_DB_COSIGS, k, 40, count_one, &n) ? 0 : n;
}

static int ckpt_delete(struct store_txn *txn, struct store *s, const uint8_t k[40])
{
  int rc = store_del(txn, s, STORE_DB_CKPTS, k, 40);
  return rc ? rc : store_del_prefix(txn, s, STORE_DB_COSIGS, k, 40);
}

/* A feed's checkpoint keys, collected. */
struct ckpt_keys { uint8_t (*keys)[40]; size_t n, cap; };

static int ckpt_key_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct ckpt_keys *c = arg;
  (void)v;
  (void)vl;
  if (kl != 40) return KK_ERR(CORRUPT);
  if (c->n == c->cap) {
    size_t cap = c->cap ? c->cap * 2 : 8;
    void *p = mem_realloc(c->keys, cap * 40);
    if (!p) return -ENOMEM;
    c->keys = p;
    c->cap = cap;
  }
  memcpy(c->keys[c->n++], k, 40);
  return 0;
}

/* Keeps the newest checkpoint, and older ones only while they have more cosignatures
 * than every newer one. */
static int ckpt_prune(struct store_txn *txn, struct store *s, const uint8_t author[32])
{
  struct ckpt_keys ck = { NULL, 0, 0 };
  int rc = store_each(txn, s, STORE_DB_CKPTS, author, 32, ckpt_key_one, &ck);
  if (rc) { mem_free(ck.keys); return rc; }
  uint8_t (*keys)[40] = ck.keys;
  size_t n = ck.n;
  size_t best = n ? ckpt_count_cosigs(txn, s, keys[n - 1]) : 0;
  for (size_t i = n - 1; n && i-- > 0 && rc == 0;) {
    size_t cnt = ckpt_count_cosigs(txn, s, keys[i]);
    if (cnt <= best) rc = ckpt_delete(txn, s, keys[i]);
    else best = cnt;
  }
  mem_free(keys);
  return rc;
}

int ckpt_sign_own(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t pk[32],
                  const uint8_t sk[64], uint64_t *size)
{
  struct store_head h;
  uint64_t newest;
  int rc;
  *size = 0;
  if ((rc = store_head_get(txn, s, pk, &h))) return rc == STORE_ABSENT ? 0 : rc;
  if ((rc = ckpt_newest(txn, s, pk, &newest))) return rc;
  if (newest >= h.seq) return 0;
  /* Signed by the key the feed has at its head (a rotated one after kiroku rotate-key);
   * a key rotated away no longer speaks for the feed. */
  uint8_t key[32], signer[32];
  if ((rc = store_key_at(txn, s, pk, h.seq, key))) return rc;
  sig_public(signer, sk);
  if (memcmp(key, signer, 32) != 0) return 0;
  uint8_t root[32];
  char origin[CKPT_ORIGIN_MAX], text[CKPT_ORIGIN_MAX + 80];
  if ((rc = tree_root(txn, s, pk, h.seq, root))) return rc;
  ckpt_origin(origin, network, pk);
  if (note_checkpoint_text(text, sizeof text, origin, h.seq, root)) return KK_ERR(INTERNAL);
  char *note = note_sign(text, origin, sk, signer);
  if (!note) return -ENOMEM;
  uint8_t k[40];
  ckpt_key(k, pk, h.seq);
  rc = store_put(txn, s, STORE_DB_CKPTS, k, 40, note, strlen(note));
  mem_free(note);
  if (rc == 0) rc = ckpt_prune(txn, s, pk);
  if (rc == 0) *size = h.seq;
  return rc;
}

/* 1 when some record of the feed up to seq still waits for its signature check. */
/* The first unverified record of the feed: is it at or before *seq? (1 stops the scan.) */
static int unverified_first(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)v;
  (void)vl;
  return kl == 40 && be64_get((const uint8_t *)k + 32) <= *(const uint64_t *)arg ? 1 : 2;
}

static int ckpt_unverified_upto(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq)
{
  int rc = store_each(txn, s, STORE_DB_UNVERIFIED, author, 32, unverified_first, &seq);
  return rc == 0 || rc == 2 ? 0 : 1; /* a read error: assume some wait */
}

/* ---- witnessing ---------------------------------------------------------------------- */

/* Cosigns the checkpoint (text) of author at size with root if our tree agrees and is
 * consistent with what we cosigned last. 1 cosigned, 0 not (yet), <0 error. A root that
 * disagrees with our own tree sets *conflict. */
static int ckpt_try_witness(struct store_txn *txn, struct store *s, const uint8_t self_pk[32], const uint8_t self_sk[64],
                            const uint8_t author[32], uint64_t size, const uint8_t root[32], const char *text,
                            size_t text_len, uint64_t now, int *conflict)
{
  struct store_head h;
  int rc = store_head_get(txn, s, author, &h);
  if (rc == STORE_ABSENT || (rc == 0 && h.seq < size)) return 0; /* cannot tell yet */
  if (rc) return rc;
  uint8_t ours[32];
  if ((rc = tree_root(txn, s, author, size, ours))) return rc;
  if (memcmp(ours, root, 32) != 0) { *conflict = 1; return 0; }
  if (!self_sk || memcmp(author, self_pk, 32) == 0 || size == 0) return 0;
  if (ckpt_unverified_upto(txn, s, author, size)) return 0; /* vouch only for what we checked */
  const void *v;
  size_t vn;
  uint64_t last = 0;
  rc = store_get(txn, s, STORE_DB_WITNESSED, author, 32, &v, &vn);
  if (rc == 0 && vn == 40) last = be64_get(v);
  else if (rc != STORE_ABSENT) return rc ? rc : KK_ERR(CORRUPT);
  if (last >= size) return 0;                      /* we only move forward */
  if (last > 0) {
    /* The witness's promise: this head extends the one it vouched for. The proof comes
     * from our own copy of the tree, and is checked against the root we cosigned. */
    uint8_t proof[TREE_MAX_PROOF][32], r0[32];
    size_t np;
    memcpy(r0, (const uint8_t *)v + 8, 32);
    if ((rc = tree_consistency(txn, s, author, last, size, proof, &np))) return rc;
    if (merkle_verify_consistency(last, size, r0, root, (const uint8_t(*)[32])proof, np)) { *conflict = 1; return 0; }
  }
  char name[CKPT_WITNESS_NAME_MAX], *t = mem_alloc(text_len + 1);
  if (!t) return -ENOMEM;
  memcpy(t, text, text_len);
  t[text_len] = 0;
  /* Named by the witness's feed id, signed by its key now (rotated or not). */
  uint8_t signer[32];
  sig_public(signer, self_sk);
  ckpt_witness_name(name, self_pk);
  char *line = note_cosign_line(t, name, now, self_sk, signer);
  mem_free(t);
  if (!line) return -ENOMEM;
  uint8_t k[72], w[40];
  ckpt_key(k, author, size);
  memcpy(k + 40, self_pk, 32);
  be64_put(w, size);
  memcpy(w + 8, root, 32);
  rc = store_put(txn, s, STORE_DB_COSIGS, k, 72, line, strlen(line));
  mem_free(line);
  if (rc == 0) rc = store_put(txn, s, STORE_DB_WITNESSED, author, 32, w, 40);
  return rc ? rc : 1;
}

struct ckpt_lines {
  struct store_txn *txn;
  struct store *s;
  const char *note;
  size_t len;
  const char *origin;
  uint8_t author[32];
  uint64_t size;
  const char *author_line;      /* the author's signature line */
  size_t author_line_len;
  size_t new_cosigs;
  int store_cosigs;             /* second pass: store them */
  int rc;
};

static int ckpt_on_line(void *arg, const char *name, size_t nl, const char *line, size_t ll)
{
  struct ckpt_lines *c = arg;
  uint8_t pk[32];
  if (!c->store_cosigs) {
    if (nl == strlen(c->origin) && memcmp(name, c->origin, nl) == 0 && !c->author_line) {
      c->author_line = line;
      c->author_line_len = ll;
    }
    return 0;
  }
  if (ckpt_witness_key(name, nl, pk)) return 0;      /* not a Kiroku witness */
  if (memcmp(pk, c->author, 32) == 0) return 0;      /* no one witnesses their own feed */
  struct member m;
  if (rules_member_get(c->txn, c->s, pk, &m)) return 0; /* only members' cosignatures */
  uint8_t k[72];
  ckpt_key(k, c->author, c->size);
  memcpy(k + 40, pk, 32);
  const void *v;
  size_t vn;
  if (store_get(c->txn, c->s, STORE_DB_COSIGS, k, 72, &v, &vn) == 0) return 0; /* held */
  /* Verify this line alone, against the checkpoint text. */
  char nm[CKPT_WITNESS_NAME_MAX];
  memcpy(nm, name, nl);
  nm[nl] = 0;
  size_t tl;
  if (note_split(c->note, c->len, &tl)) return 0;
  size_t one_len = tl + 1 + ll;
  char *one = mem_alloc(one_len);
  if (!one) { c->rc = -ENOMEM; return 1; }
  memcpy(one, c->note, tl + 1);
  memcpy(one + tl + 1, line, ll);
  /* by the witness's key now: its feed id, or the key it rotated to */
  uint8_t wkey[32];
  if ((c->rc = store_key_now(c->txn, c->s, pk, wkey, NULL))) { mem_free(one); return 1; }
  int ok = note_verify_cosignature(one, one_len, nm, wkey, NULL) == 0;
  mem_free(one);
  if (!ok) return 0;
  if ((c->rc = store_put(c->txn, c->s, STORE_DB_COSIGS, k, 72, line, ll))) return 1;
  c->new_cosigs++;
  return 0;
}

int ckpt_receive(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t self_pk[32],
                 const uint8_t self_sk[64], const char *note, size_t len, uint64_t now, struct ckpt_seen *seen)
{
  struct ckpt_view v;
  int rc;
  memset(seen, 0, sizeof *seen);
  if ((rc = ckpt_parse(note, len, &v))) return rc;
  if (memcmp(v.network, network, 32) != 0 || v.size == 0) return KK_ERR(CHECKPOINT);
  memcpy(seen->author, v.author, 32);
  seen->size = v.size;
  /* The key: the feed's key after `size` records when we hold them, else its current key. */
  struct store_head h;
  uint8_t key[32];
  rc = store_head_get(txn, s, v.author, &h);
  if (rc == STORE_ABSENT) memcpy(key, v.author, 32);
  else if (rc) return rc;
  else if ((rc = store_key_at(txn, s, v.author, h.seq < v.size ? h.seq : v.size, key))) return rc;

  char origin[CKPT_ORIGIN_MAX];
  ckpt_origin(origin, network, v.author);
  struct ckpt_lines c;
  memset(&c, 0, sizeof c);
  c.txn = txn;
  c.s = s;
  c.note = note;
  c.len = len;
  c.origin = origin;
  memcpy(c.author, v.author, 32);
  c.size = v.size;
  if (note_each_line(note, len, ckpt_on_line, &c) || !c.author_line) return KK_ERR(CHECKPOINT);
  /* The author's part alone: text, blank line, its signature line. */
  size_t alen = v.text_len + 1 + c.author_line_len;
  char *own = mem_alloc(alen + 1);
  if (!own) return -ENOMEM;
  memcpy(own, note, v.text_len + 1);
  memcpy(own + v.text_len + 1, c.author_line, c.author_line_len);
  own[alen] = 0;
  if (note_verify(own, alen, origin, key)) { mem_free(own); return KK_ERR(CHECKPOINT); }

  uint8_t k[40];
  ckpt_key(k, v.author, v.size);
  const void *held;
  size_t hl;
  rc = store_get(txn, s, STORE_DB_CKPTS, k, 40, &held, &hl);
  if (rc == 0) {
    struct ckpt_view hv;
    if (ckpt_parse(held, hl, &hv) == 0 && memcmp(hv.root, v.root, 32) != 0) {
      /* Two signed checkpoints of one size with different roots. */
      uint8_t *ev;
      size_t evl;
      struct evidence_info info;
      int is_new;
      rc = evidence_from_checkpoints(network, v.author, held, hl, own, alen, &ev, &evl);
      if (rc == 0) rc = evidence_store(txn, s, ev, evl, &info, &is_new);
      if (rc == 0 && is_new) { seen->evidence = 1; memcpy(seen->evidence_id, info.id, 32); }
      mem_free(ev);
      mem_free(own);
      return rc;
    }
  } else if (rc != STORE_ABSENT) {
    mem_free(own);
    return rc;
  } else {
    /* New to us. One that disagrees with records we hold is not kept: the fork it
     * reveals is proven with the records themselves (the caller fetches them). */
    int conflict = 0;
    struct store_head hh;
    if (store_head_get(txn, s, v.author, &hh) == 0 && hh.seq >= v.size) {
      uint8_t ours[32];
      if ((rc = tree_root(txn, s, v.author, v.size, ours))) { mem_free(own); return rc; }
      conflict = memcmp(ours, v.root, 32) != 0;
    }
    if (conflict) { seen->conflict = 1; mem_free(own); return 0; }
    uint64_t newest;
    if ((rc = ckpt_newest(txn, s, v.author, &newest))) { mem_free(own); return rc; }
    if (v.size < newest) {
      /* Older than what we keep: only worth keeping for its cosignatures, which the
       * sender will also have sent with its newer checkpoint. */
      mem_free(own);
      return 0;
    }
    if ((rc = store_put(txn, s, STORE_DB_CKPTS, k, 40, own, alen))) { mem_free(own); return rc; }
    seen->new_checkpoint = 1;
  }
  /* Cosignatures (second pass, now that the checkpoint is held). */
  c.store_cosigs = 1;
  note_each_line(note, len, ckpt_on_line, &c);
  if (c.rc) { mem_free(own); return c.rc; }
  seen->new_cosigs = c.new_cosigs;
  int conflict = 0;
  rc = ckpt_try_witness(txn, s, self_pk, self_sk, v.author, v.size, v.root, note, v.text_len, now, &conflict);
  mem_free(own);
  if (rc < 0) return rc;
  seen->cosigned = rc == 1;
  seen->conflict = conflict;
  if (seen->new_checkpoint || seen->new_cosigs || seen->cosigned) rc = ckpt_prune(txn, s, v.author);
  else rc = 0;
  return rc;
}

int ckpt_witness(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t self_pk[32],
                 const uint8_t self_sk[64], const uint8_t author[32], uint64_t now, uint64_t *cosigned_size)
{
  uint64_t newest;
  int rc;
  (void)network;
  *cosigned_size = 0;
  if ((rc = ckpt_newest(txn, s, author, &newest)) || newest == 0) return rc;
  uint8_t k[40];
  ckpt_key(k, author, newest);
  const void *v;
  size_t vn;
  if ((rc = store_get(txn, s, STORE_DB_CKPTS, k, 40, &v, &vn))) return rc;
  struct ckpt_view cv;
  if (ckpt_parse(v, vn, &cv)) return KK_ERR(CORRUPT);
  char *copy = mem_alloc(vn);
  if (!copy) return -ENOMEM;
  memcpy(copy, v, vn);
  int conflict = 0;
  rc = ckpt_try_witness(txn, s, self_pk, self_sk, author, newest, cv.root, copy, cv.text_len, now, &conflict);
  mem_free(copy);
  if (rc < 0) return rc;
  if (rc == 1) {
    *cosigned_size = newest;
    return ckpt_prune(txn, s, author);
  }
  return 0;
}

int ckpt_after_batch(struct store_txn *txn, struct store *s, const uint8_t pk[32], const uint8_t sk[64],
                     const uint8_t (*feeds)[32], size_t nf, uint64_t now,
                     void (*fn)(void *ctx, const uint8_t author[32], uint64_t size), void *ctx)
{
  const void *v;
  size_t vn;
  int rc = store_meta_get(txn, s, "network", &v, &vn);
  if (rc == STORE_ABSENT) return 0;
  if (rc) return rc;
  if (vn != 32) return KK_ERR(CORRUPT);
  uint8_t network[32];
  uint64_t size;
  memcpy(network, v, 32);
  if ((rc = ckpt_sign_own(txn, s, network, pk, sk, &size))) return rc;
  if (size && fn) fn(ctx, pk, size);
  for (size_t i = 0; i < nf; i++) {
    if (memcmp(feeds[i], pk, 32) == 0) continue;
    if ((rc = ckpt_witness(txn, s, network, pk, sk, feeds[i], now, &size))) return rc;
    if (size && fn) fn(ctx, feeds[i], size);
  }
  return 0;
}

/* ---- reading -------------------------------------------------------------------------- */

/* A note being composed: the checkpoint's text, then cosignature lines. */
struct note_grow { char *out; size_t n, cap; };

static int cosig_append(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct note_grow *g = arg;
  (void)k;
  if (kl != 72) return 0;
  if (g->n + vl > NOTE_MAX) return 1; /* a note has a size limit; keep the first ones */
  if (g->n + vl + 1 > g->cap) {
    size_t cap = (g->n + vl + 1) * 2;
    char *p = mem_realloc(g->out, cap);
    if (!p) return -ENOMEM;
    g->out = p;
    g->cap = cap;
  }
  memcpy(g->out + g->n, v, vl);
  g->n += vl;
  return 0;
}

static int ckpt_compose(struct store_txn *txn, struct store *s, const uint8_t k[40], char **note, size_t *len)
{
  const void *v;
  size_t vn;
  int rc = store_get(txn, s, STORE_DB_CKPTS, k, 40, &v, &vn);
  if (rc) return rc;
  size_t cap = vn + 1, n = vn;
  char *out = mem_alloc(cap);
  if (!out) return -ENOMEM;
  memcpy(out, v, vn);
  struct note_grow g = { out, n, cap };
  rc = store_each(txn, s, STORE_DB_COSIGS, k, 40, cosig_append, &g);
  if (rc == 1) rc = 0; /* full */
  if (rc) { mem_free(g.out); return rc; }
  g.out[g.n] = 0;
  *note = g.out;
  *len = g.n;
  return 0;
}

int ckpt_stored(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, uint8_t root[32],
                size_t *cosigs)
{
  uint8_t k[40];
  const void *v;
  size_t vn;
  struct ckpt_view cv;
  ckpt_key(k, author, size);
  int rc = store_get(txn, s, STORE_DB_CKPTS, k, 40, &v, &vn);
  if (rc) return rc;
  if (ckpt_parse(v, vn, &cv)) return KK_ERR(CORRUPT);
  memcpy(root, cv.root, 32);
  *cosigs = ckpt_count_cosigs(txn, s, k);
  return 0;
}

/* The first checkpoint of a scan: its note and size (1 stops the scan). */
struct ckpt_first { const char **note; size_t *len; uint64_t *size; };

static int ckpt_first_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct ckpt_first *f = arg;
  if (kl != 40) return KK_ERR(CORRUPT);
  *f->note = v;
  *f->len = vl;
  *f->size = be64_get((const uint8_t *)k + 32);
  return 1;
}

int ckpt_covering(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, const char **note,
                  size_t *len, uint64_t *size)
{
  uint8_t k[40];
  ckpt_key(k, author, seq);
  struct ckpt_first f = { note, len, size };
  int rc = store_each_from(txn, s, STORE_DB_CKPTS, k, 40, author, 32, ckpt_first_one, &f);
  return rc == 1 ? 0 : rc == 0 ? STORE_ABSENT : rc;
}

int ckpt_get(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, char **note, size_t *len,
             uint64_t *got_size)
{
  int rc;
  if (size == 0) {
    if ((rc = ckpt_newest(txn, s, author, &size))) return rc;
    if (size == 0) return STORE_ABSENT;
  }
  uint8_t k[40];
  ckpt_key(k, author, size);
  if ((rc = ckpt_compose(txn, s, k, note, len))) return rc;
  if (got_size) *got_size = size;
  return 0;
}

/* The checkpoint with the most cosignatures (of equals, the newest). */
struct ckpt_pick { struct store_txn *txn; struct store *s; uint8_t best[40]; size_t best_n; int found; };

static int ckpt_pick_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct ckpt_pick *p = arg;
  (void)v;
  (void)vl;
  if (kl != 40) return KK_ERR(CORRUPT);
  size_t n = ckpt_count_cosigs(p->txn, p->s, k);
  if (!p->found || n >= p->best_n) {
    memcpy(p->best, k, 40);
    p->best_n = n;
    p->found = 1;
  }
  return 0;
}

int ckpt_best(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t at_least, char **note, size_t *len,
              uint64_t *got_size)
{
  uint8_t k[40];
  ckpt_key(k, author, at_least);
  struct ckpt_pick p = { txn, s, { 0 }, 0, 0 };
  int rc = store_each_from(txn, s, STORE_DB_CKPTS, k, 40, author, 32, ckpt_pick_one, &p);
  if (rc) return rc;
  if (!p.found) return STORE_ABSENT;
  uint8_t *best = p.best;
  if ((rc = ckpt_compose(txn, s, best, note, len))) return rc;
  if (got_size) *got_size = be64_get(best + 32);
  return 0;
}
