/*
 * Fuzz target: a record from the network or a file — envelope, then body.
 * Whatever the bytes, decoding must return cleanly; an accepted body must re-encode to
 * exactly the bytes it came from (the canonical-form promise).
 */
#include "../../proto/codec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct kk_envelope_view ev;
  struct kk_body *b = malloc(sizeof *b);
  if (!b) return 0;
  const uint8_t *body = data;
  size_t blen = size;
  if (codec_envelope_split(data, size, &ev) == 0) { body = ev.body; blen = ev.body_len; }
  if (codec_body_decode(body, blen, b) == 0) {
    uint8_t *again;
    size_t n;
    if (codec_body_encode(b, &again, &n) == 0) {
      if (n != blen || memcmp(again, body, n) != 0) abort(); /* canonical form broken */
      free(again);
    }
  }
  free(b);
  return 0;
}
