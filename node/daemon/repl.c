/*
 * repl — the sync protocol and the ingest queue.
 *
 *   HAVE    what the sender holds: (feed, last seq) for every feed, then live updates
 *           for the feeds that changed after each commit
 *   WANT    (feed, from seq, max): asks for a range; at most one request per feed is in
 *           flight across all peers, and at most NODE_CONN_WANTS per peer
 *   RECORDS the range asked for (echoing the feed), at most NODE_RECORDS_BYTES
 *   PING    keepalive
 *
 * Every node serves every feed it holds, so records travel through nodes that have no
 * direct link to their author. Records go to the ingest thread in batches; when a batch
 * is committed the node announces what changed to every peer and asks for more.
 * A peer that sends a record failing the structural checks (bad signature, wrong
 * network, not canonical, …) is disconnected; nothing invalid is stored.
 */
#include "node.h"
#include "../base/mem.h"
#include "../ledger/ckpt.h"
#include "../ledger/tree.h"
#include "../ledger/evidence.h"
#include "../base/err.h"
#include "../ledger/ingest.h"
#include "../base/log.h"
#include "../ledger/rules.h"
#include "../base/buf.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define REPL_MAX_DEFERRED 1024

/* ---- peers' feeds ------------------------------------------------------------------ */

static struct peer_feed *conn_feed(struct conn *c, const uint8_t a[32], int create)
{
  size_t lo = 0, hi = c->n_feeds;
  while (lo < hi) {
    size_t mid = (lo + hi) / 2;
    int cmp = memcmp(c->feeds[mid].author, a, 32);
    if (cmp == 0) return &c->feeds[mid];
    if (cmp < 0) lo = mid + 1; else hi = mid;
  }
  if (!create) return NULL;
  if (c->n_feeds == c->cap_feeds) {
    size_t cap = c->cap_feeds ? c->cap_feeds * 2 : 16;
    struct peer_feed *f = mem_realloc(c->feeds, cap * sizeof *f);
    if (!f) return NULL;
    c->feeds = f;
    c->cap_feeds = cap;
  }
  memmove(&c->feeds[lo + 1], &c->feeds[lo], (c->n_feeds - lo) * sizeof *c->feeds);
  memcpy(c->feeds[lo].author, a, 32);
  c->feeds[lo].seq = 0;
  c->n_feeds++;
  return &c->feeds[lo];
}

/* ---- fetches: each feed from one peer at a time, a window of ranges ahead ---------- */

static struct fetch *fetch_find(struct node *n, const uint8_t a[32])
{
  for (size_t i = 0; i < n->n_fetches; i++)
    if (memcmp(n->fetches[i].author, a, 32) == 0) return &n->fetches[i];
  return NULL;
}

static void fetch_drop(struct node *n, struct fetch *f)
{
  *f = n->fetches[--n->n_fetches];
}

static struct fetch *fetch_add(struct node *n, const uint8_t a[32], uint64_t conn_id, uint64_t next)
{
  if (n->n_fetches == n->cap_fetches) {
    size_t cap = n->cap_fetches ? n->cap_fetches * 2 : 16;
    struct fetch *f = mem_realloc(n->fetches, cap * sizeof *f);
    if (!f) return NULL;
    n->fetches = f;
    n->cap_fetches = cap;
  }
  struct fetch *f = &n->fetches[n->n_fetches++];
  memset(f, 0, sizeof *f);
  memcpy(f->author, a, 32);
  f->conn_id = conn_id;
  f->next = next;
  return f;
}

static uint64_t unix_now(void)
{
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  return (uint64_t)tv.tv_sec;
}

static uint64_t our_seq(struct node *n, MDB_txn *txn, const uint8_t a[32])
{
  struct store_head h;
  return store_head_get(txn, n->s, a, &h) == 0 ? h.seq : 0;
}

/* Keeps up to NODE_FETCH_WINDOW ranges of feed a requested from one peer that has
 * more of it than we do; all from the same peer, so they arrive, queue and commit in
 * order. */
static void want_feed(struct node *n, MDB_txn *txn, const uint8_t a[32])
{
  uint64_t frozen;
  if (store_frozen_at(txn, n->s, a, &frozen) || frozen) return; /* held where it forked */
  struct fetch *f = fetch_find(n, a);
  struct conn *c = NULL;
  uint64_t theirs = 0;
  if (f) {
    c = net_find(n, f->conn_id);
    struct peer_feed *pf = c ? conn_feed(c, a, 0) : NULL;
    theirs = pf ? pf->seq : 0;
  } else {
    uint64_t have = our_seq(n, txn, a);
    theirs = have;
    for (struct conn *x = n->conns; x; x = x->next) {
      if (x->state != CONN_OPEN || x->wants_inflight >= NODE_CONN_WANTS) continue;
      struct peer_feed *pf = conn_feed(x, a, 0);
      if (pf && pf->seq > theirs) { c = x; theirs = pf->seq; }
    }
    if (!c || !(f = fetch_add(n, a, c->id, have + 1))) return;
  }
  while (c && f->next != 0 && f->inflight < NODE_FETCH_WINDOW && f->next <= theirs && c->wants_inflight < NODE_CONN_WANTS) {
    struct kk_wire w;
    memset(&w, 0, sizeof w);
    w.kind = KK_W_WANT;
    memcpy(w.want.author, a, 32);
    w.want.from_seq = f->next;
    w.want.max = NODE_WANT_MAX;
    if (net_send(c, &w)) break;
    f->next += NODE_WANT_MAX;
    f->inflight++;
    c->wants_inflight++;
  }
  if (f->inflight == 0 && f->queued == 0) fetch_drop(n, f); /* nothing to ask this peer */
}

/* Re-examines every feed any peer has advertised. */
static void want_all(struct node *n)
{
  MDB_txn *txn;
  if (n->stopping || store_read(n->s, &txn)) return;
  for (struct conn *c = n->conns; c; c = c->next) {
    if (c->state != CONN_OPEN) continue;
    for (size_t i = 0; i < c->n_feeds; i++)
      if (c->feeds[i].seq > our_seq(n, txn, c->feeds[i].author)) want_feed(n, txn, c->feeds[i].author);
  }
  mdb_txn_abort(txn);
}

/* ---- HAVE ---------------------------------------------------------------------------- */

/* Sends (feed, seq) for the given feeds, or for every feed when feeds is NULL. */
static void send_have(struct conn *c, const uint8_t (*feeds)[32], size_t nf)
{
  struct node *n = c->n;
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  struct kk_feedhead *heads = NULL;
  size_t cnt = 0, cap = 0;
  if (feeds) {
    heads = mem_calloc(nf ? nf : 1, sizeof *heads);
    for (size_t i = 0; heads && i < nf; i++) {
      struct store_head h;
      memset(&heads[cnt], 0, sizeof heads[cnt]);
      memcpy(heads[cnt].author, feeds[i], 32);
      if (store_head_get(txn, n->s, feeds[i], &h) == 0) {
        heads[cnt].seq = h.seq;
        heads[cnt].has_last = 1;
        memcpy(heads[cnt].last, h.last_id, 32);
      }
      cnt++;
    }
  } else {
    MDB_cursor *cur;
    MDB_val k, v;
    if (mdb_cursor_open(txn, n->s->heads, &cur) == 0) {
      for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
        if (k.mv_size != 32 || v.mv_size < 8) continue;
        if (cnt == cap) {
          cap = cap ? cap * 2 : 64;
          struct kk_feedhead *h = mem_realloc(heads, cap * sizeof *h);
          if (!h) break;
          heads = h;
        }
        memset(&heads[cnt], 0, sizeof heads[cnt]);
        memcpy(heads[cnt].author, k.mv_data, 32);
        heads[cnt].seq = be64_get(v.mv_data);
        if (v.mv_size >= 40) {
          heads[cnt].has_last = 1;
          memcpy(heads[cnt].last, (const uint8_t *)v.mv_data + 8, 32);
        }
        cnt++;
      }
      mdb_cursor_close(cur);
    }
  }
  mdb_txn_abort(txn);
  for (size_t at = 0; heads && at < cnt; at += 4096) {
    struct kk_wire w;
    memset(&w, 0, sizeof w);
    w.kind = KK_W_HAVE;
    w.have.feeds = heads + at;
    w.have.n = cnt - at < 4096 ? cnt - at : 4096;
    if (net_send(c, &w)) break;
  }
  mem_free(heads);
}

/* Sends the stored checkpoint of author at size (0: newest), cosignatures included. */
static void send_checkpoint(struct conn *c, MDB_txn *txn, const uint8_t author[32], uint64_t size)
{
  char *note;
  size_t len;
  if (ckpt_get(txn, c->n->s, author, size, &note, &len, NULL)) return;
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_CHECKPOINT;
  w.checkpoint.note = (const uint8_t *)note;
  w.checkpoint.len = len;
  net_send(c, &w);
  mem_free(note);
}

static void send_evidence(struct conn *c, const uint8_t *ev, size_t len)
{
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_EVIDENCE;
  w.evidence.data = ev;
  w.evidence.len = len;
  net_send(c, &w);
}

/* A new peer gets our heads, every feed's newest checkpoint and all evidence we hold. */
void repl_on_open(struct conn *c)
{
  struct node *n = c->n;
  send_have(c, NULL, 0);
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  MDB_cursor *cur;
  MDB_val k, v;
  if (mdb_cursor_open(txn, n->s->heads, &cur) == 0) {
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      if (k.mv_size == 32) send_checkpoint(c, txn, k.mv_data, 0);
    mdb_cursor_close(cur);
  }
  if (mdb_cursor_open(txn, n->s->evidence, &cur) == 0) {
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
      send_evidence(c, v.mv_data, v.mv_size);
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
}

/* Asks one peer for the single record (a, seq): to put a suspected fork on record. */
static void send_probe(struct conn *c, const uint8_t a[32], uint64_t seq)
{
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_WANT;
  memcpy(w.want.author, a, 32);
  w.want.from_seq = seq;
  w.want.max = 1;
  if (net_send(c, &w) == 0) c->wants_inflight++;
}

/* A peer's head we already hold a record for must be that record; if its id is one we
 * do not know, the author signed two records there: fetch theirs (ingest turns the pair
 * into evidence). */
static void check_heads(struct conn *c, const struct kk_wire *w)
{
  struct node *n = c->n;
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  for (size_t i = 0; i < w->have.n; i++) {
    const struct kk_feedhead *fh = &w->have.feeds[i];
    if (!fh->has_last || fh->seq == 0 || fh->seq > our_seq(n, txn, fh->author)) continue;
    uint8_t a[32];
    uint64_t q;
    const uint8_t *env;
    size_t len;
    if (store_record_by_id(txn, n->s, fh->last, a, &q, &env, &len) == 0 && memcmp(a, fh->author, 32) == 0 &&
        q == fh->seq)
      continue;
    struct peer_feed *pf = conn_feed(c, fh->author, 1);
    if (!pf || pf->probed == fh->seq) continue;
    pf->probed = fh->seq;
    log_warn("peer %s (%s): holds another record at a position of a feed we hold: fetching it as evidence",
             c->addr, c->name);
    send_probe(c, fh->author, fh->seq);
  }
  mdb_txn_abort(txn);
}

/* ---- WANT and RECORDS ------------------------------------------------------------------ */

/* Records read for one answer: up to its count, and about NODE_RECORDS_BYTES. */
struct serve_read { const uint8_t **recs; size_t *lens; size_t cnt, bytes; };

static int serve_one(void *arg, uint64_t seq, const uint8_t *env, size_t len)
{
  struct serve_read *r = arg;
  (void)seq;
  if (r->bytes >= NODE_RECORDS_BYTES) return 1;
  r->recs[r->cnt] = env;
  r->lens[r->cnt++] = len;
  r->bytes += len;
  return 0;
}

static void serve_want(struct conn *c, const uint8_t a[32], uint64_t from, uint32_t max)
{
  struct node *n = c->n;
  MDB_txn *txn;
  if (max == 0 || max > NODE_WANT_MAX) max = NODE_WANT_MAX;
  if (from == 0) from = 1;
  if (store_read(n->s, &txn)) return;
  struct serve_read r = { mem_calloc(max, sizeof *r.recs), mem_calloc(max, sizeof *r.lens), 0, 0 };
  const uint8_t **recs = r.recs;
  size_t *lens = r.lens, ok = 0;
  if (recs && lens && store_feed_each(txn, n->s, a, from, max, serve_one, &r) >= 0 &&
      tree_check_run(txn, n->s, a, from - 1, recs, lens, r.cnt, &ok) == 0 && ok < r.cnt) {
    /* Bytes read back from disk are served only if they are the leaves the tree holds:
     * a damaged file must not pass damage on (peers would refuse it, and blame us). */
    char hex[65];
    sig_hex(hex, a, 32);
    log_error("stored record %.16s…/%llu does not match its Merkle leaf: not served (the data file is "
              "damaged; see docs/operations.md)", hex, (unsigned long long)(from + ok));
  }
  size_t cnt = ok; /* what was read and checked, in order (records valid while txn is open) */
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_RECORDS;
  memcpy(w.records.author, a, 32);
  w.records.n = cnt;
  w.records.recs = recs;
  w.records.lens = lens;
  /* Checkpoint sync: prove these records are a prefix of the feed's newest checkpoint
   * (the one this peer was sent), if witnesses cosigned it. */
  uint8_t proof[TREE_MAX_PROOF][32], root[32];
  size_t np = 0, cosigs = 0;
  char *note;
  size_t nlen;
  uint64_t size, end = from + cnt - 1;
  if (cnt && ckpt_get(txn, n->s, a, 0, &note, &nlen, &size) == 0) {
    mem_free(note);
    if (size >= end && ckpt_stored(txn, n->s, a, size, root, &cosigs) == 0 && cosigs >= INGEST_CKPT_MIN_COSIGS &&
        (end == size || tree_consistency(txn, n->s, a, end, size, proof, &np) == 0)) {
      w.records.checkpoint = size;
      w.records.n_proof = np;
      w.records.proof = proof;
    }
  }
  if (recs && lens && net_send(c, &w) == 0) c->records_out += cnt;
  mdb_txn_abort(txn);
  mem_free(recs);
  mem_free(lens);
}

void repl_on_drain(struct conn *c)
{
  while (c->deferred && c->state == CONN_OPEN && net_queued(c) < NODE_WRITE_HIGH) {
    struct deferred_want *d = c->deferred;
    c->deferred = d->next;
    serve_want(c, d->author, d->from, d->max);
    mem_free(d);
  }
  if (c->want_full_have && c->state == CONN_OPEN && net_queued(c) < NODE_WRITE_HIGH) {
    c->want_full_have = 0;
    send_have(c, NULL, 0);
  }
}

static int on_want(struct conn *c, const struct kk_wire *w)
{
  if (net_queued(c) < NODE_WRITE_HIGH && !c->deferred) {
    serve_want(c, w->want.author, w->want.from_seq, w->want.max);
    return 0;
  }
  /* The peer is not reading fast enough: keep the request, bounded. */
  size_t k = 0;
  struct deferred_want **tail = &c->deferred;
  while (*tail) { tail = &(*tail)->next; k++; }
  if (k >= REPL_MAX_DEFERRED) { net_close(c, "too many requests while not reading"); return KK_ERR(INTERNAL); }
  struct deferred_want *d = mem_calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  memcpy(d->author, w->want.author, 32);
  d->from = w->want.from_seq;
  d->max = w->want.max;
  *tail = d;
  return 0;
}

static void notes_flush(struct node *n);

static void job_free(struct ingest_job *j);

static int on_records(struct conn *c, const struct kk_wire *w)
{
  struct node *n = c->n;
  if (c->wants_inflight) c->wants_inflight--;
  struct fetch *f = fetch_find(n, w->records.author);
  if (f && f->conn_id != c->id) f = NULL;
  if (f && f->inflight) f->inflight--;
  if (w->records.n == 0) {
    /* It has nothing more of that feed after all. */
    if (f) { f->next = 0; if (!f->inflight && !f->queued) fetch_drop(n, f); }
    struct peer_feed *pf = conn_feed(c, w->records.author, 0);
    MDB_txn *txn;
    if (pf && store_read(n->s, &txn) == 0) {
      pf->seq = our_seq(n, txn, w->records.author);
      mdb_txn_abort(txn);
    }
    want_all(n);
    return 0;
  }
  /* Everything the job holds is allocated before it is queued: a job with missing
   * envelopes would crash the ingest thread or send an honest peer's records as empty
   * ones. Out of memory, the records are dropped and the connection closed — not judged:
   * the peer redials and the sync resumes from what is stored. */
  struct ingest_job *job = mem_calloc(1, sizeof *job);
  int ok = job != NULL;
  if (ok) {
    job->conn_id = c->id;
    job->n = w->records.n;
    memcpy(job->fetch_author, w->records.author, 32);
    job->has_fetch = f != NULL;
    ok = (job->envs = mem_calloc(job->n, sizeof *job->envs)) && (job->lens = mem_calloc(job->n, sizeof *job->lens));
  }
  for (size_t i = 0; ok && i < job->n; i++) {
    if (!(job->envs[i] = mem_alloc(w->records.lens[i]))) ok = 0;
    else {
      memcpy(job->envs[i], w->records.recs[i], w->records.lens[i]);
      job->lens[i] = w->records.lens[i];
    }
  }
  if (ok && w->records.checkpoint) {
    ok = (job->ckpt = mem_calloc(1, sizeof *job->ckpt)) &&
         (job->ckpt_proof = mem_alloc((w->records.n_proof ? w->records.n_proof : 1) * 32));
    if (ok) {
      memcpy(job->ckpt->author, w->records.author, 32);
      job->ckpt->size = w->records.checkpoint;
      job->ckpt->n_proof = w->records.n_proof;
      memcpy(job->ckpt_proof, w->records.proof, w->records.n_proof * 32);
      job->ckpt->proof = (const uint8_t(*)[32])job->ckpt_proof;
    }
  }
  if (!ok) {
    if (job) job_free(job);
    net_close(c, "out of memory while taking its records (it will reconnect)");
    return -ENOMEM;
  }
  if (f) f->queued++;
  c->records_in += job->n;
  /* The checkpoint these records are offered against came before them on this
   * connection: make sure it is taken first. */
  if (job->ckpt) notes_flush(n);
  repl_enqueue(n, job);
  return 0;
}

static void notes_flush(struct node *n)
{
  struct ingest_job *j = n->notes_job;
  if (!j) return;
  n->notes_job = NULL;
  uv_timer_stop(&n->notes_timer);
  repl_enqueue(n, j);
}

static void on_notes_timer(uv_timer_t *t)
{
  notes_flush(t->data);
}

/* Checkpoints come in bursts (every witness passes on every new cosignature): those
 * heard within NODE_NOTES_MS are taken in one transaction. */
static int on_checkpoint(struct conn *c, const struct kk_wire *w)
{
  struct node *n = c->n;
  struct ingest_job *j = n->notes_job;
  if (!j) {
    if (!(j = mem_calloc(1, sizeof *j))) return -ENOMEM;
    j->kind = JOB_CHECKPOINT;
    j->envs = mem_calloc(NODE_NOTES_MAX, sizeof *j->envs);
    j->lens = mem_calloc(NODE_NOTES_MAX, sizeof *j->lens);
    j->conns = mem_calloc(NODE_NOTES_MAX, sizeof *j->conns);
    if (!j->envs || !j->lens || !j->conns) { job_free(j); return -ENOMEM; }
    n->notes_job = j;
    uv_timer_start(&n->notes_timer, on_notes_timer, NODE_NOTES_MS, 0);
  }
  uint8_t *copy = mem_alloc(w->checkpoint.len ? w->checkpoint.len : 1);
  if (!copy) return -ENOMEM;
  memcpy(copy, w->checkpoint.note, w->checkpoint.len);
  j->envs[j->n] = copy;
  j->lens[j->n] = w->checkpoint.len;
  j->conns[j->n] = c->id;
  if (++j->n == NODE_NOTES_MAX) notes_flush(n);
  return 0;
}

void repl_notes_init(struct node *n)
{
  uv_timer_init(n->loop, &n->notes_timer);
  n->notes_timer.data = n;
}

void repl_notes_close(struct node *n)
{
  if (n->notes_job) { job_free(n->notes_job); n->notes_job = NULL; }
  if (!uv_is_closing((uv_handle_t *)&n->notes_timer)) uv_close((uv_handle_t *)&n->notes_timer, NULL);
}

/* ---- the own-head gate ------------------------------------------------------------------ */

/* Whether our own appends may go ahead: a network of one, or a peer has said what it
 * holds of our feed and we hold at least that (what it holds beyond, the sync fetches
 * first). */
static int own_head_ready(struct node *n)
{
  MDB_txn *txn;
  if (n->standalone) return 1;
  if (store_read(n->s, &txn)) return 0;
  uint64_t ours = our_seq(n, txn, n->pk);
  /* The only member this store knows of (a registry bootstrapping its network): nobody
   * else can hold records of its feed. */
  MDB_stat st;
  int alone = mdb_stat(txn, n->s->members, &st) == 0 && st.ms_entries <= 1;
  mdb_txn_abort(txn);
  if (alone) return 1;
  return n->own_head_known && ours >= n->own_head_claimed;
}

/* Queues the held appends when the gate opens; answers those that waited too long. */
static void gate_release(struct node *n)
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
    job_free(j);
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

int repl_on_message(struct conn *c, const struct kk_wire *w)
{
  switch (w->kind) {
  case KK_W_HAVE: {
    for (size_t i = 0; i < w->have.n; i++) {
      struct peer_feed *f = conn_feed(c, w->have.feeds[i].author, 1);
      if (f && w->have.feeds[i].seq > f->seq) f->seq = w->have.feeds[i].seq;
      if (memcmp(w->have.feeds[i].author, c->n->pk, 32) == 0 && w->have.feeds[i].seq > c->n->own_head_claimed)
        c->n->own_head_claimed = w->have.feeds[i].seq;
    }
    if (!c->n->own_head_known) { /* recorded for the CLI writing with no node later */
      struct ingest_job *mark = mem_calloc(1, sizeof *mark);
      if (mark) {
        mark->kind = JOB_MARK_CONFIRMED;
        repl_enqueue(c->n, mark);
      }
    }
    c->n->own_head_known = 1; /* a feed it does not list, it holds none of */
    check_heads(c, w);
    want_all(c->n);
    gate_release(c->n);
    return 0;
  }
  case KK_W_WANT: return on_want(c, w);
  case KK_W_RECORDS: return on_records(c, w);
  case KK_W_CHECKPOINT: return on_checkpoint(c, w);
  case KK_W_EVIDENCE: {
    struct ingest_job *job = mem_calloc(1, sizeof *job);
    if (!job || !(job->blob = mem_alloc(w->evidence.len ? w->evidence.len : 1))) { mem_free(job); return -ENOMEM; }
    job->kind = JOB_EVIDENCE_IN;
    job->conn_id = c->id;
    memcpy(job->blob, w->evidence.data, w->evidence.len);
    job->blob_len = w->evidence.len;
    repl_enqueue(c->n, job);
    return 0;
  }
  case KK_W_PING:
    if (!w->ping.reply) {
      struct kk_wire r;
      memset(&r, 0, sizeof r);
      r.kind = KK_W_PING;
      r.ping.nonce = w->ping.nonce;
      r.ping.reply = 1;
      net_send(c, &r);
    }
    return 0;
  default:
    net_close(c, "unexpected message after the handshake");
    return KK_ERR(DECODE);
  }
}

void repl_on_close(struct conn *c)
{
  struct node *n = c->n;
  for (size_t i = 0; i < n->n_fetches;)
    if (n->fetches[i].conn_id == c->id) fetch_drop(n, &n->fetches[i]);
    else i++;
  c->wants_inflight = 0;
  c->n_feeds = 0;
  want_all(n);
}



/* Adds feed a to the set (feeds, *nf, *cap) unless it is there; 0, or -ENOMEM. */
static int feed_set_add(uint8_t (**feeds)[32], size_t *nf, size_t *cap, const uint8_t a[32])
{
  for (size_t q = 0; q < *nf; q++)
    if (memcmp((*feeds)[q], a, 32) == 0) return 0;
  if (*nf == *cap) {
    size_t nc = *cap ? *cap * 2 : 16;
    void *p = mem_realloc(*feeds, nc * 32);
    if (!p) return -ENOMEM;
    *feeds = p;
    *cap = nc;
  }
  memcpy((*feeds)[(*nf)++], a, 32);
  return 0;
}

struct arrived { uint8_t (**feeds)[32]; size_t *nf, *cap; };

static int arrived_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct arrived *a = arg;
  uint8_t author[32];
  uint64_t seq;
  int kind;
  (void)arrival;
  if (codec_record_position(env, len, author, &seq, &kind)) return KK_ERR(CORRUPT);
  return feed_set_add(a->feeds, a->nf, a->cap, author);
}

/* Tells every peer the heads of the feeds that gained records since the last
 * announcement: `changed`, the feeds this node's own jobs have just written, and every
 * feed named by an arrival since then that is not among them — records another process
 * wrote beside the node (import-records, the CLI while no node ran), whose writer may
 * also have signed or cosigned checkpoints, sent along.
 *
 * Every arrival since the last one announced is looked at, never skipped. Taking the
 * store's newest arrival as announced after a job of our own (what this code once did)
 * lost an import that landed between a tick and the end of an unrelated job — a
 * checkpoint from a peer, say — so the imported record was never announced, and two
 * nodes each holding one branch of a fork never learnt of each other's (issue 10). */
static void announce_arrivals(struct node *n, const uint8_t (*changed)[32], size_t nch)
{
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  uint64_t last = 0;
  uint8_t (*feeds)[32] = NULL;
  size_t nf = 0, cap = 0, n_ours;
  /* A failed read of the newest arrival is not "none": what was announced stays, and
   * every head goes out again (below). */
  int rc = store_log_last(txn, n->s, &last);
  for (size_t i = 0; i < nch && rc == 0; i++) rc = feed_set_add(&feeds, &nf, &cap, changed[i]);
  n_ours = nf;
  if (last > n->last_arrival && rc == 0) {
    struct arrived a = { &feeds, &nf, &cap };
    rc = store_log_each(txn, n->s, n->last_arrival, arrived_fn, &a);
  }
  /* Out of memory: announce what fits now, and everything to every peer at its next
   * chance (want_full_have), so nothing stays unannounced. */
  int full = rc != 0;
  if (!full) n->last_arrival = last;
  else log_warn("announcing new records: %s; every head will be announced again", kk_strerror(rc));
  for (struct conn *c = n->conns; c; c = c->next) {
    if (c->state != CONN_OPEN) continue;
    if (full || net_queued(c) > NODE_WRITE_HIGH) { c->want_full_have = 1; continue; }
    if (nf) send_have(c, (const uint8_t(*)[32])feeds, nf);
    for (size_t i = n_ours; i < nf; i++) send_checkpoint(c, txn, feeds[i], 0);
    if (nf > n_ours) send_checkpoint(c, txn, n->pk, 0);
  }
  mdb_txn_abort(txn);
  mem_free(feeds);
}

/* Number of evidence objects held (0 on a read error: looked at again next tick). */
static uint64_t evidence_count(struct node *n, MDB_txn *txn)
{
  MDB_stat st;
  return mdb_stat(txn, n->s->evidence, &st) == 0 ? st.ms_entries : 0;
}

/* Evidence stored by another process (an import that met a fork) is sent to every
 * peer. Evidence is only ever added, so a count that grew means something new; all of
 * it is sent, since which is new is not known here (it is rare, and peers keep what
 * they hold already). Evidence this node's own jobs stored was sent by them and is
 * sent again once: harmless. */
static void announce_evidence(struct node *n)
{
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  uint64_t held = evidence_count(n, txn);
  if (held > n->evidence_seen) {
    MDB_cursor *cur;
    MDB_val k, v;
    for (struct conn *c = n->conns; c; c = c->next) {
      if (c->state != CONN_OPEN || mdb_cursor_open(txn, n->s->evidence, &cur)) continue;
      for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
        send_evidence(c, v.mv_data, v.mv_size);
      mdb_cursor_close(cur);
    }
  }
  n->evidence_seen = held;
  mdb_txn_abort(txn);
}

static void bg_kick(struct node *n);

/* A map another process grew (MDB_MAP_RESIZED) is adopted here when no thread holds a
 * transaction; until then the loop thread's reads fail and wait for the next tick. */
static void adopt_resized_map(struct node *n)
{
  MDB_txn *txn;
  if (n->running || n->grow_jobs || n->bg_in_thread) return;
  int rc = store_read(n->s, &txn);
  if (rc == 0) { mdb_txn_abort(txn); return; }
  if (rc != MDB_MAP_RESIZED) return;
  if ((rc = store_adopt_map_size(n->s))) log_error("adopting the map another process grew: %s", kk_strerror(rc));
  else
    log_info("map grown by another process (a command writing beside the node): %zu MiB adopted",
             store_map_size(n->s) >> 20);
}

void repl_tick(struct node *n)
{
  adopt_resized_map(n);
  gate_release(n);
  announce_arrivals(n, NULL, 0);
  announce_evidence(n);
  n->bg_wait_tick = 0;
  want_all(n);
  bg_kick(n);
}

/* Every feed's author, for the start-up sweep. */
static int start_fn(MDB_txn *txn, void *arg)
{
  struct node *n = arg;
  uint8_t (*feeds)[32] = NULL;
  size_t nf = 0, cap = 0;
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = mdb_cursor_open(txn, n->s->heads, &cur);
  if (rc) return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size != 32) continue;
    if (nf == cap) {
      cap = cap ? cap * 2 : 16;
      void *p = mem_realloc(feeds, cap * 32);
      if (!p) { rc = -ENOMEM; break; }
      feeds = p;
    }
    memcpy(feeds[nf++], k.mv_data, 32);
  }
  mdb_cursor_close(cur);
  if (rc == MDB_NOTFOUND) rc = ckpt_after_batch(txn, n->s, n->pk, n->sk, (const uint8_t(*)[32])feeds, nf, unix_now(), NULL, NULL);
  mem_free(feeds);
  /* This run has not heard a peer vouch for our head yet (a network of one needs none). */
  if (rc == 0) rc = store_meta_put(txn, n->s, STORE_META_CONFIRMED, n->standalone ? "\1" : "\0", 1);
  return rc;
}

static int mark_confirmed_fn(MDB_txn *txn, void *arg)
{
  struct node *n = arg;
  return store_meta_put(txn, n->s, STORE_META_CONFIRMED, "\1", 1);
}

void repl_start(struct node *n)
{
  MDB_txn *txn;
  /* Records written while the node was down (by the CLI, by an import) get their
   * checkpoint and witness cosignatures now. */
  int rc = store_write(n->s, start_fn, n);
  if (rc) log_error("signing and witnessing checkpoints at start: %s", kk_strerror(rc));
  if (store_read(n->s, &txn) == 0) {
    uint64_t last;
    if ((rc = store_log_last(txn, n->s, &last)) == 0) n->last_arrival = last;
    else log_error("reading the log's newest arrival at start: %s", kk_strerror(rc)); /* stays 0: all announced */
    n->evidence_seen = evidence_count(n, txn);
    mdb_txn_abort(txn);
  }
}

/* ---- the ingest queue ------------------------------------------------------------------- */

static void job_free(struct ingest_job *j)
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
static void job_note(struct ingest_job *j, int kind, const uint8_t key[32], uint64_t v, uint64_t conn_id)
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
  job_note(h->j, JOB_ANNOUNCE, author, size, 0);
}

static int records_hook(MDB_txn *txn, void *arg, const uint8_t (*feeds)[32], size_t nf)
{
  struct hook_ctx *h = arg;
  return ckpt_after_batch(txn, h->n->s, h->n->pk, h->n->sk, feeds, nf, unix_now(), hook_announce, h);
}

/* Signs and appends an own record (from the CLI) — on the ingest thread. */
static void work_local(struct node *n, struct ingest_job *j)
{
  struct kk_body *b = mem_alloc(sizeof *b);
  MDB_txn *txn;
  struct store_head h;
  if (!b) { j->rc = -ENOMEM; return; }
  if ((j->rc = codec_body_decode(j->body, j->body_len, b))) goto done;
  if (memcmp(b->author, n->pk, 32) != 0 || b->kind == KK_PL_GENESIS) { j->rc = KK_ERR(SIGNATURE); goto done; }
  if ((j->rc = store_read(n->s, &txn))) goto done;
  int rc = store_head_get(txn, n->s, n->pk, &h);
  mdb_txn_abort(txn);
  if (rc == MDB_NOTFOUND) memset(&h, 0, sizeof h);
  else if (rc) { j->rc = rc; goto done; }
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  b->version = CODEC_VERSION;
  b->has_network = 1;
  memcpy(b->network, n->network, 32);
  b->seq = h.seq + 1;
  b->has_prev = h.seq > 0;
  memcpy(b->prev, h.last_id, 32);
  b->time_ms = (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
  uint8_t *body, *env, sig[64];
  size_t blen, elen;
  if ((j->rc = codec_body_encode(b, &body, &blen))) goto done;
  sig_sign(sig, SIG_TAG_RECORD, body, blen, n->sk);
  j->rc = codec_envelope_join(body, blen, sig, &env, &elen);
  mem_free(body);
  if (j->rc) goto done;
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
done:
  mem_free(b);
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
      if (rc == 0 && items[k].evidence_new) job_note(j, JOB_EVIDENCE, items[k].evidence_id, 0, 0);
      /* A second record at a held position, or one that does not chain to ours: the
       * fork may start earlier; ask this peer for its record before it. */
      if (rc == 0 && (items[k].result == KK_ERR(FORK) || items[k].result == KK_ERR(PREV)) && items[k].seq > 1)
        job_note(j, JOB_PROBE, items[k].author, items[k].seq - 1, j->conn_id);
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

/* Nothing new in a checkpoint or evidence: abort rather than commit (no disk write). */
#define NOTHING_NEW (KK_ERR_BASE + 1) /* not an error: nothing to commit */

struct gossip_ctx { struct node *n; struct ingest_job *j; };

static int checkpoint_fn(MDB_txn *txn, void *arg)
{
  struct gossip_ctx *g = arg;
  struct node *n = g->n;
  struct ingest_job *j = g->j;
  int changed = 0;
  uint64_t now = unix_now();
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
    if (news) job_note(j, JOB_ANNOUNCE, seen.author, seen.size, 0);
    if (seen.conflict) job_note(j, JOB_PROBE, seen.author, seen.size, j->conns[i]);
    if (seen.evidence) job_note(j, JOB_EVIDENCE, seen.evidence_id, 0, 0);
    changed |= news || seen.evidence;
  }
  return changed ? 0 : NOTHING_NEW;
}

static int evidence_fn(MDB_txn *txn, void *arg)
{
  struct gossip_ctx *g = arg;
  struct ingest_job *j = g->j;
  struct evidence_info info;
  int is_new;
  j->n_notes = 0;
  int rc = evidence_store(txn, g->n->s, j->blob, j->blob_len, &info, &is_new);
  if (rc) return rc;
  if (!is_new) return NOTHING_NEW;
  job_note(j, JOB_EVIDENCE, info.id, 0, 0);
  return 0;
}

/* The background check's results: checked records leave `unverified`; a record whose
 * signature failed under its author's checkpoint becomes evidence (and freezes the
 * feed); feeds now fully checked are witnessed. */
static int verified_fn(MDB_txn *txn, void *arg)
{
  struct gossip_ctx *g = arg;
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
      if (is_new) job_note(j, JOB_EVIDENCE, info.id, 0, 0);
    }
    rc = store_del(txn, n->s->unverified, k, 40);
    if (rc == MDB_NOTFOUND) rc = 0;
  }
  for (size_t i = 0; i < j->n_bg && rc == 0; i++) {
    uint64_t size;
    if (i > 0 && memcmp(j->bg[i].author, j->bg[i - 1].author, 32) == 0) continue;
    rc = ckpt_witness(txn, n->s, n->network, n->pk, n->sk, j->bg[i].author, unix_now(), &size);
    if (rc == 0 && size) job_note(j, JOB_ANNOUNCE, j->bg[i].author, size, 0);
  }
  return rc;
}

/* Background pass (thread pool, beside ingest): the signatures of up to NODE_BG_BATCH
 * records taken on a checkpoint's word. Reads only. */
static void bg_work_cb(uv_work_t *w)
{
  struct node *n = w->data;
  MDB_txn *txn;
  n->bg_n = 0;
  if (!(n->bg_items = mem_calloc(NODE_BG_BATCH, sizeof *n->bg_items)) || store_read(n->s, &txn)) return;
  MDB_cursor *cur;
  MDB_val k, v;
  if (mdb_cursor_open(txn, n->s->unverified, &cur) == 0) {
    for (int rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0 && n->bg_n < NODE_BG_BATCH;
         rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
      if (k.mv_size != 40) continue;
      struct bg_item *b = &n->bg_items[n->bg_n++];
      memcpy(b->author, k.mv_data, 32);
      b->seq = be64_get((const uint8_t *)k.mv_data + 32);
      const uint8_t *env;
      size_t len;
      uint8_t key[32];
      struct kk_envelope_view ev;
      int r = store_record_get(txn, n->s, b->author, b->seq, &env, &len);
      if (!r) r = store_key_at(txn, n->s, b->author, b->seq - 1, key);
      if (!r && codec_envelope_split(env, len, &ev)) r = KK_ERR(CORRUPT); /* checked on arrival */
      if (!r) {
        r = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, key);
        b->bad = r == -1;
      }
      b->unchecked = r != 0 && !b->bad;
    }
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
}

static void grow_resume(struct node *n);

static void bg_after_cb(uv_work_t *w, int status)
{
  struct node *n = w->data;
  (void)status;
  n->bg_in_thread = 0;
  grow_resume(n);       /* ingest waited for this pass's read transaction to end */
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
static void bg_kick(struct node *n)
{
  MDB_txn *txn;
  if (n->bg_running || n->bg_wait_tick || n->stopping || n->running || n->grow_jobs || n->jobs_head ||
      store_read(n->s, &txn))
    return;
  MDB_cursor *cur;
  MDB_val k, v;
  int any = 0;
  if (mdb_cursor_open(txn, n->s->unverified, &cur) == 0) {
    any = mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0;
    mdb_cursor_close(cur);
  }
  mdb_txn_abort(txn);
  if (!any) return;
  n->bg_running = 1;
  n->bg_in_thread = 1;
  n->bg_work.data = n;
  if (uv_queue_work(n->loop, &n->bg_work, bg_work_cb, bg_after_cb) != 0) n->bg_running = n->bg_in_thread = 0;
}

static void work_cb(uv_work_t *w)
{
  struct node *n = w->data;
  struct ingest_job *j = n->running;
  struct gossip_ctx g = { n, j };
  switch (j->kind) {
  case JOB_CHECKPOINT:
    j->rc = store_write(n->s, checkpoint_fn, &g);
    if (j->rc == NOTHING_NEW) j->rc = 0;
    break;
  case JOB_EVIDENCE_IN:
    j->rc = store_write(n->s, evidence_fn, &g);
    if (j->rc == NOTHING_NEW) j->rc = 0;
    break;
  case JOB_VERIFIED:
    j->rc = store_write(n->s, verified_fn, &g);
    break;
  case JOB_MARK_CONFIRMED:
    j->rc = store_write(n->s, mark_confirmed_fn, n);
    break;
  default:
    if (j->local) work_local(n, j);
    else work_peers(n, j);
  }
}

/* Sends a finished job's follow-ups: checkpoints and evidence to every peer, probes to
 * the peer the job came from. */
static void send_notes(struct node *n, struct ingest_job *j)
{
  if (!j->n_notes) return;
  MDB_txn *txn;
  if (store_read(n->s, &txn)) return;
  for (size_t i = 0; i < j->n_notes; i++) {
    const struct job_note *x = &j->notes[i];
    if (x->kind == JOB_PROBE) {
      struct conn *c = net_find(n, x->conn_id);
      if (c && c->state == CONN_OPEN) send_probe(c, x->key, x->n);
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
      if (x->kind == JOB_ANNOUNCE) send_checkpoint(c, txn, x->key, x->n);
      else send_evidence(c, ev, evl);
    }
  }
  mdb_txn_abort(txn);
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
static void grow_resume(struct node *n)
{
  if (!n->grow_jobs || n->bg_in_thread) return;
  struct ingest_job *jobs = n->grow_jobs;
  n->grow_jobs = NULL;
  size_t before = store_map_size(n->s);
  int adopt = n->grow_adopts;
  n->grow_adopts = 0;
  int rc = adopt ? store_adopt_map_size(n->s) : store_grow(n->s);
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
    if (j->rc != MDB_MAP_FULL && j->rc != MDB_MAP_RESIZED) continue;
    n->grow_adopts = j->rc == MDB_MAP_RESIZED;
    for (struct ingest_job *k = jobs; k; k = k->next) job_reset(k);
    n->grow_jobs = jobs;
    grow_resume(n);
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
      if (feed_set_add(&changed, &nch, &capch, j->stored[i])) break;
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
      struct fetch *f = fetch_find(n, j->fetch_author);
      if (f && f->conn_id == j->conn_id) {
        if (f->queued) f->queued--;
        /* A gap (a shorter answer than asked, a lost range): ask again from what is
         * committed, once everything in flight has landed. */
        for (size_t i = 0; j->results && i < j->n; i++)
          if (j->results[i] == KK_ERR(SEQ_GAP)) f->next = 0;
        if (!f->inflight && !f->queued) fetch_drop(n, f);
      }
    }
  }
  if (nch) log_debug("committed records of %zu feed(s); %llu records since start", nch, (unsigned long long)n->committed);
  announce_arrivals(n, (const uint8_t(*)[32])changed, nch);
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
    job_free(j);
  }
  bg_kick(n);
  want_all(n);
  gate_release(n);  /* our own feed may have caught up with what a peer holds */
  start_next(n);
}

void repl_drop_queue(struct node *n)
{
  while (n->gated_head) { /* own appends still waiting for the head: refused */
    struct ingest_job *j = n->gated_head;
    n->gated_head = j->next;
    j->rc = KK_ERR(UNCONFIRMED);
    ctl_job_done(n, j);
    job_free(j);
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
    job_free(j);
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
