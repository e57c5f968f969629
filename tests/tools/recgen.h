/*
 * recgen — signs records for the test tools (kkgen, bench) without a store.
 */
#ifndef KK_RECGEN_H
#define KK_RECGEN_H

#include <stddef.h>
#include <stdint.h>
#include "../../proto/codec.h"

struct gen_member { uint8_t pk[32], sk[64]; uint64_t seq; uint8_t last[32]; };

void gen_member_init(struct gen_member *m);
/* Fills b's header as m's next record in network, signs it into a malloc'd envelope
 * (*env, *len; the caller frees) and advances m. id gets the record id. Exits the
 * process on failure: these are test tools. */
void gen_sign(struct gen_member *m, const uint8_t network[32], struct kk_body *b,
              uint8_t **env, size_t *len, uint8_t id[32]);
/* Issue body for code with mass (half post-consumer). */
void gen_issue(struct kk_body *b, const char *code, uint64_t mass);

#endif
