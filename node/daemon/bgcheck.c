/*
 * bgcheck — the writer's jobs that are not record batches (node/daemon/repl.h):
 * checkpoints and evidence received from peers taken into the store (one that cannot be
 * taken is dropped alone), and the background check of the signatures of records taken
 * on a cosigned checkpoint's word (checkpoint sync): read on the thread pool beside
 * ingest, its results written by the writer; a record whose signature fails becomes
 * evidence against the checkpoint's signers, and the feed is witnessed once checked.
 */
#include "node.h"
#include "repl.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../base/buf.h"
#include "../ledger/ckpt.h"
#include "../ledger/tree.h"
#include "../ledger/evidence.h"
#include "../ledger/ingest.h"
#include "../ledger/rules.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>



int repl_checkpoint_fn(struct store_txn *txn, void *arg)
{
  struct repl_job_ctx *g = arg;
  struct node *n = g->n;
  struct ingest_job *j = g->j;
  int changed = 0;
  uint64_t now = repl_unix_now();
  j->n_notes = 0;
  for (size_t i = 0; i < j->n; i++) {
    struct ckpt_seen seen;
    int rc = ckpt_receive(txn, n->s, n->network, n->pk, n->sk, (const char *)j->envs[i], j->lens[i], now, &seen);
    /* One checkpoint that cannot be taken (not valid, signed by a rotation not seen
     * yet, contradicting evidence that does not check out) is dropped alone: the rest of
     * the batch, from every peer, is still taken. Only storage and memory errors abort. */
    if (rc && kk_err_is_input(rc)) continue;
    if (rc) return rc;
    int news = seen.new_checkpoint || seen.new_cosigs || seen.cosigned;
    if (news) repl_job_note(j, JOB_ANNOUNCE, seen.author, seen.size, 0);
    if (seen.conflict) repl_job_note(j, JOB_PROBE, seen.author, seen.size, j->conns[i]);
    if (seen.evidence) repl_job_note(j, JOB_EVIDENCE, seen.evidence_id, 0, 0);
    changed |= news || seen.evidence;
  }
  return changed ? 0 : REPL_NOTHING_NEW;
}

int repl_evidence_fn(struct store_txn *txn, void *arg)
{
  struct repl_job_ctx *g = arg;
  struct ingest_job *j = g->j;
  struct evidence_info info;
  int is_new;
  j->n_notes = 0;
  int rc = evidence_store(txn, g->n->s, j->blob, j->blob_len, &info, &is_new);
  if (rc) return rc;
  if (!is_new) return REPL_NOTHING_NEW;
  repl_job_note(j, JOB_EVIDENCE, info.id, 0, 0);
  return 0;
}

/* The background check's results: checked records leave `unverified`; a record whose
 * signature failed under its author's checkpoint becomes evidence (and freezes the
 * feed); feeds now fully checked are witnessed. */
int repl_verified_fn(struct store_txn *txn, void *arg)
{
  struct repl_job_ctx *g = arg;
  struct node *n = g->n;
  struct ingest_job *j = g->j;
  int rc = 0;
  j->n_notes = 0;
  for (size_t i = 0; i < j->n_bg && rc == 0; i++) {
    const struct bg_item *b = &j->bg[i];
    uint8_t k[40];
    if (b->unchecked) continue; /* left for the next pass */
    memcpy(k, b->author, 32);
    be64_put(k + 32, b->seq);
    if (b->bad) {
      const char *note;
      size_t nlen;
      uint64_t size;
      const uint8_t *env;
      size_t elen;
      uint8_t proof[TREE_MAX_PROOF][32], *ev;
      size_t np, evl;
      if ((rc = ckpt_covering(txn, n->s, b->author, b->seq, &note, &nlen, &size)) ||
          (rc = store_record_get(txn, n->s, b->author, b->seq, &env, &elen)) ||
          (rc = tree_inclusion(txn, n->s, b->author, b->seq - 1, size, proof, &np)))
        break;
      char *nc = mem_alloc(nlen);
      uint8_t *ec = mem_alloc(elen);
      if (!nc || !ec) { mem_free(nc); mem_free(ec); rc = -ENOMEM; break; }
      memcpy(nc, note, nlen); /* copies: the puts below may move pages */
      memcpy(ec, env, elen);
      rc = evidence_from_bad_record(n->network, b->author, nc, nlen, ec, elen, (const uint8_t(*)[32])proof, np, &ev, &evl);
      mem_free(nc);
      mem_free(ec);
      if (rc) break;
      struct evidence_info info;
      int is_new;
      rc = evidence_store(txn, n->s, ev, evl, &info, &is_new);
      mem_free(ev);
      if (rc) break;
      if (is_new) repl_job_note(j, JOB_EVIDENCE, info.id, 0, 0);
    }
    rc = store_del(txn, n->s, STORE_DB_UNVERIFIED, k, 40); /* 0 when it was not there */
  }
  for (size_t i = 0; i < j->n_bg && rc == 0; i++) {
    uint64_t size;
    if (i > 0 && memcmp(j->bg[i].author, j->bg[i - 1].author, 32) == 0) continue;
    rc = ckpt_witness(txn, n->s, n->network, n->pk, n->sk, j->bg[i].author, repl_unix_now(), &size);
    if (rc == 0 && size) repl_job_note(j, JOB_ANNOUNCE, j->bg[i].author, size, 0);
  }
  return rc;
}

/* One record taken on a checkpoint's word: its signature checked. 1 (stop) once the
 * batch is full. */
struct bg_scan { struct node *n; struct store_txn *txn; };

static int bg_check_one(void *arg, const uint8_t author[32], uint64_t seq)
{
  struct bg_scan *sc = arg;
  struct node *n = sc->n;
  if (n->bg_n == NODE_BG_BATCH) return 1;
  struct bg_item *b = &n->bg_items[n->bg_n++];
  memcpy(b->author, author, 32);
  b->seq = seq;
  const uint8_t *env;
  size_t len;
  uint8_t key[32];
  struct kk_envelope_view ev;
  int r = store_record_get(sc->txn, n->s, b->author, b->seq, &env, &len);
  if (!r) r = store_key_at(sc->txn, n->s, b->author, b->seq - 1, key);
  if (!r && codec_envelope_split(env, len, &ev)) r = KK_ERR(CORRUPT); /* checked on arrival */
  if (!r) {
    r = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, key);
    b->bad = r == -1;
  }
  b->unchecked = r != 0 && !b->bad;
  return 0;
}

/* Background pass (thread pool, beside ingest): the signatures of up to NODE_BG_BATCH
 * records taken on a checkpoint's word. Reads only. */
static void bg_work_cb(uv_work_t *w)
{
  struct node *n = w->data;
  struct store_txn *txn;
  n->bg_n = 0;
  if (!(n->bg_items = mem_calloc(NODE_BG_BATCH, sizeof *n->bg_items)) || store_read(n->s, &txn)) return;
  struct bg_scan sc = { n, txn };
  (void)store_unverified_each(txn, n->s, bg_check_one, &sc); /* what a failed read left is looked at next pass */
  store_txn_abort(txn);
}

static void bg_after_cb(uv_work_t *w, int status)
{
  struct node *n = w->data;
  (void)status;
  n->bg_in_thread = 0;
  repl_grow_resume(n);       /* ingest waited for this pass's read transaction to end */
  struct ingest_job *j = n->bg_n && !n->stopping ? mem_calloc(1, sizeof *j) : NULL;
  if (!j) {
    mem_free(n->bg_items);
    n->bg_items = NULL;
    n->bg_running = 0;
    return;
  }
  j->kind = JOB_VERIFIED;
  j->bg = n->bg_items;
  j->n_bg = n->bg_n;
  n->bg_items = NULL;
  repl_enqueue(n, j); /* bg_running stays set until this job is done */
}

/* Starts a background pass when records wait for their signature check and ingest is
 * idle (during a catch-up the checks wait for the gaps, so the catch-up goes first). */
void repl_bg_kick(struct node *n)
{
  struct store_txn *txn;
  if (n->bg_running || n->bg_wait_tick || n->stopping || n->running || n->grow_jobs || n->jobs_head ||
      store_read(n->s, &txn))
    return;
  uint64_t waiting = 0;
  int any = store_entries(txn, n->s, STORE_N_UNVERIFIED, &waiting) == 0 && waiting > 0;
  store_txn_abort(txn);
  if (!any) return;
  n->bg_running = 1;
  n->bg_in_thread = 1;
  n->bg_work.data = n;
  if (uv_queue_work(n->loop, &n->bg_work, bg_work_cb, bg_after_cb) != 0) n->bg_running = n->bg_in_thread = 0;
}
