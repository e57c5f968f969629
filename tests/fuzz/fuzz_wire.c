/*
 * Fuzz target: a peer-protocol message (the plaintext of a frame).
 */
#include "../../proto/codec.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct kk_wire w;
  if (codec_wire_decode(data, size, &w) == 0) {
    uint8_t *again;
    size_t n;
    if (codec_wire_encode(&w, &again, &n) == 0) free(again);
    codec_wire_free(&w);
  }
  return 0;
}
