/*
 * Fuzz target: evidence of equivocation from peers and from files (verify-evidence) —
 * the canonical Equivocation decoding, both records or both checkpoints, signatures.
 */
#include "../../node/ledger/evidence.h"
#include "../../proto/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct kk_equivocation e;
  struct evidence_info info;
  static const uint8_t key[32];
  if (codec_equivocation_decode(data, size, &e) == 0) codec_equivocation_free(&e);
  (void)evidence_check(data, size, NULL, &info);
  (void)evidence_check(data, size, key, &info);
  return 0;
}
