/*
 * fixture — builds signed records and stores for unit tests, without the CLI.
 */
#ifndef KK_FIXTURE_H
#define KK_FIXTURE_H

#include <stddef.h>
#include <stdint.h>
#include "../../node/ledger/store.h"
#include "../../proto/codec.h"

struct fx_member { uint8_t pk[32], sk[64]; uint64_t seq; uint8_t last[32]; };

/* A signed record kept in memory. */
struct fx_rec { uint8_t *env; size_t len; uint8_t id[32]; };

struct fx {
  uint8_t network[32];
  struct fx_member reg;
  struct fx_rec genesis;
};

void fx_member_init(struct fx_member *m);
/* Creates the registry and its genesis record (not stored anywhere yet). */
void fx_network(struct fx *f, const char *name);
/* Fills b's header for member m's next record, encodes and signs it; advances m. */
struct fx_rec fx_sign(struct fx *f, struct fx_member *m, struct kk_body *b);
void fx_rec_free(struct fx_rec *r);
/* m's RotateKey to new_pk, its proof signed by proof_sk (new_sk's own when NULL: a
 * forged one otherwise); m signs with new_sk from then on. */
struct fx_rec fx_rotate(struct fx *f, struct fx_member *m, const uint8_t new_pk[32], const uint8_t new_sk[64],
                        const uint8_t *proof_sk);
/* Releases what fx_network allocated. */
void fx_free(struct fx *f);
/* Opens a store in dir and installs the genesis. */
struct store *fx_store(struct fx *f, const char *dir);
/* Ingests one record; returns the ingest result or the batch error. */
int fx_ingest(struct store *s, const struct fx_rec *r, int flags);
/* Verdict of a record: 1 valid, 2 invalid (*err set), 0 not evaluated. */
int fx_verdict(struct store *s, const uint8_t id[32], int *err);
/* State digest. */
void fx_digest(struct store *s, uint8_t out[32]);

/* Body builders (zeroed body of the kind; caller frees with free()). */
struct kk_body *fx_body(enum kk_payload kind);
void fx_lotref(struct kk_lotref *r, const uint8_t id[32], uint32_t index);

#endif
