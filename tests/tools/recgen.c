/*
 * recgen — record signing for the test tools.
 */
#include "recgen.h"
#include "../../crypto/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

void gen_member_init(struct gen_member *m)
{
  memset(m, 0, sizeof *m);
  sig_keypair(m->pk, m->sk);
}

void gen_sign(struct gen_member *m, const uint8_t network[32], struct kk_body *b,
              uint8_t **env, size_t *len, uint8_t id[32])
{
  uint8_t *body, sig[64];
  size_t blen;
  b->version = CODEC_VERSION;
  b->has_network = b->kind != KK_PL_GENESIS;
  if (b->has_network) memcpy(b->network, network, 32);
  memcpy(b->author, m->pk, 32);
  b->seq = ++m->seq;
  b->has_prev = b->seq > 1;
  memcpy(b->prev, m->last, 32);
  /* The signer's clock, as a member's node would stamp it: informational only, so
   * tests run at any date (tests/net/dates.sh shifts it). */
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  b->time_ms = (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
  if (codec_body_encode(b, &body, &blen)) { fprintf(stderr, "recgen: encode failed\n"); exit(1); }
  if (sig_sign(sig, SIG_TAG_RECORD, body, blen, m->sk)) { fprintf(stderr, "recgen: signing failed\n"); exit(1); }
  if (codec_envelope_join(body, blen, sig, env, len)) { fprintf(stderr, "recgen: envelope failed\n"); exit(1); }
  free(body);
  sig_sha256(m->last, *env, *len);
  if (id) memcpy(id, m->last, 32);
}

void gen_issue(struct kk_body *b, const char *code, uint64_t mass)
{
  memset(b, 0, sizeof *b);
  b->kind = KK_PL_ISSUE;
  snprintf(b->u.issue.lot_code, sizeof b->u.issue.lot_code, "%s", code);
  strcpy(b->u.issue.material, "PET");
  b->u.issue.mass_mg = mass;
  b->u.issue.post_mg = mass / 2;
  strcpy(b->u.issue.origin, "JP");
  strcpy(b->u.issue.scheme, "GRS");
  snprintf(b->u.issue.certificate, sizeof b->u.issue.certificate, "C-%s", code);
  b->u.issue.model = KK_MODEL_SEGREGATED;
}
