/*
 * sync — the sync protocol with each peer (node/daemon/repl.h):
 *
 *   HAVE    what the sender holds: (feed, last seq) for every feed, then live updates
 *           for the feeds that changed after each commit
 *   WANT    (feed, from seq, max): asks for a range; at most one request per feed is in
 *           flight across all peers, and at most NODE_CONN_WANTS per peer
 *   RECORDS the range asked for (echoing the feed), at most NODE_RECORDS_BYTES
 *   PING    keepalive
 *
 * Every node serves every feed it holds, so records travel through nodes that have no
 * direct link to their author. Records received go to the writer (writer.c) in batches;
 * when a batch is committed the node announces what changed to every peer and asks for
 * more. A peer that sends a record failing the structural checks (bad signature, wrong
 * network, not canonical, …) is disconnected; nothing invalid is stored.
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

struct fetch *repl_fetch_find(struct node *n, const uint8_t a[32])
{
  for (size_t i = 0; i < n->n_fetches; i++)
    if (memcmp(n->fetches[i].author, a, 32) == 0) return &n->fetches[i];
  return NULL;
}

void repl_fetch_drop(struct node *n, struct fetch *f)
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

uint64_t repl_unix_now(void)
{
  uv_timeval64_t tv;
  uv_gettimeofday(&tv);
  return (uint64_t)tv.tv_sec;
}

uint64_t repl_our_seq(struct node *n, struct store_txn *txn, const uint8_t a[32])
{
  struct store_head h;
  return store_head_get(txn, n->s, a, &h) == 0 ? h.seq : 0;
}

/* Keeps up to NODE_FETCH_WINDOW ranges of feed a requested from one peer that has
 * more of it than we do; all from the same peer, so they arrive, queue and commit in
 * order. */
static void want_feed(struct node *n, struct store_txn *txn, const uint8_t a[32])
{
  uint64_t frozen;
  if (store_frozen_at(txn, n->s, a, &frozen) || frozen) return; /* held where it forked */
  struct fetch *f = repl_fetch_find(n, a);
  struct conn *c = NULL;
  uint64_t theirs = 0;
  if (f) {
    c = net_find(n, f->conn_id);
    struct peer_feed *pf = c ? conn_feed(c, a, 0) : NULL;
    theirs = pf ? pf->seq : 0;
  } else {
    uint64_t have = repl_our_seq(n, txn, a);
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
  if (f->inflight == 0 && f->queued == 0) repl_fetch_drop(n, f); /* nothing to ask this peer */
}

/* Re-examines every feed any peer has advertised. */
void repl_want_all(struct node *n)
{
  struct store_txn *txn;
  if (n->stopping || store_read(n->s, &txn)) return;
  for (struct conn *c = n->conns; c; c = c->next) {
    if (c->state != CONN_OPEN) continue;
    for (size_t i = 0; i < c->n_feeds; i++)
      if (c->feeds[i].seq > repl_our_seq(n, txn, c->feeds[i].author)) want_feed(n, txn, c->feeds[i].author);
  }
  store_txn_abort(txn);
}

/* ---- HAVE ---------------------------------------------------------------------------- */

/* Every feed's head, for a HAVE. */
struct heads_list { struct kk_feedhead *heads; size_t n, cap; };

static int heads_list_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct heads_list *hl = arg;
  if (hl->n == hl->cap) {
    size_t cap = hl->cap ? hl->cap * 2 : 64;
    struct kk_feedhead *p = mem_realloc(hl->heads, cap * sizeof *p);
    if (!p) return -ENOMEM;
    hl->heads = p;
    hl->cap = cap;
  }
  struct kk_feedhead *f = &hl->heads[hl->n++];
  memset(f, 0, sizeof *f);
  memcpy(f->author, author, 32);
  f->seq = h->seq;
  f->has_last = 1;
  memcpy(f->last, h->last_id, 32);
  return 0;
}

/* Sends (feed, seq) for the given feeds, or for every feed when feeds is NULL. */
static void send_have(struct conn *c, const uint8_t (*feeds)[32], size_t nf)
{
  struct node *n = c->n;
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  struct kk_feedhead *heads = NULL;
  size_t cnt = 0;
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
    struct heads_list hl = { NULL, 0, 0 };
    (void)store_heads_each(txn, n->s, heads_list_one, &hl); /* a peer is sent what could be read */
    heads = hl.heads;
    cnt = hl.n;
  }
  store_txn_abort(txn);
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


struct conn_send { struct conn *c; struct store_txn *txn; };

static int send_checkpoint_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct conn_send *cs = arg;
  (void)h;
  repl_send_checkpoint(cs->c, cs->txn, author, 0);
  return 0;
}

/* A new peer gets our heads, every feed's newest checkpoint and all evidence we hold. */
void repl_on_open(struct conn *c)
{
  struct node *n = c->n;
  send_have(c, NULL, 0);
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  struct conn_send cs = { c, txn };
  (void)store_heads_each(txn, n->s, send_checkpoint_one, &cs); /* the peer asks again for what it misses */
  (void)evidence_each(txn, n->s, repl_send_evidence_one, c);
  store_txn_abort(txn);
}

/* Asks one peer for the single record (a, seq): to put a suspected fork on record. */
void repl_send_probe(struct conn *c, const uint8_t a[32], uint64_t seq)
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
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  for (size_t i = 0; i < w->have.n; i++) {
    const struct kk_feedhead *fh = &w->have.feeds[i];
    if (!fh->has_last || fh->seq == 0 || fh->seq > repl_our_seq(n, txn, fh->author)) continue;
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
    repl_send_probe(c, fh->author, fh->seq);
  }
  store_txn_abort(txn);
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
  struct store_txn *txn;
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
  store_txn_abort(txn);
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

int repl_records_job(const struct kk_wire *w, uint64_t conn_id, struct ingest_job **out)
{
  struct ingest_job *job = mem_calloc(1, sizeof *job);
  *out = NULL;
  int ok = job != NULL;
  if (ok) {
    job->conn_id = conn_id;
    job->n = w->records.n;
    memcpy(job->fetch_author, w->records.author, 32);
    ok = (job->envs = mem_calloc(job->n ? job->n : 1, sizeof *job->envs)) &&
         (job->lens = mem_calloc(job->n ? job->n : 1, sizeof *job->lens));
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
    if (job) repl_job_free(job);
    return -ENOMEM;
  }
  *out = job;
  return 0;
}

static int on_records(struct conn *c, const struct kk_wire *w)
{
  struct node *n = c->n;
  if (c->wants_inflight) c->wants_inflight--;
  struct fetch *f = repl_fetch_find(n, w->records.author);
  if (f && f->conn_id != c->id) f = NULL;
  if (f && f->inflight) f->inflight--;
  if (w->records.n == 0) {
    /* It has nothing more of that feed after all. */
    if (f) { f->next = 0; if (!f->inflight && !f->queued) repl_fetch_drop(n, f); }
    struct peer_feed *pf = conn_feed(c, w->records.author, 0);
    struct store_txn *txn;
    if (pf && store_read(n->s, &txn) == 0) {
      pf->seq = repl_our_seq(n, txn, w->records.author);
      store_txn_abort(txn);
    }
    repl_want_all(n);
    return 0;
  }
  /* Out of memory, the records are dropped and the connection closed — not judged: the
   * peer redials and the sync resumes from what is stored. */
  struct ingest_job *job;
  if (repl_records_job(w, c->id, &job)) {
    net_close(c, "out of memory while taking its records (it will reconnect)");
    return -ENOMEM;
  }
  job->has_fetch = f != NULL;
  if (f) f->queued++;
  c->records_in += job->n;
  /* The checkpoint these records are offered against came before them on this
   * connection: make sure it is taken first. */
  if (job->ckpt) repl_notes_flush(n);
  repl_enqueue(n, job);
  return 0;
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
    repl_want_all(c->n);
    repl_gate_release(c->n);
    return 0;
  }
  case KK_W_WANT: return on_want(c, w);
  case KK_W_RECORDS: return on_records(c, w);
  case KK_W_CHECKPOINT: return repl_on_checkpoint(c, w);
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
    if (n->fetches[i].conn_id == c->id) repl_fetch_drop(n, &n->fetches[i]);
    else i++;
  c->wants_inflight = 0;
  c->n_feeds = 0;
  repl_want_all(n);
}



/* Adds feed a to the set (feeds, *nf, *cap) unless it is there; 0, or -ENOMEM. */
int repl_feed_set_add(uint8_t (**feeds)[32], size_t *nf, size_t *cap, const uint8_t a[32])
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
  return repl_feed_set_add(a->feeds, a->nf, a->cap, author);
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
void repl_announce_arrivals(struct node *n, const uint8_t (*changed)[32], size_t nch)
{
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  uint64_t last = 0;
  uint8_t (*feeds)[32] = NULL;
  size_t nf = 0, cap = 0, n_ours;
  /* A failed read of the newest arrival is not "none": what was announced stays, and
   * every head goes out again (below). */
  int rc = store_log_last(txn, n->s, &last);
  for (size_t i = 0; i < nch && rc == 0; i++) rc = repl_feed_set_add(&feeds, &nf, &cap, changed[i]);
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
    for (size_t i = n_ours; i < nf; i++) repl_send_checkpoint(c, txn, feeds[i], 0);
    if (nf > n_ours) repl_send_checkpoint(c, txn, n->pk, 0);
  }
  store_txn_abort(txn);
  mem_free(feeds);
}
