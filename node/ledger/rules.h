/*
 * rules — the deterministic state machine over the log.
 *
 * Feeds are evaluated each in seq order, from a per-feed cursor. A record whose
 * dependencies are not there yet makes its feed wait: the record ids it names (a lot's
 * creating record, a transfer, an attested record) must have been evaluated, and the
 * author (and a transfer's recipient) must have been admitted. The wait is recorded in
 * `pending` and the feed resumes by itself when the dependency is evaluated. A record
 * that breaks a rule is kept, marked invalid with the error, and ignored by accounting.
 *
 * Why the result does not depend on arrival order: a record's verdict depends only on
 * its own feed's earlier records, on records it names (which are evaluated first) and
 * on admissions, which only ever get added. The one exception is suspension, which
 * invalidates a member's records from a stated seq: if a node has already applied such
 * records when the Suspend arrives, it rebuilds the whole derived state with the
 * registry's feed evaluated first, which is what a node that received the Suspend first
 * computes. The registry's own records name nothing, so its feed never waits.
 * A feed frozen by evidence of equivocation (node/ledger/evidence.h) is evaluated only up to
 * its fork point; the evidence code rebuilds when it freezes records already applied.
 *
 * All functions run inside the caller's write (or, for getters, read) transaction.
 */
#ifndef KK_RULES_H
#define KK_RULES_H

#include <stdint.h>
#include "store.h"
#include "state.h"

enum rules_verdict { RULES_VALID = 1, RULES_INVALID = 2 };

struct rules_status {
  uint8_t verdict;     /* enum rules_verdict */
  int32_t err;         /* the violated rule's error code when invalid */
  uint8_t kind;        /* enum kk_payload when invalid; KK_PL_NONE when valid (rules_record_kind) */
};

/* Evaluates as far as possible the feeds named (and every feed they wake). Rebuilds the
 * derived state if a suspension requires it. 0 or a storage error; rule violations are
 * not errors here, they are verdicts. */
int rules_advance(struct store *s, struct store_txn *txn, const uint8_t (*feeds)[32], size_t n);

/* The same, handed the records a batch just stored (sorted by author, then seq), so
 * that the rules take them as they are instead of reading and hashing them again: the
 * ids must be those of the bytes (ingest computed them). */
struct rules_fresh { const uint8_t *author; uint64_t seq; const uint8_t *id; const uint8_t *env; size_t len; };
int rules_advance_fresh(struct store *s, struct store_txn *txn, const uint8_t (*feeds)[32], size_t n,
                        const struct rules_fresh *fresh, size_t nfresh);

/* How many records the rules have judged in this process (tests count the work). */
extern unsigned long rules_judged;

/* Clears the derived state and evaluates every feed from its start, the registry's first. */
int rules_rebuild(struct store *s, struct store_txn *txn);

/* Brings a store whose derived state has an earlier layout (store_derived_stale, set by
 * store_open) to the current one: rebuilds it from the log in one transaction and
 * records the layout. 0 at once when there is nothing to do. Call after opening a store
 * for writing, before anything reads its derived state. */
int rules_upgrade(struct store *s);

/* Getters. STORE_ABSENT when absent; lots and transfers must be freed by the caller
 * (lot_free/xfer_free) after a 0 return. A record's status by its id or its position. */
int rules_status_get(struct store_txn *txn, struct store *s, const uint8_t id[32], struct rules_status *st);
/* The payload kind of a stored record (decodes it). 0 or an error. */
int rules_record_kind(struct store_txn *txn, struct store *s, const uint8_t id[32], int *kind);
int rules_status_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    struct rules_status *st);
/* The seq of key's feed from which it is flagged as an equivocator's (0: not): where
 * evidence froze it, unless the registry has since admitted a successor in its place
 * (decision 43). 0 or a storage error. */
int rules_flagged_from(struct store_txn *txn, struct store *s, const uint8_t key[32], uint64_t *at);
int rules_member_get(struct store_txn *txn, struct store *s, const uint8_t key[32], struct member *m);
/* Calls fn(arg, key, member) for every member, in key order, until fn returns non-zero
 * (returned); 0 at the end, KK_E_CORRUPT on an entry that does not decode, or a storage
 * error. */
typedef int (*rules_member_fn)(void *arg, const uint8_t key[32], const struct member *m);
int rules_members_each(struct store_txn *txn, struct store *s, rules_member_fn fn, void *arg);
/* Calls fn(arg, about, incident) for every valid incident report, by what it is about
 * (a record, a lot's record or a member) then by the report's id; same results. */
typedef int (*rules_incident_fn)(void *arg, const uint8_t about[32], const uint8_t incident[32]);
int rules_incidents_each(struct store_txn *txn, struct store *s, rules_incident_fn fn, void *arg);
int rules_lot_get(struct store_txn *txn, struct store *s, const uint8_t key[36], struct lot *l);
/* The same, with the lot's position (its key in `lots` and the prefix of its spends). */
int rules_lot_find(struct store_txn *txn, struct store *s, const uint8_t key[36], uint8_t pos[STORE_LOTPOS], struct lot *l);
/* The same for a lot key a valid record names, or one found before (see
 * store_record_by_held_id): for reading valid state. */
int rules_lot_find_held(struct store_txn *txn, struct store *s, const uint8_t key[36], uint8_t pos[STORE_LOTPOS],
                        struct lot *l);
int rules_xfer_get(struct store_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x);
/* For a transfer id a valid record names (store_record_by_held_id), with the seq of the
 * Transfer record in its author's (the sender's) feed. */
int rules_xfer_find_held(struct store_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x, uint64_t *seq);
/* Calls fn(arg, transfer id, transfer) for every transfer still pending to `to`, until
 * fn returns non-zero (returned). 0 at the end, or an error. */
int rules_xfers_pending_to(struct store_txn *txn, struct store *s, const uint8_t to[32],
                           int (*fn)(void *arg, const uint8_t id[32], const struct xfer *x), void *arg);

/* The lots owner holds or held under code: up to max keys into keys (may be NULL when
 * max is 0), *found counting them all. 0 or an error. */
int rules_code_lots(struct store_txn *txn, struct store *s, const uint8_t owner[32], const char *code, uint8_t (*keys)[36],
                    size_t max, size_t *found);

/* The spends of a lot, in its owner's order: the id and seq of each spending record (a
 * transfer, a transform, a claim) and what it took. *ids, *seqs and *spends are
 * mem_alloc'd arrays of *n entries (NULL when none; the caller frees each). 0,
 * STORE_ABSENT when there is no such lot, or an error. */
int rules_lot_spends(struct store_txn *txn, struct store *s, const uint8_t key[36], uint8_t (**ids)[32], uint64_t **seqs,
                     struct spend **spends, size_t *n);

/* The lot at position pos (author || seq || index of the record that made it).
 * STORE_ABSENT when none. */
int rules_lot_at(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], struct lot *l);

/* Calls fn(arg, pos, lot) for every lot, in position order, until fn returns non-zero
 * (returned). 0 at the end, or an error. */
int rules_lots_each(struct store_txn *txn, struct store *s, int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l),
                    void *arg);
/* The same for the lots made by the record at (author, seq) only: a transform's
 * outputs, in index order (not the lots successors inherited from them). */
int rules_lots_of(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                  int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l), void *arg);

/* Calls fn(arg, seq, spend) for each spend of the lot at pos, in the order of the
 * spending records' seqs (its owner's feed), until fn returns non-zero (returned). */
int rules_spends_at(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS],
                    int (*fn)(void *arg, uint64_t seq, const struct spend *sp), void *arg);

/* What the lots made by the record at (author, seq) — a Receive, Refuse or Transform —
 * were made from, as the rules recorded when they made them: one entry per input of the
 * record (the closed transfer's lot; each of a transform's inputs, `input` its index),
 * the source lot's position and the seq in the source's owner's feed of the record that
 * spent it (the Transfer; the Transform itself); and, for a Transform with unledgered
 * inputs, one entry with `unledgered` set (they are read from its record). */
#define RULES_MADE_UNLEDGERED 0xffff
struct made_input {
  uint16_t input;
  int unledgered;
  uint8_t source[STORE_LOTPOS];
  uint64_t spend_seq;
};
/* Calls fn for each, in input order (unledgered last), until it returns non-zero
 * (returned); 0 at the end (none: the record made no lot from others), or an error. */
int rules_made_each(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    int (*fn)(void *arg, const struct made_input *in), void *arg);

/* A lot a succession hands over is recreated for the successor beside the old one: the
 * same record, its index plus RULES_INHERITED (node/ledger/succession.c). */
#define RULES_INHERITED (1u << 24)

/* The lot key (record id || index) of the lot stored under pos, a key of the lots
 * database (author || seq || index). */
int rules_lot_key(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], uint8_t key[STORE_LOTKEY]);

/* The valid revocations of record target, in id order (several parties may revoke
 * one record: its author and any certifier, each once). rules_revocations: *ids (the
 * caller frees it with mem_free) and *n, possibly 0; 0 or a storage error.
 * rules_revoked: 1 revoked, 0 not, or a negative error. */
int rules_revocations(struct store_txn *txn, struct store *s, const uint8_t target[32], uint8_t (**ids)[32], size_t *n);
int rules_revoked(struct store_txn *txn, struct store *s, const uint8_t target[32]);
/* The valid attestations of record `target` (revoked ones included: ask rules_revoked),
 * in id order: fn(arg, attestation id) for each; stops at and returns fn's non-zero. */
int rules_attestations_each(struct store_txn *txn, struct store *s, const uint8_t target[32],
                            int (*fn)(void *arg, const uint8_t attestation[32]), void *arg);

/* Why the rules refused body b with err, with the figures a person needs to get it
 * right: what a lot has left for an over-spend, the inputs against the outputs for a
 * conservation breach, the mass-balance limit for an overdraft, the unclaimed recycled
 * content for a claim, the mass for recycled content above it. Writes one sentence
 * into buf ("" when there is nothing to add). Reads the state in txn; for refusals of
 * records not written, so the state is the one b was judged against. */
void rules_explain(struct store_txn *txn, struct store *s, const struct kk_body *b, int err, char *buf, size_t n);

/* Recycled mass carried by spending m (≤ mass_left) of lot l: ⌊m × (post_left +
 * pre_left) / mass_left⌋ in all, of it ⌊m × post_left / mass_left⌋ post-consumer and the
 * rest pre-consumer. Neither what is spent nor what is left then holds more recycled
 * mass than mass, and the spend that empties the lot carries exactly what is left. */
void rules_spend_carry(const struct lot *l, uint64_t m, uint64_t *post, uint64_t *pre);

/* 0 when c is two upper-case ASCII letters, else KK_E_COUNTRY. */
int rules_check_country(const char *c);

#endif
