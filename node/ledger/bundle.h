/*
 * bundle — a lot's verification, portable: proven by a node, checked with no node.
 *
 * A bundle (proto/kiroku.proto: Bundle, BundleBody) holds the records of a lot's whole
 * provenance — what the rules need to recompute it: the records that created the lot
 * and every lot it came from, every earlier spend and claim of those lots (they shaped
 * what was left), their own dependencies in turn, the lot's own spends and claims, the
 * attestations and revocations of its certificates and claims, and the Admit records
 * of every author involved — each with its RFC 9162 inclusion proof in a checkpoint of
 * its feed that the bundle carries with the witnesses' cosignatures. The body is signed
 * by the member that made it, so no byte of a bundle changes unnoticed.
 *
 * Checking one (bundle_verify) needs only the network's genesis record: the prover's
 * signature over the body, the prover admitted; every record decoded, signed by its
 * author, included in its feed's checkpoint; every checkpoint signed by its author and
 * cosigned by at least K distinct admitted members (the bundle carries the Admit
 * records of the witnesses too). Then the records are evaluated
 * by the same rules engine, in a scratch store that holds only them, and every one
 * must be valid; verify_lot on that store gives the figures.
 *
 * What a bundle cannot show is absence: that no record outside it (a later revocation
 * or claim) exists. It proves the figures as of its checkpoints.
 */
#ifndef KK_BUNDLE_H
#define KK_BUNDLE_H

#include <stddef.h>
#include <stdint.h>
#include "store.h"

#define BUNDLE_MAX (1u << 30)   /* bytes in a bundle file */

struct bundle_info {
  size_t records, feeds;
  size_t min_cosigs;          /* fewest cosignatures on any of its checkpoints */
  uint8_t prover[32];
};

/* Builds and signs (pk, sk) the bundle for a lot. *out is mem_alloc'd. STORE_ABSENT when
 * there is no such lot; KK_E_BUNDLE (why filled) when a feed involved has no
 * checkpoint covering its records yet. */
int bundle_prove(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], const uint8_t pk[32],
                 const uint8_t sk[64], uint8_t **out, size_t *len, struct bundle_info *info, char *why,
                 size_t whylen);

/* The ids of the records of a lot's provenance — those a bundle for it carries, but the
 * prover's admission and the checkpoints' witnesses' (*ids mem_alloc'd, in no
 * particular order). STORE_ABSENT when there is no such lot. */
int bundle_provenance(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], uint8_t (**ids)[32], size_t *n);

/* Checks a bundle against a genesis record, requiring `witnesses` cosignatures on every
 * checkpoint, and evaluates its records into `scratch` (a new, empty store). 0 with
 * lotkey and info filled, or KK_E_BUNDLE (or a decoding error) with the exact reason in
 * why. */
int bundle_verify(const uint8_t *buf, size_t len, const uint8_t *genesis, size_t glen, unsigned witnesses,
                  struct store *scratch, uint8_t lotkey[36], struct bundle_info *info, char *why, size_t whylen);

#endif
