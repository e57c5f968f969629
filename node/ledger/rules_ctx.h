/*
 * rules_ctx — what the rules (rules.c) and the derived state they write (derived.c)
 * share inside the ledger: the evaluation's context and the writers of each database.
 * Private to node/ledger/rules.c and derived.c; everyone else uses node/ledger/rules.h.
 *
 * The writers run inside the evaluation's write transaction (c->txn) and return 0 or a
 * storage error (STORE_ABSENT where a lookup finds nothing); readers of the derived
 * state are in rules.h. Not thread-safe: one evaluation, one thread.
 */
#ifndef KK_RULES_CTX_H
#define KK_RULES_CTX_H

#include <stddef.h>
#include <stdint.h>
#include "rules.h"
#include "../base/buf.h"

/* A rule's answer when something it needs has not been evaluated yet (the dependency
 * in ctx->dep). */
#define RULE_WAIT 1

/* Dependency keys in `pending`: a tag byte then 32 bytes. */
#define DEP_RECORD 'R'   /* a record id that must be evaluated */
#define DEP_ADMIT 'A'    /* a key that must be admitted */
#define DEP_INHERIT 'I'  /* a successor that must have inherited (succession.c) */

struct rules_ctx {
  struct store *s;
  struct store_txn *txn;
  uint8_t registry[32];
  int have_registry;
  int rebuild;                 /* a suspension reached back into applied records */
  uint8_t dep[33];             /* what the current record waits for */
  /* work queue of feeds */
  uint8_t (*queue)[32];
  size_t qn, qcap;
  /* The records this evaluation read, by id (hashed as they were read): a reference to
   * one is found without hashing it again (derived_record_by_id). Open addressing. */
  struct known { uint8_t id[32], author[32]; uint64_t seq; } *known;
  size_t known_n, known_cap;
  /* The records the batch being committed brought (rules_advance_fresh), by position. */
  const struct rules_fresh *fresh;
  size_t nfresh;
};

/* The engine's steps the rules share (rules.c): make the current record wait for
 * (tag, what) (returns RULE_WAIT); queue a feed again, forgetting what it waits for; wake
 * every feed waiting for (tag, what); the seq evaluated last in a feed (0: none). */
int rules_wait(struct rules_ctx *c, uint8_t tag, const uint8_t what[32]);
int rules_unwait(struct rules_ctx *c, const uint8_t feed[32]);
int rules_wake(struct rules_ctx *c, uint8_t tag, const uint8_t what[32]);
int rules_cursor_get(struct rules_ctx *c, const uint8_t feed[32], uint64_t *applied);

/* Successions (succession.c). succession_check: may Admit a succeed the member it names
 * (0, or the rule it breaks). succession_apply, after the successor is admitted: voids
 * the old feed from from_seq and hands over its lots when it can. succession_settle:
 * hands the lots of feed's member to its successor once every record of the feed before
 * the succession point was evaluated (call where a feed's evaluation stops).
 * succession_pass_on: a lot just made for a member whose successor has inherited already
 * (a refund to it) goes on to that successor, as it would have had it been there at the
 * inheritance. succession_is_heir: 1 when author succeeds member (directly or down a
 * chain), 0 when not. All: or an error. */
int succession_check(struct rules_ctx *c, const struct kk_admit *a);
int succession_apply(struct rules_ctx *c, const struct kk_admit *a);
int succession_settle(struct rules_ctx *c, const uint8_t feed[32]);
int succession_pass_on(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const struct lot *l);
int succession_is_heir(struct rules_ctx *c, const uint8_t member[32], const uint8_t author[32]);

/* The records this evaluation read: remember one; find one by id (from memory, else
 * the store), its position and (when env is not NULL) its envelope. */
void derived_known_add(struct rules_ctx *c, const uint8_t id[32], const uint8_t author[32], uint64_t seq);
int derived_record_by_id(struct rules_ctx *c, const uint8_t id[32], uint8_t author[32], uint64_t *seq,
                         const uint8_t **env, size_t *len);
/* Puts b's bytes under k in dbi and frees b (its error, if it has one, instead). */
int derived_put_buf(struct rules_ctx *c, enum store_db db, const void *k, size_t kl, struct buf *b);
/* The payload kind of a stored envelope. */
int derived_record_kind(const uint8_t *env, size_t len, int *kind);
/* Writers of the derived state, one per database (store.h); lots by key, resolved to
 * their position; a spend of the lot at lotpos by the owner's record at seq; what input `input` of
 * the making record b was made from (source NULL: its unledgered inputs). */
int derived_status_put(struct rules_ctx *c, const uint8_t author[32], uint64_t seq, int err, uint8_t kind);
int derived_member_put(struct rules_ctx *c, const uint8_t key[32], const struct member *m);
int derived_lot_pos(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS]);
int derived_lot_put(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const struct lot *l);
/* A transfer by id, and (seq not NULL) its Transfer record's seq. */
int derived_xfer_get(struct rules_ctx *c, const uint8_t id[32], struct xfer *x, uint64_t *seq);
int derived_xfer_put(struct rules_ctx *c, const uint8_t id[32], const struct xfer *x);
int derived_code_put(struct rules_ctx *c, const uint8_t owner[32], const char *code, const uint8_t lotkey[36]);
int derived_code_taken(struct rules_ctx *c, const uint8_t owner[32], const char *code);
int derived_spend_put(struct rules_ctx *c, const uint8_t lotpos[STORE_LOTPOS], uint64_t seq, uint8_t kind,
                      uint64_t mass, uint64_t post, uint64_t pre);
int derived_made_put(struct rules_ctx *c, const struct kk_body *b, uint16_t input, const uint8_t *source,
                     uint64_t spend_seq);

#endif
