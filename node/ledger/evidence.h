/*
 * evidence — portable proof that an author equivocated, and what a node does with it.
 *
 * An evidence object is an encoded Equivocation (proto/kiroku.proto): two different
 * records signed for one (author, seq); two checkpoints of one feed and size with
 * different roots, both signed by the author; or a checkpoint the author signed over a
 * record whose own signature does not verify (found by the background check after a
 * checkpoint sync), with the record's inclusion proof. It needs nothing else to be checked: the
 * records and notes carry their signatures, and (for feeds that never rotated their key)
 * the author's id is the key. Its id is SHA-256 of its bytes; the pair is kept in byte
 * order, so every node that finds one equivocation stores identical bytes.
 *
 * Holding evidence freezes the feed at its fork point: the lowest seq (or checkpoint
 * size) any evidence against it names. The feed's records from there on stay stored but
 * are not applied (node/ledger/rules.c), so every node holding the same evidence computes the
 * same state, whichever branch of the fork it had received.
 */
#ifndef KK_EVIDENCE_H
#define KK_EVIDENCE_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

enum evidence_kind { EVIDENCE_RECORDS = 1, EVIDENCE_CHECKPOINTS = 2, EVIDENCE_BAD_RECORD = 3 };

struct evidence_info {
  uint8_t id[32];
  int kind;                    /* enum evidence_kind */
  uint8_t network[32], author[32];
  uint64_t seq;                /* the records' seq, the checkpoints' size, or the bad
                                  record's seq */
  uint8_t a[32], b[32];        /* the two records' ids, the two checkpoints' roots, or
                                  the bad record's id and the checkpoint's root */
};

/* Builds the evidence of two different records at one position (either order). */
int evidence_from_records(const uint8_t network[32], const uint8_t *ra, size_t la, const uint8_t *rb,
                          size_t lb, uint8_t **out, size_t *len);

/* Builds the evidence of two checkpoint notes (author's signature only) of one size. */
int evidence_from_checkpoints(const uint8_t network[32], const uint8_t author[32], const char *ca, size_t la,
                              const char *cb, size_t lb, uint8_t **out, size_t *len);

/* Builds the evidence of a checkpoint note (author's signature only) covering a record
 * whose signature fails, at leaf seq - 1, with its inclusion proof. */
int evidence_from_bad_record(const uint8_t network[32], const uint8_t author[32], const char *note, size_t nlen,
                             const uint8_t *env, size_t elen, const uint8_t (*proof)[32], size_t n_proof,
                             uint8_t **out, size_t *len);

/* Checks evidence offline: canonical encoding; two statements at one position that
 * differ, both signed by `key` (NULL: the author's own key); or a checkpoint signed by
 * key that includes a record not signed by it. Fills *info. 0 or
 * KK_E_EVIDENCE (or a decoding error). */
int evidence_check(const uint8_t *buf, size_t len, const uint8_t key[32], struct evidence_info *info);

/* Checks evidence against the store's network and key history, stores it, freezes the
 * feed at min(its current freeze, info.seq) and, when records at or past the new
 * freeze point were already applied, rebuilds the derived state. *is_new: 1 when it was
 * not held before. Runs in the caller's write transaction. */
int evidence_store(struct store_txn *txn, struct store *s, const uint8_t *buf, size_t len, struct evidence_info *info,
                   int *is_new);

/* The id of the evidence held against author's feed at the lowest seq (of several, the
 * first in id order): what froze it. STORE_ABSENT when none is held. */
int evidence_against(struct store_txn *txn, struct store *s, const uint8_t author[32], uint8_t id[32]);

/* Evidence by id (*buf valid until the txn ends); STORE_ABSENT when absent. */
int evidence_get(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t **buf, size_t *len);

/* Calls fn(arg, id, buf, len) for every evidence object held, in id order, until fn
 * returns non-zero (returned); 0 at the end, KK_E_CORRUPT on a malformed entry, or a
 * storage error. buf is valid during the call. */
typedef int (*evidence_fn)(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len);
int evidence_each(struct store_txn *txn, struct store *s, evidence_fn fn, void *arg);

#endif
