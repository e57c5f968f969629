/*
 * sig — Ed25519 signatures with domain separation, and SHA-256 (libsodium).
 *
 * Every signature Kiroku makes covers a domain tag followed by the exact bytes being
 * signed, so a signature made for one purpose (a record body, a key-rotation proof)
 * can never be replayed as another. Keys are libsodium's: a 64-byte secret key
 * (seed || public key) and a 32-byte public key.
 *
 * All functions are thread-safe once sig_init() has returned 0.
 */
#ifndef KK_SIG_H
#define KK_SIG_H

#include <stddef.h>
#include <stdint.h>

#define SIG_PK_BYTES 32
#define SIG_SK_BYTES 64
#define SIG_BYTES 64
#define SIG_HASH_BYTES 32

/* Domain tags (NUL-terminated; the NUL is part of the signed message). */
#define SIG_TAG_RECORD "kiroku/record/v1"
#define SIG_TAG_ROTATE "kiroku/rotate-key/v1"

/* Initialises libsodium. 0, or -1 when the library cannot start. */
int sig_init(void) __attribute__((warn_unused_result));

void sig_keypair(uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES]);
/* The public key of a secret key (libsodium keeps it in the secret key's second half). */
void sig_public(uint8_t pk[SIG_PK_BYTES], const uint8_t sk[SIG_SK_BYTES]);

/* Signs tag || '\0' || msg: 0, or -ENOMEM when a long message could not be assembled
 * for signing (sig is then not written). */
int sig_sign(uint8_t sig[SIG_BYTES], const char *tag, const uint8_t *msg, size_t len,
             const uint8_t sk[SIG_SK_BYTES]) __attribute__((warn_unused_result));

/* 0 when sig is pk's signature over tag || '\0' || msg, -1 when it is not (including
 * for malformed keys), -ENOMEM when a long message could not be assembled for checking
 * — not a verdict on the signature: the caller retries or reports, never judges. */
int sig_verify(const uint8_t sig[SIG_BYTES], const char *tag, const uint8_t *msg,
               size_t len, const uint8_t pk[SIG_PK_BYTES]) __attribute__((warn_unused_result));

void sig_sha256(uint8_t out[SIG_HASH_BYTES], const uint8_t *msg, size_t len);

/* Lower-case hex of n bytes into out (2n+1 bytes, NUL-terminated). */
void sig_hex(char *out, const uint8_t *in, size_t n);

/* Parses exactly 2n hex digits into n bytes. 0, or -1 on any other input. */
int sig_unhex(uint8_t *out, size_t n, const char *hex) __attribute__((warn_unused_result));

#endif
