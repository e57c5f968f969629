/*
 * Fuzz target: proof verification with hostile sizes, indexes and proof lengths
 * (it must terminate and never read past the proof).
 */
#include "../../crypto/merkle.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static uint64_t u64(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  if (size < 24 + 64) return 0;
  uint64_t a = u64(data), b = u64(data + 8), c = u64(data + 16);
  const uint8_t *h1 = data + 24, *h2 = data + 56;
  size_t n = (size - 88) / 32;
  uint8_t (*proof)[32] = malloc(n ? n * 32 : 1);
  if (!proof) return 0;
  memcpy(proof, data + 88, n * 32);
  (void)merkle_verify_inclusion(a, b, h1, (const uint8_t(*)[32])proof, n, h2);
  (void)merkle_verify_consistency(a, b, h1, h2, (const uint8_t(*)[32])proof, n);
  (void)merkle_verify_subtree_inclusion(a, b, c, h1, (const uint8_t(*)[32])proof, n, h2);
  (void)merkle_verify_subtree_consistency(a, b, c, h1, h2, (const uint8_t(*)[32])proof, n);
  free(proof);
  return 0;
}
