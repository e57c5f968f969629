/*
 * ckpt — feeds' signed checkpoints and this node's role as their witness.
 *
 * A checkpoint of a feed is a C2SP signed note (crypto/note.h) whose text is
 *   "kiroku/<network id hex>/<author hex>\n<size>\n<base64 root>\n"
 * signed, under the key name equal to that origin line, by the key the feed has after
 * its first `size` records (store_key_at). Authors sign one after each committed batch
 * of their own records.
 *
 * Every node witnesses every other feed: it adds a tlog-cosignature/v1 line, under the
 * name "kiroku-witness/<its key hex>", to a checkpoint only when the root is its own
 * tree's root at that size (it holds and has verified those records — none of them
 * still waits for its signature check after a checkpoint sync) and a consistency
 * proof from the last checkpoint of that feed it cosigned verifies. Cosignatures are
 * kept only from admitted members.
 *
 * What is kept: per feed, the newest checkpoint, and older ones only while they have
 * more cosignatures than every newer one (so a well-witnessed checkpoint is not lost to
 * a newer one that is not witnessed yet). All functions run in the caller's transaction.
 */
#ifndef KK_CKPT_H
#define KK_CKPT_H

#include <stddef.h>
#include <stdint.h>
#include "ckpt_note.h"
#include "store.h"

/* Signs and stores a checkpoint of feed `pk` at its head when that is newer than the
 * newest one stored. *size: its size, or 0 when nothing was signed. */
int ckpt_sign_own(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t pk[32],
                  const uint8_t sk[64], uint64_t *size);

/* What a node does at the end of every batch of records it commits: sign its own feed's
 * checkpoint if that grew, and witness the newest checkpoint of every other feed in
 * `feeds`. fn (may be NULL) hears of each checkpoint signed or cosigned. */
int ckpt_after_batch(struct store_txn *txn, struct store *s, const uint8_t pk[32], const uint8_t sk[64],
                     const uint8_t (*feeds)[32], size_t nf, uint64_t now,
                     void (*fn)(void *ctx, const uint8_t author[32], uint64_t size), void *ctx);

/* What ckpt_receive learned. */
struct ckpt_seen {
  uint8_t author[32];
  uint64_t size;
  int new_checkpoint;          /* a checkpoint not held before was stored */
  size_t new_cosigs;           /* cosignatures not held before were stored */
  int cosigned;                /* this node cosigned it just now */
  int conflict;                /* its root is not our tree's root at that size: the
                                  feed forked; fetch record `size` from the sender */
  int evidence;                /* it contradicts a stored checkpoint of the same size:
                                  evidence stored (evidence_id), feed frozen */
  uint8_t evidence_id[32];
};

/* Takes a checkpoint note from a peer: checks the author's signature, keeps valid
 * cosignatures by members, and witnesses it (see above) when self_sk is not NULL. 0, or
 * KK_E_CHECKPOINT when the note is not a valid checkpoint of a feed of this network (or
 * cannot be checked yet: signed by a key this node has not seen rotated to); nothing is
 * stored then. */
int ckpt_receive(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t self_pk[32],
                 const uint8_t self_sk[64], const char *note, size_t len, uint64_t now, struct ckpt_seen *seen);

/* Witnesses the newest stored checkpoint of a feed if this node's records now cover it.
 * *cosigned_size: its size when a cosignature was added, else 0. */
int ckpt_witness(struct store_txn *txn, struct store *s, const uint8_t network[32], const uint8_t self_pk[32],
                 const uint8_t self_sk[64], const uint8_t author[32], uint64_t now, uint64_t *cosigned_size);

/* The root of the stored checkpoint of author at size, and how many cosignatures it
 * has. STORE_ABSENT when none is stored. */
int ckpt_stored(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, uint8_t root[32],
                size_t *cosigs);

/* The author-signed note (no cosignatures; valid until the txn ends) of the smallest
 * stored checkpoint of a feed that covers seq. STORE_ABSENT when none does. */
int ckpt_covering(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq, const char **note,
                  size_t *len, uint64_t *size);

/* The stored checkpoint of a feed at `size` (0: the newest), as a note with every held
 * cosignature (mem_alloc'd, NUL-terminated). STORE_ABSENT when there is none. */
int ckpt_get(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t size, char **note, size_t *len,
             uint64_t *got_size);

/* Of the stored checkpoints of a feed with size >= at_least, the one with the most
 * cosignatures (ties: the newest), composed like ckpt_get. STORE_ABSENT when none. */
int ckpt_best(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t at_least, char **note, size_t *len,
              uint64_t *got_size);

#endif
