/*
 * Fuzz target: a record from the network or a file — envelope, then body.
 * Whatever the bytes, decoding must return cleanly; an accepted body must re-encode to
 * exactly the bytes it came from (the canonical-form promise); and the store's quick
 * reading of a record's position (codec_record_position) must agree with the full
 * decode wherever both accept the bytes; and a body restamped at another position
 * (codec_body_restamp) decodes to the same payload.
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
  int is_env = codec_envelope_split(data, size, &ev) == 0;
  if (is_env) { body = ev.body; blen = ev.body_len; }
  uint8_t author[32];
  uint64_t seq;
  int kind;
  int pos_ok = is_env && codec_record_position(data, size, author, &seq, &kind) == 0;
  if (codec_body_decode(body, blen, b) == 0) {
    /* a canonical record with an author: the quick reading must give what decoding gives */
    if (is_env && pos_ok && b->kind != 0 &&
        (memcmp(author, b->author, 32) != 0 || seq != b->seq || kind != (int)b->kind))
      abort();
    uint8_t *again;
    size_t n;
    if (codec_body_encode(b, &again, &n) == 0) {
      if (n != blen || memcmp(again, body, n) != 0) abort(); /* canonical form broken */
      free(again);
    }
    /* restamped at another position (what the node does with the CLI's body), a
     * canonical body with an author stays one, with the same payload */
    uint8_t net[32], prev[32], *re, ra[32];
    size_t rn;
    int rk;
    memset(net, 7, 32);
    memset(prev, 6, 32);
    if (b->kind != 0 && b->kind != KK_PL_GENESIS && b->seq < UINT64_MAX - 1 &&
        codec_body_restamp(body, blen, net, b->seq + 1, prev, 1, &re, &rn, ra, &rk) == 0) {
      struct kk_body *d = malloc(sizeof *d);
      if (!d) abort();
      if (codec_body_decode(re, rn, d) != 0 || d->kind != b->kind || memcmp(&d->u, &b->u, sizeof d->u) != 0 ||
          memcmp(d->author, b->author, 32) != 0 || d->seq != b->seq + 1)
        abort();
      free(d);
      free(re);
    }
  }
  free(b);
  return 0;
}
