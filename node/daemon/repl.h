/*
 * repl — what the daemon's replication files share among themselves: sync.c (the sync
 * protocol), gossip.c (checkpoints and evidence), writer.c (the single writer's queue,
 * the own-head gate, start-up and tick) and bgcheck.c (background checks). Private to
 * node/daemon/; the daemon's entry points (repl_on_open, repl_enqueue, …) are in node.h.
 *
 * Everything here runs on the loop thread, except the *_fn callbacks, which run inside
 * a write transaction on the thread pool (store_write), and repl_job_note, which a job
 * calls from there to leave a note for the loop thread.
 */
#ifndef KK_REPL_H
#define KK_REPL_H

#include <stddef.h>
#include <stdint.h>
#include "node.h"
#include "../base/err.h"

#define REPL_MAX_DEFERRED 1024 /* WANTs of one peer waiting while it does not read */
#define REPL_NOTHING_NEW KK_ERR(NOTHING_NEW) /* a job's write had nothing to commit: not an error */

/* sync.c: the feed being fetched for a (or NULL), and its end; every advertised feed
 * looked at again; one record asked of a peer (a suspected fork); a feed added to a
 * set (feeds, *nf, *cap) unless there (0 or -ENOMEM); what arrived since the last
 * announcement (and the feeds in changed) told to every peer. */
uint64_t repl_unix_now(void);                                     /* ms since 1970 */
uint64_t repl_our_seq(struct node *n, struct store_txn *txn, const uint8_t a[32]); /* feed a's head here */
struct fetch *repl_fetch_find(struct node *n, const uint8_t a[32]);
void repl_fetch_drop(struct node *n, struct fetch *f);
void repl_want_all(struct node *n);
void repl_send_probe(struct conn *c, const uint8_t a[32], uint64_t seq);
int repl_feed_set_add(uint8_t (**feeds)[32], size_t *nf, size_t *cap, const uint8_t a[32]);
void repl_announce_arrivals(struct node *n, const uint8_t (*changed)[32], size_t nch);

/* gossip.c: a checkpoint (size 0: the newest) or an evidence object sent to one peer;
 * the notes commits left, sent to every peer; evidence that arrived by other paths
 * announced; a peer's CHECKPOINT received (0, or an error that closes the peer). */
uint64_t repl_evidence_count(struct node *n, struct store_txn *txn); /* held (0 on a read error) */
void repl_send_checkpoint(struct conn *c, struct store_txn *txn, const uint8_t author[32], uint64_t size);
void repl_send_evidence(struct conn *c, const uint8_t *ev, size_t len);
/* repl_send_evidence as an evidence_each callback (conn: the struct conn). */
int repl_send_evidence_one(void *conn, const uint8_t id[32], const uint8_t *ev, size_t len);
void repl_notes_flush(struct node *n);
void repl_announce_evidence(struct node *n);
int repl_on_checkpoint(struct conn *c, const struct kk_wire *w);

/* sync.c: a job for a peer's Records message (conn_id: who sent it), holding copies of
 * everything it needs, or nothing: 0, or -ENOMEM with nothing allocated. A job with
 * missing envelopes would crash the ingest thread or send an honest peer's records as
 * empty ones, which would judge it hostile. */
int repl_records_job(const struct kk_wire *w, uint64_t conn_id, struct ingest_job **out);

/* writer.c: a job freed; a note left by a job for the loop thread; jobs waiting for the
 * map to grow resumed; own records released past the gate once it opens. */
void repl_job_free(struct ingest_job *j);
/* Runs job j (and the peer-record jobs chained after it) on the calling thread: what the
 * thread pool does with the writer's running jobs. Results are left in the jobs. */
void repl_run_job(struct node *n, struct ingest_job *j);
void repl_job_note(struct ingest_job *j, int kind, const uint8_t key[32], uint64_t v, uint64_t conn_id);
void repl_grow_resume(struct node *n);
void repl_gate_release(struct node *n);

/* bgcheck.c: the background signature check started when there is work and none runs;
 * and the write-transaction callbacks of the writer's other jobs (arg: struct
 * repl_job_ctx): checkpoints received, evidence received, background results applied. */
struct repl_job_ctx { struct node *n; struct ingest_job *j; };
void repl_bg_kick(struct node *n);
int repl_checkpoint_fn(struct store_txn *txn, void *arg);
int repl_evidence_fn(struct store_txn *txn, void *arg);
int repl_verified_fn(struct store_txn *txn, void *arg);

#endif
