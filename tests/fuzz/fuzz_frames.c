/*
 * Fuzz target: the frame reader over an arbitrary byte stream, fed in slices whose
 * sizes come from the input itself, and the handshake state machine fed each frame.
 */
#include "../../node/daemon/frame.h"
#include "../../node/daemon/hs.h"
#include "../../crypto/sig.h"

#include <sodium.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int on_frame(void *ctx, uint8_t *f, size_t len)
{
  struct hs *h = ctx;
  uint8_t *out = NULL, *adm = NULL;
  size_t ol, al;
  if (h->state == HS_WAIT_HELLO) {
    if (hs_on_hello(h, f, len, &out, &ol) == 0) free(out);
  } else if (h->state == HS_WAIT_AUTH) {
    if (hs_on_auth(h, f, len, &adm, &al) == 0) free(adm);
  } else if (h->state == HS_DONE) {
    if (hs_open(h, f, len, &out, &ol) == 0) free(out);
  }
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int ready;
  static uint8_t pk[32], sk[64], net[32];
  if (!ready) {
    if (sig_init()) abort();
    memset(sk, 1, 32);
    crypto_sign_seed_keypair(pk, sk, sk); /* fixed identity: reproducible runs */
    ready = 1;
  }
  if (size < 1) return 0;
  struct hs h;
  uint8_t *hello;
  size_t hl;
  if (hs_start(&h, data[0] & 1, net, pk, sk, NULL, 0, &hello, &hl)) return 0;
  free(hello);
  struct frame_rd rd;
  frame_rd_init(&rd, 1 << 16);
  size_t slice = 1 + (data[0] >> 1), at = 1;
  while (at < size) {
    size_t take = size - at < slice ? size - at : slice;
    if (frame_feed(&rd, data + at, take, on_frame, &h)) break;
    at += take;
  }
  frame_rd_free(&rd);
  hs_clear(&h);
  return 0;
}
