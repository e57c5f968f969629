/*
 * Fuzz target: proof bundles from files (verify-bundle) — the canonical Bundle and
 * BundleBody decoding, then the checks against a genesis record, in a scratch store.
 */
#include "../../crypto/sig.h"
#include "../../node/ledger/bundle.h"
#include "../../proto/codec.h"
#include "scratch.h"

#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static uint8_t *genesis;
static size_t genesis_len;
/* A fixed genesis record (deterministic key), made once. */
static void setup(void)
{
  uint8_t seed[32] = { 7 }, pk[32], sk[64], sig[64], *body;
  size_t blen;
  if (sodium_init() < 0) abort();
  crypto_sign_seed_keypair(pk, sk, seed);
  struct kk_body *b = calloc(1, sizeof *b);
  b->version = CODEC_VERSION;
  b->kind = KK_PL_GENESIS;
  memcpy(b->author, pk, 32);
  b->seq = 1;
  strcpy(b->u.genesis.name, "fuzz");
  if (codec_body_encode(b, &body, &blen)) abort();
  if (sig_sign(sig, SIG_TAG_RECORD, body, blen, sk)) abort();
  if (codec_envelope_join(body, blen, sig, &genesis, &genesis_len)) abort();
  free(body);
  free(b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (!genesis) setup();
  struct store *scratch = fuzz_scratch_store();
  struct kk_bundle bd;
  if (codec_bundle_decode(data, size, &bd) == 0) codec_bundle_free(&bd);
  uint8_t lot[36];
  struct bundle_info info;
  char why[300];
  (void)bundle_verify(data, size, genesis, genesis_len, 1, scratch, lot, &info, why, sizeof why);
  return 0;
}
