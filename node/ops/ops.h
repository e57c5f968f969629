/*
 * ops — a member's commands as the records they mean: issue, transfer, receive, refuse,
 * transform, claim, attest, revoke, incident. From named arguments (the command line's
 * long options; the HTTP API's JSON keys, the same names) to a record body, checked as
 * far as the ledger can before its rules judge it: quantities and shares parsed,
 * countries that exist, references resolved (lot codes, members, transfers, records),
 * and a claim above the lot's verified unclaimed content refused. The one path of
 * `kiroku issue …` and of `POST /kiroku/v1/issue` (node/http): the same arguments give
 * the same record or the same refusal.
 *
 * Ownership: the plan's body is the caller's (op_plan_free); the arguments are borrowed.
 * Reads through the caller's transaction. Errors: 0, or a code with *err saying which
 * argument (`what`, "--lot FLAKE-9" or "lot FLAKE-9" as `dash` asks) and what may have
 * been meant (`hint`): KK_E_USAGE (missing, unknown, repeated or malformed argument),
 * KK_E_QUANTITY, KK_E_SHARE, KK_E_COUNTRY, KK_E_MODEL, KK_E_UNKNOWN_LOT,
 * KK_E_UNKNOWN_MEMBER, KK_E_UNKNOWN_TRANSFER, KK_E_UNKNOWN_RECORD, KK_E_AMBIGUOUS,
 * KK_E_TOO_LARGE, KK_E_CLAIM_EXCEEDS; -ENOMEM and storage errors.
 */
#ifndef KK_OPS_H
#define KK_OPS_H

#include <stddef.h>
#include <stdint.h>
#include "../ledger/store.h"
#include "../../proto/codec.h"

#define OP_ARGS_MAX 96

/* Arguments by name, in the order given; a repeatable one (evidence, in, unledgered,
 * out) may appear many times. */
struct op_args {
  size_t n;
  const char *name[OP_ARGS_MAX];
  const char *value[OP_ARGS_MAX];
};
/* Appends one: 0, or KK_E_USAGE when there are OP_ARGS_MAX already. */
int op_args_add(struct op_args *a, const char *name, const char *value);

/* The value of argument name (its first, for a repeatable one), or NULL. */
const char *op_arg(const struct op_args *a, const char *name);
/* The arguments of receive or refuse for one transfer: a's reason kept, the transfer
 * named by id (its hex written into hex, which must outlive *one) — what `receive
 * --all` gives each pending transfer. */
void op_args_for_transfer(const struct op_args *a, const uint8_t id[32], char hex[65], struct op_args *one);

enum op_kind { OP_ISSUE = 0, OP_TRANSFER, OP_RECEIVE, OP_REFUSE, OP_TRANSFORM, OP_CLAIM, OP_ATTEST, OP_REVOKE, OP_INCIDENT, OP_COUNT };

/* What an op is called (its command) and the arguments it takes, each "name METAVAR"
 * with a trailing '*' when repeatable, '?' when optional: for usage lines and docs. */
struct op_spec { const char *name; const char *const *args; };
const struct op_spec *op_spec(enum op_kind k);
/* The op of a command name ("issue"), or -1. */
int op_find(const char *name);

struct op_error { char what[256]; char hint[1024]; };

struct op_plan {
  struct kk_body *body;      /* the record (its header the appender's to fill) */
  unsigned lots;             /* lots it makes: outputs 0 .. lots-1 of its id */
  char warning[600];         /* the lot it moves is tainted or flagged ("" if not) */
};

/* The record `k` means, for member me. dash: how arguments are named in messages ("--"
 * on the command line, "" in JSON). */
int op_build(struct store_txn *txn, struct store *s, const uint8_t me[32], enum op_kind k, const struct op_args *a,
             const char *dash, struct op_plan *out, struct op_error *err);
void op_plan_free(struct op_plan *p);

/* The transfers pending to member me (what `receive --all` receives), oldest first
 * (*ids mem_alloc'd). */
int op_pending_to(struct store_txn *txn, struct store *s, const uint8_t me[32], uint8_t (**ids)[32], size_t *n);

/* 0 when cc is an ISO 3166-1 alpha-2 code that exists (country.c), else KK_E_COUNTRY
 * with the nearest match suggested in why. */
int op_check_country(const char *cc, char *why, size_t n);

#endif
