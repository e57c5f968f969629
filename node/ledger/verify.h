/*
 * verify — what a lot really carries: its recycled content by kind, where its mass came
 * from (countries, certificates), what is tainted and why, whether each claim on it
 * holds, and the incidents reported about anything in its provenance.
 *
 * The attribution comes from node/ledger/attrib.h (recomputed from the provenance, the same on
 * every node). Recycled mass is tainted when it is attributed to a certificate that has
 * been revoked, or whose issuer is proven to have equivocated (its feed frozen by
 * evidence): tainted mass is subtracted from the verified figures (DOMAIN.md invariant
 * 8). A lot is flagged when its owner, or the owner of any lot it was made from, is
 * proven to have equivocated. A claim holds while the claimed mass of the lot's
 * unrevoked claims, counted in claim order, stays within the verified recycled mass.
 *
 * The verdict (`passed`) is what a buyer gates on: nothing tainted, nothing flagged, and
 * every claim — and the claim asked about, if any — holds. Anything else fails it.
 */
#ifndef KK_VERIFY_H
#define KK_VERIFY_H

#include <stdint.h>
#include "store.h"
#include "state.h"

struct verify_origin { char country[3]; uint64_t mass, recycled; };  /* recycled: verified */

struct verify_cert {
  uint8_t record[32];
  uint8_t issuer[32];
  char issuer_name[CODEC_NAME_MAX + 1];
  char scheme[CODEC_SCHEME_MAX + 1];
  char certificate[CODEC_CERT_MAX + 1];
  char facility[CODEC_NAME_MAX + 1];       /* the Issue's facility ("" if it names none) */
  char origin[3];
  uint64_t mass, recycled;           /* attributed to this lot, as recorded */
  uint64_t counted;                  /* ... of the recycled mass, what counts (0 when tainted) */
  int revoked;
  size_t revocations;                /* valid revocations of it (by its issuer, certifiers) */
  uint8_t revoked_by[32];            /* the first of them in id order */
  char *revoke_reason;               /* the revocation's reason when revoked (details only; else NULL) */
  size_t attestations;               /* valid, unrevoked attestations by certifiers */
  uint64_t issuer_frozen_at;         /* the issuer equivocated: its feed's fork seq (0: no) */
};

struct verify_claim {
  struct claim_state c;
  uint64_t seq;
  int revoked;
  int holds;
};

/* An incident report naming a record, a lot or a member of the provenance. */
struct verify_incident {
  uint8_t id[32];                    /* the Incident record */
  uint8_t author[32];
  char author_name[CODEC_NAME_MAX + 1];
  uint8_t about[32];
  char kind[CODEC_NAME_MAX + 1];
  char text[CODEC_TEXT_MAX + 1];
};

/* A participant of the provenance whose feed is frozen by evidence of equivocation. */
struct verify_frozen { uint8_t member[32]; char name[CODEC_NAME_MAX + 1]; uint64_t frozen_at; };

struct verify_report {
  uint8_t lotkey[36];
  struct lot lot;
  char owner_name[CODEC_NAME_MAX + 1];
  uint64_t verified_post, verified_pre;     /* the lot's recycled mass after taint */
  uint64_t tainted_revoked;                 /* recycled mass from revoked certificates */
  uint64_t tainted_equivocation;            /* ... from certificates of equivocating issuers */
  uint64_t tainted;                         /* both */
  uint64_t unclaimed;                       /* recycled mass held, not yet claimed (recorded) */
  uint64_t unclaimed_verified;              /* ... of it, what is not tainted: what a claim may use */
  size_t n_origins, n_certs, n_claims, n_incidents, n_frozen;
  struct verify_origin *origins;            /* sorted by mass, descending, then country */
  struct verify_cert *certs;                /* in attribution (record id) order */
  struct verify_claim *claims;              /* in claim order */
  struct verify_incident *incidents;        /* in (about, incident id) order */
  struct verify_frozen *frozen;             /* owners and issuers of the provenance */
  int has_extra_claim;
  uint32_t extra_claim_ppm;                 /* --claim P */
  uint64_t extra_claim_mass;                /* what a claim of P on the lot would charge */
  int extra_claim_holds;
  int claims_hold;                          /* every recorded claim holds */
  uint64_t equivocation_mass;               /* mass that came through an equivocating participant */
  uint64_t owner_frozen_at;                 /* the owner's feed's fork seq (0: none) */
  int flagged;                              /* an equivocating participant in the provenance */
  int passed;                               /* the verdict: see above */
};

/* Claims charge ⌈mass held × share⌉ of the owner's unclaimed recycled mass (rules.md):
 * what a claim of share_ppm on a lot with `held` mass left would charge. */
uint64_t verify_claim_charge(uint64_t held, uint32_t share_ppm);

/* Fills *r for the lot. extra_claim_ppm: 0 for none; it holds when the lot has mass left
 * and its charge fits in the verified unclaimed recycled mass. The caller releases with
 * verify_report_free(). STORE_ABSENT when there is no such lot. */
int verify_lot(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], uint32_t extra_claim_ppm,
               struct verify_report *r);
void verify_report_free(struct verify_report *r);

/* The figures of many lots in one pass over their joint provenance (node/ledger/attrib.h): for
 * each, a report without certificates' details, claims or incidents (origins, taint,
 * flag and verdict are there). fn is called once per lot, the report valid during the
 * call; its non-zero result stops and is returned. */
typedef int (*verify_fn)(void *arg, const struct verify_report *r);
int verify_lots(struct store_txn *txn, struct store *s, const uint8_t (*keys)[36], size_t n, verify_fn fn, void *arg);

/* Loads and decodes a record's body by id (caller frees *body with mem_free()). */
int verify_load_body(struct store_txn *txn, struct store *s, const uint8_t id[32], struct kk_body **body);

#endif
