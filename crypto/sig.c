/*
 * sig — Ed25519 with domain separation and SHA-256, on libsodium.
 */
#include "sig.h"
#include "../node/base/mem.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

int sig_init(void)
{
  return sodium_init() < 0 ? -1 : 0;
}

void sig_keypair(uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES])
{
  crypto_sign_keypair(pk, sk);
}

/* tag || '\0' || msg, in a stack buffer for the common small case. */
#define SIG_STACK_MSG 1024

static uint8_t *sig_message(uint8_t *stackbuf, const char *tag, const uint8_t *msg,
                            size_t len, size_t *outlen)
{
  size_t tlen = strlen(tag) + 1;
  uint8_t *m = tlen + len <= SIG_STACK_MSG ? stackbuf : mem_alloc(tlen + len);
  if (!m) return NULL;
  memcpy(m, tag, tlen);
  if (len) memcpy(m + tlen, msg, len);
  *outlen = tlen + len;
  return m;
}

void sig_public(uint8_t pk[SIG_PK_BYTES], const uint8_t sk[SIG_SK_BYTES])
{
  crypto_sign_ed25519_sk_to_pk(pk, sk);
}

int sig_sign(uint8_t sig[SIG_BYTES], const char *tag, const uint8_t *msg, size_t len,
             const uint8_t sk[SIG_SK_BYTES])
{
  uint8_t stackbuf[SIG_STACK_MSG];
  size_t mlen;
  uint8_t *m = sig_message(stackbuf, tag, msg, len, &mlen);
  if (!m) return -ENOMEM; /* the caller's error to report: never the process's end */
  crypto_sign_detached(sig, NULL, m, mlen, sk);
  if (m != stackbuf) mem_free(m);
  return 0;
}

int sig_verify(const uint8_t sig[SIG_BYTES], const char *tag, const uint8_t *msg,
               size_t len, const uint8_t pk[SIG_PK_BYTES])
{
  uint8_t stackbuf[SIG_STACK_MSG];
  size_t mlen;
  uint8_t *m = sig_message(stackbuf, tag, msg, len, &mlen);
  if (!m) return -ENOMEM;
  int rc = crypto_sign_verify_detached(sig, m, mlen, pk);
  if (m != stackbuf) mem_free(m);
  return rc == 0 ? 0 : -1;
}

void sig_sha256(uint8_t out[SIG_HASH_BYTES], const uint8_t *msg, size_t len)
{
  crypto_hash_sha256(out, msg, len);
}

void sig_hex(char *out, const uint8_t *in, size_t n)
{
  static const char digits[] = "0123456789abcdef";
  for (size_t i = 0; i < n; i++) {
    out[2 * i] = digits[in[i] >> 4];
    out[2 * i + 1] = digits[in[i] & 15];
  }
  out[2 * n] = 0;
}

static int sig_hexval(char c)
{
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

int sig_unhex(uint8_t *out, size_t n, const char *hex)
{
  if (strlen(hex) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    int hi = sig_hexval(hex[2 * i]), lo = sig_hexval(hex[2 * i + 1]);
    if (hi < 0 || lo < 0) return -1;
    out[i] = (uint8_t)(hi << 4 | lo);
  }
  return 0;
}
