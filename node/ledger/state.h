/*
 * state — the derived-state values (members, lots, transfers, spends, claims) and the
 * arithmetic of attribution vectors.
 *
 * Lots hold what the rules need: mass and recycled mass by kind, as created and what is
 * left. Every spend of a lot (a transfer, a transform input, a claim's credit) is kept
 * with the amounts it took, so where a lot's mass came from can be recomputed exactly
 * when asked (node/ledger/attrib.h) instead of being stored with every lot.
 *
 * Attribution. An attribution vector holds, per source, the mass and the recycled mass
 * (by kind) a lot holds from that source. A source is a certificate (the Issue record
 * that created recycled mass) or an unledgered input declared by a Transform (virgin
 * material, with its country of origin). Whenever mass moves, the amount taken is
 * apportioned over the sources in proportion to what each holds, by the
 * largest-remainder method, so the parts add up exactly to the whole and no source ever
 * gives more than it holds. Ties go to the source with the smaller key. This is
 * deterministic integer arithmetic: every node computes the same vectors.
 *
 * Values are encoded with node/buf's layout (varints where a lot or spend is written
 * per record), so equal state is equal bytes.
 */
#ifndef KK_STATE_H
#define KK_STATE_H

#include <stddef.h>
#include <stdint.h>
#include "../../proto/codec.h"

enum attr_kind { ATTR_CERTIFICATE = 1, ATTR_UNLEDGERED = 2 };

/* Where material came from: a certificate (its Issue record, idx 0) or an unledgered
 * input of a transform (its Transform record, idx = the input's index + 1). */
struct attr_source {
  uint8_t id[32];
  uint32_t idx;
  uint8_t kind;          /* enum attr_kind */
  char country[3];
  /* Certificates only, as attrib_lots found them (zero otherwise): what the Issue says
   * and the standing of its issuer, so that reporting needs no second look-up. */
  uint8_t issuer[32];
  uint64_t issuer_frozen_at;          /* the issuer's feed frozen at this seq; 0: not */
  char scheme[CODEC_SCHEME_MAX + 1];
  char certificate[CODEC_CERT_MAX + 1];
  char facility[CODEC_NAME_MAX + 1];  /* where the Issue says the lot was made ("" if not said) */
};

/* One source's part. A vector names its sources by rank in a table of attr_source the
 * caller keeps sorted by (id, idx) (attrib_lots builds one per call), so entries in
 * rank order are in (id, idx) order — the order largest-remainder ties are broken in —
 * and an entry is 32 bytes: attribution is mostly moving entries. */
struct attr_entry {
  uint32_t src;
  uint64_t mass, post, pre;
};

/* Entries sorted by src, unique; mass, post and pre are their totals, kept by every
 * function below (a vector is one lot's or one pool's quantity: within 64 bits), so a
 * take need not add them up first. Change a vector only through these functions. */
struct attr { size_t n, cap; struct attr_entry *e; uint64_t mass, post, pre; };

/* Orders sources by (id, idx): for qsort. */
int attr_source_cmp(const void *a, const void *b);

void attr_init(struct attr *a);
void attr_free(struct attr *a);
/* Adds an entry, merging with an existing one of the same source. 0, -ENOMEM or
 * KK_E_OVERFLOW. */
int attr_add(struct attr *a, const struct attr_entry *e);
/* Adds every entry of from (one pass over both). 0, -ENOMEM or KK_E_OVERFLOW; into is
 * unchanged on error. */
int attr_merge(struct attr *into, const struct attr *from);
int attr_copy(struct attr *dst, const struct attr *src);

/* Moves (mass, post, pre) out of `from` into `taken` (which is reset first), apportioning
 * each of the three quantities over the sources in proportion to what they hold of it.
 * Requires mass <= Σ from.mass, post <= Σ from.post, pre <= Σ from.pre (else
 * KK_E_INTERNAL). Entries left empty are removed from `from`. */
int attr_take(struct attr *from, uint64_t mass, uint64_t post, uint64_t pre, struct attr *taken);
/* The same with working memory kept across calls (grown as needed; free it with
 * attr_scratch_free), for callers that take many times. */
struct share;
struct attr_scratch { uint64_t *v; size_t cap; struct share *shares; };
int attr_take_in(struct attr_scratch *sc, struct attr *from, uint64_t mass, uint64_t post, uint64_t pre,
                 struct attr *taken);
/* attr_take_in for a vector that is not needed afterwards (a transform's pool after its
 * last output): what is not taken is dropped, and `from` is left empty. */
int attr_take_last(struct attr_scratch *sc, struct attr *from, uint64_t mass, uint64_t post, uint64_t pre,
                   struct attr *taken);
void attr_scratch_free(struct attr_scratch *sc);

struct member {
  char name[CODEC_NAME_MAX + 1];
  uint32_t roles;
  char country[3];
  uint8_t admitted_by[32];   /* id of the Admit record */
  uint64_t suspended_from;   /* first invalid seq of the member's feed; 0: not suspended */
  /* Succession (an Admit naming `succeeds`, docs/rules.md). On the member succeeded: */
  uint8_t succeeded;         /* 1 once a successor was admitted */
  uint8_t successor[32];
  uint64_t succession_from;  /* the succession's from_seq: where its inherited lots were spent */
  /* On the successor: whom it succeeds, and whether it has inherited yet (its records
   * wait until it has, docs/rules.md). */
  uint8_t inherit;           /* enum member_inherit */
  uint8_t predecessor[32];
};

enum member_inherit { INHERIT_NONE = 0, INHERIT_PENDING = 1, INHERIT_DONE = 2 };

struct lot {
  uint8_t owner[32];
  char code[CODEC_CODE_MAX + 1];
  char material[CODEC_MATERIAL_MAX + 1];   /* GROUP or GROUP/FORM (node/ledger/material.h) */
  uint32_t model;
  uint8_t origin_kind;               /* payload kind that created it */
  uint64_t mass, post, pre;          /* as created */
  uint64_t mass_left, post_left, pre_left; /* not yet spent (nor, for recycled, claimed) */
  uint64_t claimed;                  /* recycled mass claimed on this lot */
};

enum xfer_state { XFER_PENDING = 1, XFER_RECEIVED = 2, XFER_REFUSED = 3 };

struct xfer {
  uint8_t from_lot[36];
  uint8_t sender[32], to[32];
  char code[CODEC_CODE_MAX + 1];
  char material[CODEC_MATERIAL_MAX + 1];
  uint32_t model;
  uint64_t mass, post, pre;
  uint8_t state;
  uint8_t closed_by[32];             /* Receive or Refuse record id */
};

/* One spend of a lot, kept under (lot position, seq of the spending record in the
 * owner's feed): what it took, so attribution can be replayed in the owner's order. */
enum spend_kind { SPEND_TRANSFER = 1, SPEND_TRANSFORM = 2, SPEND_CLAIM = 3,
                  SPEND_SUCCESSION = 4 /* all that was left, inherited by the owner's successor,
                                          at the succession's from_seq */ };
struct spend { uint8_t kind; uint64_t mass, post, pre; };

struct claim_state {
  uint8_t id[32];
  uint8_t author[32];
  uint32_t share_ppm;
  uint64_t claimed;
  char scope[CODEC_TEXT_MAX + 1];
};

/* init zeroes; free releases what a value holds (nothing today: plain data) and accepts
 * NULL — callers pair them so a value may own memory again without their changing. */
void lot_init(struct lot *l);
void lot_free(struct lot *l);
void xfer_init(struct xfer *x);
void xfer_free(struct xfer *x);

/* Encoders append to a buf (node/base/buf.h); decoders fill a caller-initialised struct and
 * return 0 or KK_E_CORRUPT / -ENOMEM; on error they hold no allocation (nothing to free). */
struct buf;
void member_encode(struct buf *b, const struct member *m);
int member_decode(const void *p, size_t n, struct member *m);
/* A lot is stored under the position of the record that made it (author || seq ||
 * index); `author` is that record's author, which is the lot's owner but for a refused
 * transfer's lot: the owner is then written out, else left out. A lot not spent from
 * yet leaves out its *_left figures too (they equal the created ones). */
void lot_encode(struct buf *b, const struct lot *l, const uint8_t author[32]);
int lot_decode(const void *p, size_t n, struct lot *l, const uint8_t author[32]);
/* A transfer is stored under its Transfer record's position, whose author is the
 * sender: the sender is left out, and given back to the decoder. */
void xfer_encode(struct buf *b, const struct xfer *x);
int xfer_decode(const void *p, size_t n, struct xfer *x, const uint8_t sender[32]);
void claim_encode(struct buf *b, const struct claim_state *c);
int claim_decode(const void *p, size_t n, struct claim_state *c);
void spend_encode(struct buf *b, const struct spend *x);
int spend_decode(const void *p, size_t n, struct spend *x);

/* Lot key: record id || output index (BE). */
void lotkey_make(uint8_t key[36], const uint8_t record[32], uint32_t index);

/* ⌊a × b / c⌋ with a 128-bit intermediate; c > 0. The result fits when b <= c. */
uint64_t mul_div_floor(uint64_t a, uint64_t b, uint64_t c);
/* a + b into *out; KK_E_OVERFLOW when it does not fit. */
int add_u64(uint64_t a, uint64_t b, uint64_t *out);

#endif
