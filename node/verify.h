/*
 * verify — what a lot really carries: its recycled content by kind, where its mass came
 * from (countries, certificates), what is tainted by revocations, and whether each claim
 * on it holds.
 *
 * Works on the derived state alone (the attribution vectors of node/state.h), so it is
 * the same computation on every node. Recycled mass from a revoked certificate is
 * tainted: subtracted from the verified figures; a claim holds while the claimed mass,
 * counted in claim order, stays within the verified recycled mass. A lot downstream of
 * an equivocating author (one whose feed is frozen by evidence) is flagged with the
 * mass that came through that author.
 */
#ifndef KK_VERIFY_H
#define KK_VERIFY_H

#include <stdint.h>
#include "store.h"
#include "state.h"

struct verify_origin { char country[3]; uint64_t mass, recycled; };

struct verify_cert {
  uint8_t record[32];
  uint8_t issuer[32];
  char issuer_name[CODEC_NAME_MAX + 1];
  char scheme[CODEC_SCHEME_MAX + 1];
  char certificate[CODEC_CERT_MAX + 1];
  char origin[3];
  uint64_t mass, recycled;           /* attributed to this lot */
  int revoked;
  uint8_t revoked_by[32];
  char revoke_reason[CODEC_TEXT_MAX + 1];
  size_t attestations;               /* valid attestations by certifiers */
  uint64_t issuer_frozen_at;         /* the issuer equivocated: its feed's fork seq (0: no) */
};

struct verify_claim {
  struct claim_state c;
  uint64_t seq;
  int revoked;
  int holds;
};

struct verify_report {
  uint8_t lotkey[36];
  struct lot lot;
  char owner_name[CODEC_NAME_MAX + 1];
  uint64_t verified_post, verified_pre;
  uint64_t tainted;                  /* recycled mass removed by revocations */
  size_t n_origins, n_certs, n_claims;
  struct verify_origin *origins;     /* sorted by mass, descending, then country */
  struct verify_cert *certs;         /* in attribution (record id) order */
  struct verify_claim *claims;       /* in claim order */
  int has_extra_claim;
  uint32_t extra_claim_ppm;          /* --claim P */
  int extra_claim_holds;
  int ok;                            /* every claim (and the extra one) holds */
  /* Equivocation (node/evidence.h): mass of this lot that came through certificates of
   * an author proven to have forked its feed, or all of it when the owner did. */
  uint64_t equivocation_mass;
  uint64_t owner_frozen_at;          /* the owner's feed's fork seq (0: none) */
  int flagged;                       /* equivocation_mass > 0 */
};

/* Fills *r for the lot. extra_claim_ppm: 0 for none. The caller releases with
 * verify_report_free(). MDB_NOTFOUND when there is no such lot. */
int verify_lot(MDB_txn *txn, struct store *s, const uint8_t lotkey[36], uint32_t extra_claim_ppm,
               struct verify_report *r);
void verify_report_free(struct verify_report *r);

/* Loads and decodes a record's body by id (caller frees *body with mem_free()). */
int verify_load_body(MDB_txn *txn, struct store *s, const uint8_t id[32], struct kk_body **body);

#endif
