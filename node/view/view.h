/*
 * view — the ledger as people read it: JSON of lots, records, verdicts, members,
 * checkpoints and evidence, and the references users type (a lot code, a record id
 * prefix, a member's name). The one source of these faces: the CLI's --json (and its
 * text, read from them) and the node's HTTP API print the same objects.
 *
 * Everything reads through the caller's transaction (txn, s); nothing writes. JSON
 * results are new references (json_decref), NULL only when memory runs out; int results
 * are 0 or a negative code (-ENOMEM, storage errors, the KK_E_ codes named).
 * Thread-safe as far as the transaction is: each thread its own.
 */
#ifndef KK_VIEW_H
#define KK_VIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "../ledger/store.h"
#include "../../proto/codec.h"

struct lot;
struct member;
struct verify_report;
struct evidence_info;

/* ---- small faces (format.c) ------------------------------------------------------------- */
void view_hex(char out[65], const uint8_t id[32]);
json_t *view_json_hex(const uint8_t *p, size_t n);            /* n ≤ 64 bytes */
void view_lotref(char *out, size_t n, const uint8_t lotkey[36]); /* short: "ab12cd34ef56:0" */
/* The member's name, or its key's first 16 hex digits and "…" when unknown; buf. */
const char *view_member_name(struct store_txn *txn, struct store *s, const uint8_t key[32], char *buf, size_t n);
/* Sets "material", "group" and "form" (null when there is none) of o from m. */
void view_json_material(json_t *o, const char *m);
/* "recycler,processor": the role bits r as names. */
void view_roles_text(char *out, size_t n, uint32_t r);

/* The verified figures of many lots at once, for lists: recycled mass after taint,
 * taint, flag. Computed from the provenance only when the ledger holds a revocation or
 * evidence of equivocation; otherwise the recorded figures are the verified ones
 * (nothing can taint them). out[i] is for keys[i]. */
struct view_figures {
  uint8_t key[36];
  uint64_t verified_post, verified_pre, tainted, equivocation_mass;
  int flagged, passed;
};
int view_lot_figures(struct store_txn *txn, struct store *s, const uint8_t (*keys)[36], size_t n, struct view_figures *out);
/* Sets "verified" {post_consumer_mg, pre_consumer_mg, share, share_ppm}, "tainted_mg" and
 * "flagged" of o from the figures f of a lot of mass `mass`. */
void view_json_figures(json_t *o, const struct view_figures *f, uint64_t mass);

/* ---- references (ref.c) ----------------------------------------------------------------- */
/* A lot: a lot code of member me (NULL: no preference), failing that any member's; or a
 * record id prefix (hex, at least 4 digits) with an optional ":N" output index. 0,
 * KK_E_UNKNOWN_LOT (why: the nearest codes held, "did you mean …?") or KK_E_AMBIGUOUS
 * (why: the refs of the lots that share the code). why is set ("" when nothing to say). */
int view_resolve_lot(struct store_txn *txn, struct store *s, const uint8_t *me, const char *ref, uint8_t key[36],
                     char *why, size_t whylen);
/* A member: a name, or a full 64-digit hex key. 0, KK_E_UNKNOWN_MEMBER or KK_E_AMBIGUOUS. */
int view_resolve_member(struct store_txn *txn, struct store *s, const char *ref, uint8_t key[32]);
/* A record: an id prefix. 0, KK_E_UNKNOWN_RECORD or KK_E_AMBIGUOUS. */
int view_resolve_record(struct store_txn *txn, struct store *s, const char *ref, uint8_t id[32]);

/* ---- lots and records (records.c) ------------------------------------------------------- */
/* A lot with its verified figures f (the `lots` list's object). */
json_t *view_lot_json(struct store_txn *txn, struct store *s, const uint8_t key[36], const struct lot *l,
                      const struct view_figures *f);
/* A record's payload. */
json_t *view_body_json(const struct kk_body *b);
/* A record: envelope fields, verdict ("valid", "invalid" with error and reason,
 * "pending"), and with_payload: prev, bytes and payload. NULL when env does not decode. */
json_t *view_record_json(struct store_txn *txn, struct store *s, const uint8_t *env, size_t len, int with_payload);

/* The keys of the lots held (owner NULL: every lot), in the ledger's order (*keys
 * mem_alloc'd). */
int view_lot_keys(struct store_txn *txn, struct store *s, const uint8_t *owner, uint8_t (**keys)[36], size_t *n);
/* `show --json`: the record id (its envelope env[0..len)) with payload, what revoked it
 * ("revoked", "revoked_by") and the lots it made with their verified figures ("lots"). */
int view_show_json(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t *env, size_t len,
                   json_t **out);

/* The attestations of record id: [{record, author, author_name, statement, time_ms,
 * revoked}], in id order. */
int view_attestations_json(struct store_txn *txn, struct store *s, const uint8_t id[32], json_t **out);

/* ---- verdicts (verify_json.c) ----------------------------------------------------------- */
/* `verify --json`'s object of a report. */
json_t *view_verify_json(const struct verify_report *r);
/* Why the lot fails, one sentence each (an empty array when it passes). */
json_t *view_verify_reasons(const struct verify_report *r);

/* ---- provenance (trace.c) -------------------------------------------------------------- */
#define VIEW_TRACE_MAX_NODES 10000
#define VIEW_TRACE_MAX_DEPTH 200
/* `trace --json`: the lot and where it came from (down 0: "from", up to its certificates
 * and unledgered inputs) or went (down 1: "to"), each lot with its verified figures,
 * certificates marked revoked or equivocated; "incidents" naming a lot, record or owner
 * of the tree; "truncated" when it was cut at VIEW_TRACE_MAX_NODES or _DEPTH. */
int view_trace_json(struct store_txn *txn, struct store *s, const uint8_t key[36], int down, json_t **out);

/* ---- lists (lists.c) -------------------------------------------------------------------- */
/* Every feed held: author, name, records, newest checkpoint (with who cosigned it),
 * frozen_at. */
int view_feeds_json(struct store_txn *txn, struct store *s, json_t **out);
/* One piece of evidence (txn NULL: without the author's name and freeze). */
json_t *view_evidence_json(struct store_txn *txn, struct store *s, const struct evidence_info *in);
/* Every piece of evidence held (`evidence --json`'s list). */
int view_evidence_list_json(struct store_txn *txn, struct store *s, json_t **out);
/* A member (`members --json`'s object), and all of them. */
json_t *view_member_json(struct store_txn *txn, struct store *s, const uint8_t key[32], const struct member *m);
int view_members_json(struct store_txn *txn, struct store *s, json_t **out);

#endif
