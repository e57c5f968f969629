/*
 * ingest — the one path by which records enter a store: from the CLI, from a records
 * file, and (later) from peers.
 *
 * A batch is checked structurally first, without writing: canonical envelope and body,
 * version, network, feed continuity (seq without gaps, prev = id of the previous record),
 * and the signature by the feed's current key. Signatures are verified on all cores,
 * while this thread already writes the batch into a transaction that is committed only
 * once every signature has checked out (and aborted and redone without the records
 * that failed otherwise).
 * Records already held are reported as duplicates; a different record at a held
 * position is a fork. Then every accepted record is appended in one write transaction
 * together with everything the rules derive from it, and committed: a record reported
 * stored (result 0) is durable.
 */
#ifndef KK_INGEST_H
#define KK_INGEST_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"
#include "../base/err.h"

/* An item's result for a record held already: not stored again, not an error. */
#define INGEST_DUPLICATE KK_ERR(DUPLICATE)

/* Flags for ingest_batch. */
#define INGEST_ALL_OR_NOTHING 0x1  /* any rejected record: write nothing, return its error. A
                                      record forking a held feed is not rejected: the
                                      pair is kept as evidence (result KK_E_FORK) */
#define INGEST_LOCAL 0x2           /* own new records: any not valid under the rules aborts
                                      the whole batch with the rule's error (a node never
                                      signs an invalid record); that record's result is
                                      the error, so the caller can name it */
#define INGEST_SIGNED_HERE 0x8     /* with INGEST_LOCAL: the caller has just signed these
                                      records with the key of their author (the feed's
                                      original key); their signatures are not verified
                                      again. Records of a feed whose key was rotated are
                                      verified as usual. */
#define INGEST_ADOPT_GENESIS 0x4   /* a store with no network yet adopts the (single)
                                      valid genesis record of the batch: `init`, `join` */

/* Checkpoint sync: a peer sent records of one feed ending at seq `end` with a consistency
 * proof from the tree of `end` leaves to a checkpoint of `size` leaves that this node
 * holds, cosigned. When the proof holds against the tree the batch builds, those
 * records are authenticated by the checkpoint: their own signatures are not checked
 * now but listed in `unverified` for a background check (node/verify_bg). */
struct ingest_ckpt {
  uint8_t author[32];
  uint64_t end, size;
  size_t n_proof;
  const uint8_t (*proof)[32];
  /* internal */
  int usable;                 /* the checkpoint is held, with enough cosignatures */
  uint8_t root[32];
};

#define INGEST_CKPT_MIN_COSIGS 1 /* witnesses a checkpoint needs to stand in for signatures */

struct ingest_item {
  /* in */
  const uint8_t *env;
  size_t len;
  struct ingest_ckpt *ckpt;   /* checkpoint sync for this record, or NULL */
  /* out */
  int result;                 /* 0 stored, INGEST_DUPLICATE, or another error code */
  uint8_t id[32];
  uint8_t author[32];
  uint64_t seq;
  int kind;                   /* enum kk_payload */
  int evidence_held;          /* result KK_E_FORK: the pair is held as evidence (evidence_id) */
  int evidence_new;           /* ... stored by this batch */
  uint8_t evidence_id[32];
  /* internal */
  struct ingest_item *fork_with; /* a FORK against a record earlier in the batch */
  int by_ckpt;                /* authenticated by its checkpoint, signature unchecked */
  uint8_t key[32];
  int has_prev;
  uint8_t prev[32];
  uint8_t new_key[32];
  int verify;                 /* its signature is to be checked */
  int sig_bad;                /* written only by the verifying threads: the signature fails */
  int sig_unchecked;          /* ... it could not be checked (out of memory) */
};

/* Ingests items[0..n). The envelopes must stay valid during the call. Returns 0 when
 * the batch was processed (see each item's result), or a negative code when nothing
 * was written: a storage error, KK_E_NOT_INIT (no network yet), the first rejected
 * record's error under INGEST_ALL_OR_NOTHING, or the rule error under INGEST_LOCAL.
 * threads: signature-verifying threads (0: one per core). */
int ingest_batch(struct store *s, struct ingest_item *items, size_t n, int flags, int threads);

/* For tests only: when set, called between the continuity check (pass B, in a read
 * transaction) and the write transaction, where another writer may append to the same
 * feeds; the write transaction checks again and the batch starts over (at most a few
 * times, then KK_E_BUSY with nothing written). */
extern void (*ingest_test_between)(struct store *s);

/* Runs at the end of the batch's write transaction, after the rules, with the feeds that
 * gained records (each once). Anything it writes commits with the batch; a non-zero
 * result aborts it. It may run more than once for one batch (a map resize retries the
 * transaction), so it must not keep side effects outside the transaction. */
struct ingest_hook {
  int (*fn)(struct store_txn *txn, void *ctx, const uint8_t (*feeds)[32], size_t n);
  void *ctx;
};

/* ingest_batch with a hook (NULL: none). A FORK — a different record at a held position
 * — is stored as evidence of equivocation (node/ledger/evidence.h) in the same transaction. */
int ingest_batch_hook(struct store *s, struct ingest_item *items, size_t n, int flags, int threads,
                      const struct ingest_hook *hook);

/* Checks a genesis record on its own: canonical, a Genesis payload at seq 1 with no
 * network and no prev, signed by its author. Fills the network id (= record id) and the
 * registry key. 0 or a negative code. */
int ingest_check_genesis(const uint8_t *env, size_t len, uint8_t network[32], uint8_t registry[32]);

#endif
