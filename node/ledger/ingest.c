/*
 * ingest — structural checks, parallel signature verification, one commit per batch.
 */
#include "ingest.h"
#include "../base/mem.h"
#include "evidence.h"
#include "ckpt.h"
#include "tree.h"
#include "../../crypto/merkle.h"
#include "../base/err.h"
#include "rules.h"
#include "../base/buf.h"
#include "../../crypto/sig.h"
#include "../../crypto/sigbatch.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Decodes one envelope into the item's fields (pass A, per record). */
static int ingest_decode(struct ingest_item *it, struct kk_body *b, const uint8_t network[32],
                         int have_network)
{
  struct kk_envelope_view ev;
  /* Set even for a record that fails to decode: the batch is sorted by these. */
  sig_sha256(it->id, it->env, it->len);
  memset(it->author, 0, 32);
  it->seq = 0;
  int rc = codec_envelope_split(it->env, it->len, &ev);
  if (rc) return rc;
  if ((rc = codec_body_decode(ev.body, ev.body_len, b))) return rc;
  memcpy(it->author, b->author, 32);
  it->seq = b->seq;
  it->kind = b->kind;
  it->has_prev = b->has_prev;
  memcpy(it->prev, b->prev, 32);
  if (b->version != CODEC_VERSION) return KK_ERR(VERSION);
  if (b->seq == 0) return KK_ERR(FIELD);
  if ((b->seq == 1) == (b->has_prev != 0)) return KK_ERR(PREV);
  if (b->kind == KK_PL_GENESIS) {
    if (b->has_network || b->seq != 1) return KK_ERR(GENESIS);
    if (!have_network || memcmp(it->id, network, 32) != 0) return KK_ERR(NETWORK);
  } else {
    if (!b->has_network || !have_network || memcmp(b->network, network, 32) != 0)
      return KK_ERR(NETWORK);
  }
  if (b->kind == KK_PL_ROTATE_KEY) {
    uint8_t msg[40];
    memcpy(msg, b->author, 32);
    be64_put(msg + 32, b->seq);
    int r = sig_verify(b->u.rotate_key.proof, SIG_TAG_ROTATE, msg, 40, b->u.rotate_key.new_key);
    if (r) return r == -ENOMEM ? r : KK_ERR(ROTATE_PROOF);
    memcpy(it->new_key, b->u.rotate_key.new_key, 32);
  }
  return 0;
}

static int ingest_order_cmp(const void *a, const void *b)
{
  const struct ingest_item *x = *(struct ingest_item *const *)a, *y = *(struct ingest_item *const *)b;
  int c = memcmp(x->author, y->author, 32);
  if (c) return c;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  /* Two records for one position (a fork within the batch): the one with the smaller
   * id is stored and the other becomes evidence, on every node that gets this batch —
   * qsort is not stable, so without this the choice followed the sort's whims. */
  return memcmp(x->id, y->id, 32);
}

/* Signature verification of the items marked `verify` (crypto/sigbatch.h): started
 * before the write transaction, joined before its commit, so the threads check while
 * the caller writes, and the caller takes its share once the transaction is written. */
struct ingest_verifier {
  struct ingest_item **list;    /* the items checked, job by job */
  struct sig_job *jobs;
  size_t n;
  struct sigbatch batch;
  int joined;
  size_t bad;                   /* items not verified (counted at the join) */
};

static int ingest_verify_start(struct ingest_verifier *v, struct ingest_item **order, size_t n, int threads)
{
  memset(v, 0, sizeof *v);
  v->list = mem_alloc((n ? n : 1) * sizeof *v->list);
  v->jobs = mem_alloc((n ? n : 1) * sizeof *v->jobs);
  if (!v->list || !v->jobs) {
    mem_free(v->list);
    mem_free(v->jobs);
    v->list = NULL;
    v->jobs = NULL;
    return -ENOMEM;
  }
  for (size_t i = 0; i < n; i++) {
    struct ingest_item *it = order[i];
    struct kk_envelope_view ev;
    if (!it->verify) continue;
    if (codec_envelope_split(it->env, it->len, &ev)) { it->sig_bad = 1; v->bad++; continue; }
    v->list[v->n] = it;
    v->jobs[v->n++] = (struct sig_job){ ev.sig, ev.body, it->key, SIG_TAG_RECORD, ev.body_len, 0 };
  }
  sigbatch_start(&v->batch, v->jobs, v->n, threads);
  return 0;
}

/* Checks what is left alongside the threads, waits for them; returns the number of
 * items not verified (a bad signature, or one that could not be checked). Idempotent. */
static size_t ingest_verify_join(struct ingest_verifier *v)
{
  if (v->joined) return v->bad;
  sigbatch_join(&v->batch);
  for (size_t i = 0; i < v->n; i++) {
    int r = v->jobs[i].result;
    if (r == -ENOMEM) v->list[i]->sig_unchecked = 1; /* not a verdict: the batch fails with -ENOMEM */
    else if (r) v->list[i]->sig_bad = 1;
  }
  for (size_t i = 0; i < v->n; i++) v->bad += v->list[i]->sig_bad || v->list[i]->sig_unchecked;
  v->joined = 1;
  return v->bad;
}

static void ingest_verify_free(struct ingest_verifier *v)
{
  ingest_verify_join(v);
  mem_free(v->list);
  mem_free(v->jobs);
  v->list = NULL;
  v->jobs = NULL;
}

struct ingest_commit_ctx {
  struct store *s;
  struct ingest_item **order;
  size_t n;
  int flags;
  const uint8_t *adopt_network, *adopt_registry;
  struct ingest_verifier *verifier; /* joined before the commit; NULL: all verified */
  const uint8_t *network;
  const struct ingest_hook *hook;
};

/* Signatures failed while the transaction was being written: abort and redo. */
#define INGEST_RETRY_SIGS KK_ERR(SIGNATURE)
/* Another writer (a CLI beside a node, a node beside a CLI) appended to a feed of the
 * batch between the continuity check and the write transaction: abort, check again. */
#define INGEST_RETRY_RACE KK_ERR(BUSY)
#define INGEST_RACE_TRIES 16

void (*ingest_test_between)(struct store *s);
/* A checkpoint-sync proof did not hold: abort, verify those signatures, redo. */
#define INGEST_RETRY_CKPT KK_ERR(CHECKPOINT)

/* The records taken on a checkpoint's word: the tree they built must be a prefix of
 * the checkpoint's (RFC 9162 consistency), and they wait in `unverified`. */
static int ingest_check_ckpts(struct store_txn *txn, struct store *s, struct ingest_item **order, size_t n)
{
  for (size_t i = 0; i < n; i++) {
    struct ingest_item *it = order[i];
    if (it->result != 0 || !it->by_ckpt) continue;
    struct ingest_ckpt *c = it->ckpt;
    if (i == 0 || order[i - 1]->ckpt != c || !order[i - 1]->by_ckpt || order[i - 1]->result != 0) {
      /* first record of this group: check the proof once */
      uint8_t root[32];
      int rc = tree_root(txn, s, c->author, c->end, root);
      if (rc == STORE_ABSENT) return INGEST_RETRY_CKPT;
      if (rc) return rc;
      if (c->end == c->size ? memcmp(root, c->root, 32) != 0
                            : merkle_verify_consistency(c->end, c->size, root, c->root, c->proof, c->n_proof) != 0)
        return INGEST_RETRY_CKPT;
    }
    uint8_t k[40];
    memcpy(k, it->author, 32);
    be64_put(k + 32, it->seq);
    int rc = store_put(txn, s, STORE_DB_UNVERIFIED, k, 40, "", 0);
    if (rc) return rc;
  }
  return 0;
}

/* Whether every record to be appended still follows its feed's head as this write
 * transaction sees it. Pass B checked continuity in a read transaction; a record another
 * process committed since (at the same position, or a key rotation) would otherwise be
 * followed by a second record for one seq. */
static int ingest_still_fits(struct store_txn *txn, struct store *s, struct ingest_item **order, size_t n)
{
  struct store_head h;
  const uint8_t *head_of = NULL;
  for (size_t i = 0; i < n; i++) {
    struct ingest_item *it = order[i];
    if (it->result != 0) continue;
    if (!head_of || memcmp(head_of, it->author, 32) != 0) {
      int rc = store_head_get(txn, s, it->author, &h);
      if (rc == STORE_ABSENT) {
        memset(&h, 0, sizeof h);
        memcpy(h.key, it->author, 32);
      } else if (rc) {
        return rc;
      }
      head_of = it->author;
    }
    if (it->seq != h.seq + 1 || (it->seq > 1 && memcmp(it->prev, h.last_id, 32) != 0) ||
        memcmp(it->key, h.key, 32) != 0)
      return INGEST_RETRY_RACE;
    h.seq = it->seq;
    memcpy(h.last_id, it->id, 32);
    if (it->kind == KK_PL_ROTATE_KEY) memcpy(h.key, it->new_key, 32);
  }
  return 0;
}

static int ingest_commit_fn(struct store_txn *txn, void *arg)
{
  struct ingest_commit_ctx *c = arg;
  int rc = ingest_still_fits(txn, c->s, c->order, c->n);
  if (rc) return rc;
  uint8_t (*feeds)[32] = mem_alloc((c->n ? c->n : 1) * 32);
  struct rules_fresh *fresh = NULL;
  size_t nf = 0, nfresh = 0;
  if (!feeds) return -ENOMEM;
  if (c->adopt_network &&
      ((rc = store_meta_put(txn, c->s, "network", c->adopt_network, 32)) ||
       (rc = store_meta_put(txn, c->s, "registry", c->adopt_registry, 32))))
    goto done;
  for (size_t i = 0; i < c->n; i++) {
    struct ingest_item *it = c->order[i];
    if (it->result != 0) continue;
    const uint8_t *next_key = it->kind == KK_PL_ROTATE_KEY ? it->new_key : it->key;
    if ((rc = store_record_append(txn, c->s, it->id, it->author, it->seq, it->env, it->len, next_key)) ||
        (rc = tree_append_record(txn, c->s, it->author, it->seq, it->env, it->len)))
      goto done;
    if (nf == 0 || memcmp(feeds[nf - 1], it->author, 32) != 0) memcpy(feeds[nf++], it->author, 32);
  }
  /* A second record at a held position: keep the pair as evidence (freezes the feed). */
  for (size_t i = 0; i < c->n; i++) {
    struct ingest_item *it = c->order[i];
    it->evidence_new = it->evidence_held = 0;
    if (it->result != KK_ERR(FORK)) continue;
    const uint8_t *other;
    size_t olen;
    if (it->fork_with) { other = it->fork_with->env; olen = it->fork_with->len; }
    else if ((rc = store_record_get(txn, c->s, it->author, it->seq, &other, &olen))) goto done;
    uint8_t *ev;
    size_t evl;
    struct evidence_info info;
    if ((rc = evidence_from_records(c->network, it->env, it->len, other, olen, &ev, &evl))) goto done;
    rc = evidence_store(txn, c->s, ev, evl, &info, &it->evidence_new);
    mem_free(ev);
    /* Evidence that does not check out (a record signed by a key rotated away) only
     * leaves the record refused. */
    if (rc == KK_ERR(EVIDENCE)) { rc = 0; continue; }
    if (rc) goto done;
    memcpy(it->evidence_id, info.id, 32);
    it->evidence_held = 1;
  }
  if ((rc = ingest_check_ckpts(txn, c->s, c->order, c->n))) goto done;
  /* The rules judge only records whose signatures have verified: a bad one makes the
   * batch's writes run again without it, never its rules (the costlier part). Until
   * here the signatures were checked on other threads while the records were written. */
  if (c->verifier && ingest_verify_join(c->verifier)) { rc = INGEST_RETRY_SIGS; goto done; }
  /* The records stored, in order (author, seq): the rules take them from here. */
  fresh = mem_alloc((c->n ? c->n : 1) * sizeof *fresh);
  if (!fresh) { rc = -ENOMEM; goto done; }
  for (size_t i = 0; i < c->n; i++) {
    const struct ingest_item *it = c->order[i];
    if (it->result == 0) fresh[nfresh++] = (struct rules_fresh){ it->author, it->seq, it->id, it->env, it->len };
  }
  if ((rc = rules_advance_fresh(c->s, txn, (const uint8_t(*)[32])feeds, nf, fresh, nfresh))) goto done;
  if (c->flags & INGEST_LOCAL) {
    for (size_t i = 0; i < c->n; i++) {
      struct ingest_item *it = c->order[i];
      struct rules_status st;
      if (it->result != 0) continue;
      rc = rules_status_at(txn, c->s, it->author, it->seq, &st);
      /* the record refused (or left waiting) carries the batch's error: which one it was */
      if (rc == STORE_ABSENT) { it->result = rc = KK_ERR(PENDING); goto done; }
      if (rc) goto done;
      if (st.verdict != RULES_VALID) { it->result = rc = st.err; goto done; }
    }
  }
  if (c->hook && (rc = c->hook->fn(txn, c->hook->ctx, (const uint8_t(*)[32])feeds, nf))) goto done;
done:
  mem_free(feeds);
  mem_free(fresh);
  return rc;
}

/* Under INGEST_ALL_OR_NOTHING or INGEST_LOCAL, the error of the first rejected record
 * (nothing is to be written), else 0. A fork from outside is not a rejection but
 * evidence, kept with the rest of the batch; an own record never forks. */
static int ingest_refused(const struct ingest_item *items, size_t n, int flags)
{
  if (!(flags & (INGEST_ALL_OR_NOTHING | INGEST_LOCAL))) return 0;
  for (size_t i = 0; i < n; i++) {
    if (items[i].result == 0 || items[i].result == INGEST_DUPLICATE) continue;
    if (items[i].result == KK_ERR(FORK) && !(flags & INGEST_LOCAL)) continue;
    return items[i].result;
  }
  return 0;
}

int ingest_batch(struct store *s, struct ingest_item *items, size_t n, int flags, int threads)
{
  return ingest_batch_hook(s, items, n, flags, threads, NULL);
}

static int ingest_once(struct store *s, struct ingest_item *items, size_t n, int flags, int threads,
                       const struct ingest_hook *hook)
{
  uint8_t network[32];
  int have_network = 0, rc;
  uint8_t adopt_registry[32];
  const uint8_t *adopt = NULL;  /* set: write network and registry with the batch */
  struct ingest_verifier verifier;
  int verifier_started = 0;
  struct kk_body *b = mem_alloc(sizeof *b);
  struct ingest_item **order = mem_alloc((n ? n : 1) * sizeof *order);
  struct store_txn *txn = NULL;
  if (!b || !order) { rc = -ENOMEM; goto done; }
  if ((rc = store_read(s, &txn))) goto done;
  const void *v;
  size_t vn;
  rc = store_meta_get(txn, s, "network", &v, &vn);
  if (rc == 0 && vn == 32) { memcpy(network, v, 32); have_network = 1; }
  else if (rc == 0) { rc = KK_ERR(CORRUPT); goto done; }
  else if (rc != STORE_ABSENT) goto done;
  if (!have_network && (flags & INGEST_ADOPT_GENESIS) && n == 1) {
    uint8_t registry[32];
    if ((rc = ingest_check_genesis(items[0].env, items[0].len, network, registry))) goto done;
    adopt = registry;
    memcpy(adopt_registry, registry, 32);
    have_network = 1;
  }
  if (!have_network) { rc = KK_ERR(NOT_INIT); goto done; }

  /* Pass A: decode everything. */
  for (size_t i = 0; i < n; i++) {
    items[i].result = ingest_decode(&items[i], b, network, have_network);
    items[i].fork_with = NULL;
    items[i].evidence_new = items[i].evidence_held = 0;
    items[i].by_ckpt = 0;
    order[i] = &items[i];
    /* Out of memory is no verdict on a record: the whole batch fails, to be retried. */
    if (items[i].result == -ENOMEM) { rc = -ENOMEM; goto done; }
  }
  /* Pass B: feed continuity, in (author, seq) order, against the store and the batch. */
  qsort(order, n, sizeof *order, ingest_order_cmp);
  struct store_head h;
  uint8_t head_of[32];
  int have_head = 0;
  for (size_t i = 0; i < n; i++) {
    struct ingest_item *it = order[i];
    if (it->result) continue;
    if (!have_head || memcmp(head_of, it->author, 32) != 0) {
      rc = store_head_get(txn, s, it->author, &h);
      if (rc == STORE_ABSENT) {
        memset(&h, 0, sizeof h);
        memcpy(h.key, it->author, 32);
      } else if (rc) goto done;
      memcpy(head_of, it->author, 32);
      have_head = 1;
    }
    if (it->seq <= h.seq) {
      const uint8_t *env;
      size_t len;
      uint8_t id[32];
      int found = 0;
      if ((rc = store_record_get(txn, s, it->author, it->seq, &env, &len)) == 0) {
        sig_sha256(id, env, len);
        found = 1;
      } else if (rc != STORE_ABSENT) goto done;
      if (!found) {
        /* Held earlier in this same batch. */
        for (size_t j = i; j-- > 0 && memcmp(order[j]->author, it->author, 32) == 0;)
          if (order[j]->seq == it->seq && order[j]->result == 0) {
            memcpy(id, order[j]->id, 32);
            it->fork_with = order[j];
            found = 1;
            break;
          }
      }
      it->result = found && memcmp(id, it->id, 32) == 0 ? INGEST_DUPLICATE : KK_ERR(FORK);
      continue;
    }
    if (it->seq != h.seq + 1) { it->result = KK_ERR(SEQ_GAP); continue; }
    if (it->seq > 1 && memcmp(it->prev, h.last_id, 32) != 0) { it->result = KK_ERR(PREV); continue; }
    memcpy(it->key, h.key, 32);
    h.seq = it->seq;
    memcpy(h.last_id, it->id, 32);
    if (it->kind == KK_PL_ROTATE_KEY) memcpy(h.key, it->new_key, 32);
  }
  /* Checkpoint sync: the proof starts at the last record sent with it; is the named
   * checkpoint held here, cosigned? */
  for (size_t i = 0; i < n; i++) {
    struct ingest_ckpt *c = items[i].ckpt;
    if (c && items[i].result == 0 && memcmp(c->author, items[i].author, 32) == 0 && items[i].seq > c->end)
      c->end = items[i].seq;
  }
  for (size_t i = 0; i < n; i++) {
    struct ingest_ckpt *c = items[i].ckpt;
    /* Only records of the feed the proof is about; anything else a peer slipped in is
     * checked as usual. */
    if (!c || items[i].result != 0 || memcmp(c->author, items[i].author, 32) != 0) continue;
    if (c->usable == 0) {
      size_t cosigs = 0;
      c->usable = -1;
      if (c->end <= c->size && ckpt_stored(txn, s, c->author, c->size, c->root, &cosigs) == 0 &&
          cosigs >= INGEST_CKPT_MIN_COSIGS)
        c->usable = 1;
    }
    items[i].by_ckpt = c->usable == 1 && items[i].seq <= c->end;
  }
  store_txn_abort(txn);
  txn = NULL;
  if (ingest_test_between) ingest_test_between(s);

  if ((rc = ingest_refused(items, n, flags))) goto done;

  /* Pass C: signatures, on all cores, while this thread writes the transaction. Own
   * records just signed with the feed's original key need no second look. */
  int trusted = (flags & (INGEST_LOCAL | INGEST_SIGNED_HERE)) == (INGEST_LOCAL | INGEST_SIGNED_HERE);
  for (size_t i = 0; i < n; i++) {
    struct ingest_item *it = &items[i];
    it->sig_bad = it->sig_unchecked = 0;
    it->verify = it->result == 0 && !(trusted && memcmp(it->key, it->author, 32) == 0) && !it->by_ckpt;
  }
  if ((rc = ingest_verify_start(&verifier, order, n, threads))) goto done;
  verifier_started = 1;
  struct ingest_commit_ctx cc = { s, order, n, flags, adopt ? network : NULL, adopt ? adopt_registry : NULL, &verifier,
                                  network, hook };
  rc = store_write(s, ingest_commit_fn, &cc);
  if (rc == INGEST_RETRY_CKPT) {
    /* A proof did not hold: those records are checked like any other, now. */
    ingest_verify_join(&verifier);
    for (size_t i = 0; i < n; i++) {
      items[i].verify = items[i].by_ckpt;
      items[i].by_ckpt = 0;
    }
    struct ingest_verifier again;
    if ((rc = ingest_verify_start(&again, order, n, threads))) goto done;
    ingest_verify_free(&again);
    rc = INGEST_RETRY_SIGS;
  }
  if (rc == INGEST_RETRY_SIGS) {
    for (size_t i = 0; i < n; i++)
      if (items[i].sig_unchecked) { rc = -ENOMEM; goto done; } /* nothing judged, nothing written */
    for (size_t i = 0; i < n; i++)
      if (items[i].sig_bad) items[i].result = KK_ERR(SIGNATURE);
    /* A record whose predecessor in this batch failed cannot be stored either. */
    for (size_t i = 1; i < n; i++) {
      struct ingest_item *p = order[i - 1], *it = order[i];
      if (it->result == 0 && memcmp(p->author, it->author, 32) == 0 && p->seq == it->seq - 1 && p->result != 0 &&
          p->result != INGEST_DUPLICATE)
        it->result = KK_ERR(SEQ_GAP);
    }
    if ((rc = ingest_refused(items, n, flags))) goto done;
    cc.verifier = NULL;
    rc = store_write(s, ingest_commit_fn, &cc);
  }
done:
  if (verifier_started) ingest_verify_free(&verifier);
  if (txn) store_txn_abort(txn);
  mem_free(b);
  mem_free(order);
  return rc;
}

int ingest_batch_hook(struct store *s, struct ingest_item *items, size_t n, int flags, int threads,
                      const struct ingest_hook *hook)
{
  /* Each try starts over from the continuity check, against what the store holds then:
   * a record another writer appended meanwhile is now a duplicate, or a fork. */
  int rc = INGEST_RETRY_RACE;
  for (int tries = 0; rc == INGEST_RETRY_RACE && tries < INGEST_RACE_TRIES; tries++)
    rc = ingest_once(s, items, n, flags, threads, hook);
  return rc;
}

int ingest_check_genesis(const uint8_t *env, size_t len, uint8_t network[32], uint8_t registry[32])
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  int rc;
  if (!b) return -ENOMEM;
  if ((rc = codec_envelope_split(env, len, &ev)) || (rc = codec_body_decode(ev.body, ev.body_len, b)))
    goto done;
  if (b->kind != KK_PL_GENESIS || b->seq != 1 || b->has_prev || b->has_network ||
      b->version != CODEC_VERSION) { rc = KK_ERR(GENESIS); goto done; }
  if ((rc = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, b->author))) {
    if (rc != -ENOMEM) rc = KK_ERR(SIGNATURE);
    goto done;
  }
  sig_sha256(network, env, len);
  memcpy(registry, b->author, 32);
done:
  mem_free(b);
  return rc;
}
