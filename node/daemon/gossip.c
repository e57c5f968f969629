/*
 * gossip — what nodes tell each other besides records: every feed's newest checkpoint
 * with its cosignatures, and evidence of equivocation (node/daemon/repl.h). A peer gets
 * all of it when it connects; after that, what a commit produced is flushed to every
 * peer on a short timer (notes), and evidence that arrived by other paths (an import)
 * is announced on the tick.
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

/* Sends the stored checkpoint of author at size (0: newest), cosignatures included. */
void repl_send_checkpoint(struct conn *c, struct store_txn *txn, const uint8_t author[32], uint64_t size)
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

void repl_send_evidence(struct conn *c, const uint8_t *ev, size_t len)
{
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_EVIDENCE;
  w.evidence.data = ev;
  w.evidence.len = len;
  net_send(c, &w);
}

int repl_send_evidence_one(void *conn, const uint8_t id[32], const uint8_t *ev, size_t len)
{
  (void)id;
  repl_send_evidence(conn, ev, len);
  return 0;
}

void repl_notes_flush(struct node *n)
{
  struct ingest_job *j = n->notes_job;
  if (!j) return;
  n->notes_job = NULL;
  uv_timer_stop(&n->notes_timer);
  repl_enqueue(n, j);
}

static void on_notes_timer(uv_timer_t *t)
{
  repl_notes_flush(t->data);
}

/* Checkpoints come in bursts (every witness passes on every new cosignature): those
 * heard within NODE_NOTES_MS are taken in one transaction. */
int repl_on_checkpoint(struct conn *c, const struct kk_wire *w)
{
  struct node *n = c->n;
  struct ingest_job *j = n->notes_job;
  if (!j) {
    if (!(j = mem_calloc(1, sizeof *j))) return -ENOMEM;
    j->kind = JOB_CHECKPOINT;
    j->envs = mem_calloc(NODE_NOTES_MAX, sizeof *j->envs);
    j->lens = mem_calloc(NODE_NOTES_MAX, sizeof *j->lens);
    j->conns = mem_calloc(NODE_NOTES_MAX, sizeof *j->conns);
    if (!j->envs || !j->lens || !j->conns) { repl_job_free(j); return -ENOMEM; }
    n->notes_job = j;
    uv_timer_start(&n->notes_timer, on_notes_timer, NODE_NOTES_MS, 0);
  }
  uint8_t *copy = mem_alloc(w->checkpoint.len ? w->checkpoint.len : 1);
  if (!copy) return -ENOMEM;
  memcpy(copy, w->checkpoint.note, w->checkpoint.len);
  j->envs[j->n] = copy;
  j->lens[j->n] = w->checkpoint.len;
  j->conns[j->n] = c->id;
  if (++j->n == NODE_NOTES_MAX) repl_notes_flush(n);
  return 0;
}

void repl_notes_init(struct node *n)
{
  uv_timer_init(n->loop, &n->notes_timer);
  n->notes_timer.data = n;
}

void repl_notes_close(struct node *n)
{
  if (n->notes_job) { repl_job_free(n->notes_job); n->notes_job = NULL; }
  if (!uv_is_closing((uv_handle_t *)&n->notes_timer)) uv_close((uv_handle_t *)&n->notes_timer, NULL);
}

/* Number of evidence objects held (0 on a read error: looked at again next tick). */
uint64_t repl_evidence_count(struct node *n, struct store_txn *txn)
{
  uint64_t held;
  return store_entries(txn, n->s, STORE_N_EVIDENCE, &held) == 0 ? held : 0;
}

/* Evidence stored by another process (an import that met a fork) is sent to every
 * peer. Evidence is only ever added, so a count that grew means something new; all of
 * it is sent, since which is new is not known here (it is rare, and peers keep what
 * they hold already). Evidence this node's own jobs stored was sent by them and is
 * sent again once: harmless. */
void repl_announce_evidence(struct node *n)
{
  struct store_txn *txn;
  if (store_read(n->s, &txn)) return;
  uint64_t held = repl_evidence_count(n, txn);
  if (held > n->evidence_seen) {
    for (struct conn *c = n->conns; c; c = c->next)
      if (c->state == CONN_OPEN) (void)evidence_each(txn, n->s, repl_send_evidence_one, c); /* sent again next time it grows */
  }
  n->evidence_seen = held;
  store_txn_abort(txn);
}
