/*
 * writer — the single writer of the node's store (node/daemon/repl.h): a queue of
 * ingest jobs (records from peers, the member's own records from the control socket)
 * run one at a time on the thread pool, the map grown when a job finds it full, and
 * what each commit changed handed back to the loop thread to announce. The member's
 * own records wait behind the own-head gate (decision 38) until a peer has vouched for
 * the feed's head. Also the node's start-up sweep and its periodic tick.
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


/* ---- the own-head gate ------------------------------------------------------------------ */

/* Whether our own appends may go ahead: a network of one, or a peer has said what it
 * holds of our feed and we hold at least that (what it holds beyond, the sync fetches
 * first). */
static int own_head_ready(struct node *n)
{
  struct store_txn *txn;
  if (n->standalone) return 1;
  if (store_read(n->s, &txn)) return 0;
  uint64_t ours = repl_our_seq(n, txn, n->pk);
  /* The only member this store knows of (a registry bootstrapping its network): nobody
   * else can hold records of its feed. */
  uint64_t members;
  int alone = store_entries(txn, n->s, STORE_N_MEMBERS, &members) == 0 && members <= 1;
  store_txn_abort(txn);
  if (alone) return 1;
  return n->own_head_known && ours >= n->own_head_claimed;
}

/* Queues the held appends when the gate opens; answers those that waited too long. */
void repl_gate_release(struct node *n)
{
  if (!n->gated_head) return;
  if (own_head_ready(n)) {
    struct ingest_job *j = n->gated_head;
    n->gated_head = n->gated_tail = NULL;
    while (j) {
      struct ingest_job *next = j->next;
      j->next = NULL;
      repl_enqueue(n, j);
      j = next;
    }
    return;
  }
  uint64_t now = node_now(n);
  while (n->gated_head && now - n->gated_head->gated_at >= n->own_head_wait_ms) {
    struct ingest_job *j = n->gated_head;
    n->gated_head = j->next;
    if (!n->gated_head) n->gated_tail = NULL;
    log_warn("an append of our own waited %llu ms for a peer to confirm our feed's head: refused, nothing written",
             (unsigned long long)(now - j->gated_at));
    j->rc = KK_ERR(UNCONFIRMED);
    ctl_job_done(n, j);
    repl_job_free(j);
  }
}

void repl_enqueue_own(struct node *n, struct ingest_job *job)
{
  if (!n->gated_head && own_head_ready(n)) { repl_enqueue(n, job); return; }
  job->gated_at = node_now(n);
  if (n->gated_tail) n->gated_tail->next = job;
  else n->gated_head = job;
  n->gated_tail = job;
}


/* A map another process grew (STORE_MAP_RESIZED) is adopted here when no thread holds a
 * transaction; until then the loop thread's reads fail and wait for the next tick. */
static void adopt_resized_map(struct node *n)
{
  struct store_txn *txn;
  if (n->running || n->grow_jobs || n->bg_in_thread) return;
  int rc = store_read(n->s, &txn);
  if (rc == 0) { store_txn_abort(txn); return; }
  if (rc != STORE_MAP_RESIZED || !node_readers_hold(n)) return; /* an HTTP reader: the next tick */
  rc = store_adopt_map_size(n->s);
  node_readers_release(n);
  if (rc) log_error("adopting the map another process grew: %s", kk_strerror(rc));
  else
    log_info("map grown by another process (a command writing beside the node): %zu MiB adopted",
             store_map_size(n->s) >> 20);
}

void repl_tick(struct node *n)
{
  adopt_resized_map(n);
  repl_gate_release(n);
  repl_announce_arrivals(n, NULL, 0);
  repl_announce_evidence(n);
  n->bg_wait_tick = 0;
  repl_want_all(n);
  repl_bg_kick(n);
}

/* Every feed's author, collected (heads come once each: the set stays a list). */
struct feed_list { uint8_t (*feeds)[32]; size_t n, cap; };

static int feed_list_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct feed_list *fl = arg;
  (void)h;
  return repl_feed_set_add(&fl->feeds, &fl->n, &fl->cap, author);
}

/* The start-up sweep: checkpoints for every feed, the own head marked unconfirmed. */
static int start_fn(struct store_txn *txn, void *arg)
{
  struct node *n = arg;
  struct feed_list fl = { NULL, 0, 0 };
  int rc = store_heads_each(txn, n->s, feed_list_one, &fl);
  if (rc == 0) rc = ckpt_after_batch(txn, n->s, n->pk, n->sk, (const uint8_t(*)[32])fl.feeds, fl.n, repl_unix_now(), NULL, NULL);
  mem_free(fl.feeds);
  /* This run has not heard a peer vouch for our head yet (a network of one needs none). */
  if (rc == 0) rc = store_meta_put(txn, n->s, STORE_META_CONFIRMED, n->standalone ? "\1" : "\0", 1);
  return rc;
}

static int mark_confirmed_fn(struct store_txn *txn, void *arg)
{
  struct node *n = arg;
  return store_meta_put(txn, n->s, STORE_META_CONFIRMED, "\1", 1);
}

void repl_start(struct node *n)
{
  struct store_txn *txn;
  /* Records written while the node was down (by the CLI, by an import) get their
   * checkpoint and witness cosignatures now. */
  int rc = store_write(n->s, start_fn, n);
  if (rc) log_error("signing and witnessing checkpoints at start: %s", kk_strerror(rc));
  if (store_read(n->s, &txn) == 0) {
    uint64_t last;
    if ((rc = store_log_last(txn, n->s, &last)) == 0) n->last_arrival = last;
    else log_error("reading the log's newest arrival at start: %s", kk_strerror(rc)); /* stays 0: all announced */
    n->evidence_seen = repl_evidence_count(n, txn);
    store_txn_abort(txn);
  }
}

/* ---- the ingest queue ------------------------------------------------------------------- */

void repl_job_free(struct ingest_job *j)
{
  for (size_t i = 0; i < j->n; i++) mem_free(j->envs ? j->envs[i] : NULL);
  mem_free(j->envs);
  mem_free(j->lens);
  mem_free(j->results);
  mem_free(j->body);
  mem_free(j->stored);
  mem_free(j->blob);
  mem_free(j->bg);
  mem_free(j->ckpt);
  mem_free(j->ckpt_proof);
  mem_free(j->conns);
  mem_free(j->notes);
  mem_free(j);
}

/* Adds a follow-up to a job (once). Runs on the ingest thread; a failed allocation only
 * loses a gossip message, which the next connection repeats. */
void repl_job_note(struct ingest_job *j, int kind, const uint8_t key[32], uint64_t v, uint64_t conn_id)
{
  for (size_t i = 0; i < j->n_notes; i++)
    if (j->notes[i].kind == kind && j->notes[i].n == v && j->notes[i].conn_id == conn_id &&
        memcmp(j->notes[i].key, key, 32) == 0)
      return;
  if (j->n_notes == j->cap_notes) {
    size_t cap = j->cap_notes ? j->cap_notes * 2 : 8;
    void *p = mem_realloc(j->notes, cap * sizeof *j->notes);
    if (!p) return;
    j->notes = p;
    j->cap_notes = cap;
  }
  struct job_note *x = &j->notes[j->n_notes++];
  x->kind = kind;
  memcpy(x->key, key, 32);
  x->n = v;
  x->conn_id = conn_id;
}

/* Inside every records transaction: sign our own feed's checkpoint if it grew, and
 * witness the newest checkpoint of every other feed that grew. */
struct hook_ctx { struct node *n; struct ingest_job *j; };

static void hook_announce(void *arg, const uint8_t author[32], uint64_t size)
{
  struct hook_ctx *h = arg;
  repl_job_note(h->j, JOB_ANNOUNCE, author, size, 0);
}

static int records_hook(struct store_txn *txn, void *arg, const uint8_t (*feeds)[32], size_t nf)
{
  struct hook_ctx *h = arg;
  return ckpt_after_batch(txn, h->n->s, h->n->pk, h->n->sk, feeds, nf, repl_unix_now(), hook_announce, h);
}

/* A batch of own records the CLI signed (an import): they must start at the head the
 * node holds — else KK_E_BUSY, nothing written — and are ingested together. */
static void work_local_batch(struct node *n, struct ingest_job *j, const struct store_head *h)
{
  struct ingest_item *items = mem_calloc(j->n, sizeof *items);
  if (!(j->results = mem_calloc(j->n, sizeof *j->results)) || !items) { mem_free(items); j->rc = -ENOMEM; return; }
  uint8_t author[32];
  uint64_t seq;
  int kind;
  for (size_t i = 0; i < j->n; i++) {
    if ((j->rc = codec_record_position(j->envs[i], j->lens[i], author, &seq, &kind))) { j->results[i] = j->rc; goto done; }
    if (memcmp(author, n->pk, 32) != 0 || kind == KK_PL_GENESIS) { j->results[i] = j->rc = KK_ERR(SIGNATURE); goto done; }
    if (seq != h->seq + 1 + i) { j->rc = KK_ERR(BUSY); goto done; }
    items[i].env = j->envs[i];
    items[i].len = j->lens[i];
  }
  /* whether the first names the node's head as its prev is ingest's check (PREV) */
  struct hook_ctx hc = { n, j };
  struct ingest_hook hook = { records_hook, &hc };
  j->rc = ingest_batch_hook(n->s, items, j->n, INGEST_LOCAL | INGEST_SIGNED_HERE, 1, &hook);
  if (j->rc == KK_ERR(PREV) || j->rc == KK_ERR(FORK) || j->rc == KK_ERR(SEQ_GAP)) j->rc = KK_ERR(BUSY);
  for (size_t i = 0; i < j->n; i++) {
    j->results[i] = items[i].result;
    if (j->rc == 0 && items[i].result) j->rc = items[i].result == INGEST_DUPLICATE ? KK_ERR(INTERNAL) : items[i].result;
  }
  if (j->rc == 0) {
    memcpy(j->id, items[j->n - 1].id, 32);
    j->stored = mem_alloc(32);
    if (j->stored) { memcpy(j->stored[0], n->pk, 32); j->n_stored_feeds = 1; }
    j->n_stored = j->n;
  }
done:
  mem_free(items);
}

/* Signs and appends an own record (from the CLI) — on the ingest thread. The body the
 * CLI encoded is restamped at the feed's head here (codec_body_restamp: its payload is
 * neither decoded nor encoded again), signed, and ingested like any record. A batch the
 * CLI signed itself goes to work_local_batch. */
static void work_local(struct node *n, struct ingest_job *j)
{
  struct store_txn *txn;
  struct store_head h;
  if ((j->rc = store_read(n->s, &txn))) return;
  int rc = store_head_get(txn, n->s, n->pk, &h);
  store_txn_abort(txn);
  if (rc == STORE_ABSENT) memset(&h, 0, sizeof h);
  else if (rc) { j->rc = rc; return; }
  if (j->n) { work_local_batch(n, j, &h); return; }
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  uint64_t now_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
  uint8_t *body, *env, sig[64], author[32];
  size_t blen, elen;
  int kind;
  if ((j->rc = codec_body_restamp(j->body, j->body_len, n->network, h.seq + 1, h.seq > 0 ? h.last_id : NULL, now_ms,
                                  &body, &blen, author, &kind)))
    return;
  if (memcmp(author, n->pk, 32) != 0 || kind == KK_PL_GENESIS) {
    mem_free(body);
    j->rc = KK_ERR(SIGNATURE);
    return;
  }
  j->rc = sig_sign(sig, SIG_TAG_RECORD, body, blen, n->sk);
  if (!j->rc) j->rc = codec_envelope_join(body, blen, sig, &env, &elen);
  mem_free(body);
  if (j->rc) return;
  struct ingest_item it;
  memset(&it, 0, sizeof it);
  it.env = env;
  it.len = elen;
  struct hook_ctx hc = { n, j };
  struct ingest_hook hook = { records_hook, &hc };
  j->rc = ingest_batch_hook(n->s, &it, 1, INGEST_LOCAL | INGEST_SIGNED_HERE, 1, &hook);
  if (j->rc == 0 && it.result != 0) j->rc = it.result == INGEST_DUPLICATE ? KK_ERR(INTERNAL) : it.result;
  if (j->rc == 0) {
    memcpy(j->id, it.id, 32);
    j->stored = mem_alloc(32);
    if (j->stored) { memcpy(j->stored[0], n->pk, 32); j->n_stored_feeds = 1; }
    j->n_stored = 1;
  }
  mem_free(env);
}

/* Peer records of one or more jobs, in one transaction — on the ingest thread. */
static void work_peers(struct node *n, struct ingest_job *first)
{
  size_t total = 0;
  for (struct ingest_job *j = first; j; j = j->next) total += j->n;
  struct ingest_item *items = mem_calloc(total ? total : 1, sizeof *items);
  if (!items) { first->rc = -ENOMEM; return; }
  size_t k = 0;
  for (struct ingest_job *j = first; j; j = j->next)
    for (size_t i = 0; i < j->n; i++, k++) {
      items[k].env = j->envs[i];
      items[k].len = j->lens[i];
      items[k].ckpt = j->ckpt;
    }
  struct hook_ctx hc = { n, first };
  struct ingest_hook hook = { records_hook, &hc };
  int rc = ingest_batch_hook(n->s, items, total, 0, 0, &hook);
  k = 0;
  for (struct ingest_job *j = first; j; j = j->next) {
    j->rc = rc;
    j->results = mem_calloc(j->n ? j->n : 1, sizeof *j->results);
    j->stored = mem_calloc(j->n ? j->n : 1, 32);
    for (size_t i = 0; i < j->n; i++, k++) {
      if (j->results) j->results[i] = rc ? rc : items[k].result;
      if (rc == 0 && items[k].evidence_new) repl_job_note(j, JOB_EVIDENCE, items[k].evidence_id, 0, 0);
      /* A second record at a held position, or one that does not chain to ours: the
       * fork may start earlier; ask this peer for its record before it. */
      if (rc == 0 && (items[k].result == KK_ERR(FORK) || items[k].result == KK_ERR(PREV)) && items[k].seq > 1)
        repl_job_note(j, JOB_PROBE, items[k].author, items[k].seq - 1, j->conn_id);
      if (rc == 0 && items[k].result == 0 && j->stored) {
        j->n_stored++;
        j->n_ckpt_synced += items[k].by_ckpt != 0;
        if (!j->n_stored_feeds || memcmp(j->stored[j->n_stored_feeds - 1], items[k].author, 32) != 0)
          memcpy(j->stored[j->n_stored_feeds++], items[k].author, 32);
      }
    }
  }
  mem_free(items);
}

void repl_run_job(struct node *n, struct ingest_job *j)
{
  struct repl_job_ctx g = { n, j };
  switch (j->kind) {
  case JOB_CHECKPOINT:
    j->rc = store_write(n->s, repl_checkpoint_fn, &g);
    if (j->rc == REPL_NOTHING_NEW) j->rc = 0;
    break;
  case JOB_EVIDENCE_IN:
    j->rc = store_write(n->s, repl_evidence_fn, &g);
    if (j->rc == REPL_NOTHING_NEW) j->rc = 0;
    break;
  case JOB_VERIFIED:
    j->rc = store_write(n->s, repl_verified_fn, &g);
    break;
  case JOB_MARK_CONFIRMED:
    j->rc = store_write(n->s, mark_confirmed_fn, n);
    break;
  default:
    if (j->local) work_local(n, j);
    else work_peers(n, j);
  }
}

static void work_cb(uv_work_t *w)
{
  struct node *n = w->data;
  repl_run_job(n, n->running);
}

/* Sends a finished job's follow-ups: checkpoints and evidence to every peer, probes to
 * the peer the job came from. */
static void send_notes(struct node *n, struct ingest_job *j)
{
  if (!j->n_notes) return;
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  for (size_t i = 0; i < j->n_notes; i++) {
    const struct job_note *x = &j->notes[i];
    if (x->kind == JOB_PROBE) {
      struct conn *c = net_find(n, x->conn_id);
      if (c && c->state == CONN_OPEN) repl_send_probe(c, x->key, x->n);
      continue;
    }
    const uint8_t *ev = NULL;
    size_t evl = 0;
    if (x->kind == JOB_EVIDENCE) {
      if (evidence_get(txn, n->s, x->key, &ev, &evl)) continue;
      char hex[17];
      sig_hex(hex, x->key, 8);
      log_warn("evidence of equivocation %s stored; the feed is frozen at its fork point", hex);
    }
    for (struct conn *c = n->conns; c; c = c->next) {
      if (c->state != CONN_OPEN) continue;
      if (x->kind == JOB_ANNOUNCE) repl_send_checkpoint(c, txn, x->key, x->n);
      else repl_send_evidence(c, ev, evl);
    }
  }
  store_txn_abort(txn);
}

static void start_next(struct node *n);

/* Structural rejections that only a broken or hostile peer sends. */
static int hostile(int result)
{
  return result < 0 && result != KK_ERR(SEQ_GAP) && result != KK_ERR(PREV) && result != KK_ERR(FORK) &&
         kk_err_is_input(result);
}

static void after_work(uv_work_t *w, int status);

/* Clears what a job's run produced, so it can run again. */
static void job_reset(struct ingest_job *j)
{
  mem_free(j->results);
  mem_free(j->stored);
  j->results = NULL;
  j->stored = NULL;
  j->rc = 0;
  j->n_stored = j->n_stored_feeds = j->n_ckpt_synced = j->n_notes = 0;
}

/* The map is full (shared stores do not grow themselves): grow it here, on the loop
 * thread, once no thread holds a transaction — ingest is parked and a background pass
 * is waited for — then run the parked jobs again. Nothing of them was written. */
void repl_grow_resume(struct node *n)
{
  if (!n->grow_jobs || n->bg_in_thread || !node_readers_hold(n)) return; /* resumed when they leave */
  struct ingest_job *jobs = n->grow_jobs;
  n->grow_jobs = NULL;
  size_t before = store_map_size(n->s);
  int adopt = n->grow_adopts;
  n->grow_adopts = 0;
  int rc = adopt ? store_adopt_map_size(n->s) : store_grow(n->s);
  node_readers_release(n);
  if (rc) {
    log_error("the data file's map cannot grow beyond %zu MiB: %s", before >> 20, kk_strerror(rc));
    for (struct ingest_job *j = jobs; j; j = j->next) j->rc = rc;
  } else if (adopt) {
    log_info("map grown by another process (a command writing beside the node): %zu MiB adopted",
             store_map_size(n->s) >> 20);
  } else {
    n->map_grown++;
    log_info("map full at %zu MiB: grown to %zu MiB", before >> 20, store_map_size(n->s) >> 20);
  }
  n->running = jobs;
  n->work.data = n;
  if (rc || uv_queue_work(n->loop, &n->work, work_cb, after_work) != 0) {
    if (!rc) work_cb(&n->work);
    after_work(&n->work, 0);
  }
}

static void after_work(uv_work_t *w, int status)
{
  struct node *n = w->data;
  struct ingest_job *jobs = n->running;
  (void)status;
  n->running = NULL;
  for (struct ingest_job *j = jobs; j; j = j->next) {
    if (j->rc != STORE_MAP_FULL && j->rc != STORE_MAP_RESIZED) continue;
    n->grow_adopts = j->rc == STORE_MAP_RESIZED;
    for (struct ingest_job *k = jobs; k; k = k->next) job_reset(k);
    n->grow_jobs = jobs;
    repl_grow_resume(n);
    return;
  }
  /* Feeds that gained records: announce them to every peer. */
  uint8_t (*changed)[32] = NULL;
  size_t nch = 0, capch = 0;
  for (struct ingest_job *j = jobs; j; j = j->next) {
    n->queued_records -= j->local || j->kind != JOB_RECORDS ? 0 : j->n;
    n->committed += j->n_stored;
    n->ckpt_synced += j->n_ckpt_synced;
    /* Out of memory, a feed left out here is still announced: its arrivals are. */
    for (size_t i = 0; i < j->n_stored_feeds; i++)
      if (repl_feed_set_add(&changed, &nch, &capch, j->stored[i])) break;
    if (j->local || j->kind != JOB_RECORDS) continue;
    struct conn *c = net_find(n, j->conn_id);
    if (j->rc) log_error("ingest failed: %s", kk_strerror(j->rc));
    for (size_t i = 0; c && j->results && i < j->n; i++) {
      if (hostile(j->results[i])) {
        char why[200];
        snprintf(why, sizeof why, "sent an invalid record (%s); nothing of it was stored", kk_strerror(j->results[i]));
        net_close(c, why);
        c = NULL;
      } else if (j->results[i] == KK_ERR(FORK)) {
        log_warn("peer %s (%s): sent a second record for a feed position already held (equivocation)", c->addr, c->name);
      }
    }
    if (j->has_fetch) {
      struct fetch *f = repl_fetch_find(n, j->fetch_author);
      if (f && f->conn_id == j->conn_id) {
        if (f->queued) f->queued--;
        /* A gap (a shorter answer than asked, a lost range): ask again from what is
         * committed, once everything in flight has landed. */
        for (size_t i = 0; j->results && i < j->n; i++)
          if (j->results[i] == KK_ERR(SEQ_GAP)) f->next = 0;
        if (!f->inflight && !f->queued) repl_fetch_drop(n, f);
      }
    }
  }
  if (nch) log_debug("committed records of %zu feed(s); %llu records since start", nch, (unsigned long long)n->committed);
  repl_announce_arrivals(n, (const uint8_t(*)[32])changed, nch);
  mem_free(changed);
  for (struct ingest_job *j = jobs, *next; j; j = next) {
    next = j->next;
    if (j->kind == JOB_CHECKPOINT && j->rc) log_error("checkpoints from peers: %s", kk_strerror(j->rc));
    else if (j->kind == JOB_EVIDENCE_IN && j->rc)
      log_warn("evidence from a peer not kept: %s", kk_strerror(j->rc));
    if (j->kind == JOB_VERIFIED) {
      n->bg_running = 0;
      if (j->rc) log_error("recording background signature checks: %s", kk_strerror(j->rc));
      size_t unchecked = 0;
      for (size_t i = 0; i < j->n_bg; i++) unchecked += j->bg[i].unchecked;
      if (unchecked) {
        log_error("background signature checks: %zu record(s) could not be read or checked (storage or memory); "
                  "they stay listed and are tried again", unchecked);
        n->bg_wait_tick = unchecked == j->n_bg; /* no progress: do not spin, wait for the tick */
      }
    }
    send_notes(n, j);
    if (j->local) ctl_job_done(n, j);
    repl_job_free(j);
  }
  repl_bg_kick(n);
  repl_want_all(n);
  repl_gate_release(n);  /* our own feed may have caught up with what a peer holds */
  start_next(n);
}

void repl_drop_queue(struct node *n)
{
  while (n->gated_head) { /* own appends still waiting for the head: refused */
    struct ingest_job *j = n->gated_head;
    n->gated_head = j->next;
    j->rc = KK_ERR(UNCONFIRMED);
    ctl_job_done(n, j);
    repl_job_free(j);
  }
  n->gated_tail = NULL;
  if (n->grow_jobs) {                  /* parked for a map growth that will not come */
    struct ingest_job *last = n->grow_jobs;
    while (last->next) last = last->next;
    last->next = n->jobs_head;
    if (!n->jobs_head) n->jobs_tail = last;
    n->jobs_head = n->grow_jobs;
    n->grow_jobs = NULL;
  }
  while (n->jobs_head) {
    struct ingest_job *j = n->jobs_head;
    n->jobs_head = j->next;
    if (j->local) { j->rc = KK_ERR(INTERNAL); ctl_job_done(n, j); }
    repl_job_free(j);
  }
  n->jobs_tail = NULL;
}

static void start_next(struct node *n)
{
  if (n->running || n->grow_jobs || !n->jobs_head || n->stopping) return;
  struct ingest_job *first = n->jobs_head, *last = first;
  size_t total = first->n;
  if (!first->local && first->kind == JOB_RECORDS) {
    /* Batch consecutive peer jobs into one transaction. */
    while (last->next && !last->next->local && last->next->kind == JOB_RECORDS &&
           total + last->next->n <= NODE_INGEST_MAX) {
      last = last->next;
      total += last->n;
    }
  }
  n->jobs_head = last->next;
  if (!n->jobs_head) n->jobs_tail = NULL;
  last->next = NULL;
  n->running = first;
  n->work.data = n;
  if (uv_queue_work(n->loop, &n->work, work_cb, after_work) != 0) {
    work_cb(&n->work); /* cannot happen with a live loop; stay correct anyway */
    after_work(&n->work, 0);
  }
}

void repl_enqueue(struct node *n, struct ingest_job *job)
{
  if (!job->local && job->kind == JOB_RECORDS) n->queued_records += job->n;
  if (n->jobs_tail) n->jobs_tail->next = job;
  else n->jobs_head = job;
  n->jobs_tail = job;
  start_next(n);
}
