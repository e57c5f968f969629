/*
 * keys — the node's identity key file.
 *
 * The identity is an Ed25519 key pair stored as `identity.key` in the data directory:
 * one line, "kiroku-ed25519-v1 " followed by the 64-byte secret key in hex, file mode
 * 0600. After `kiroku rotate-key` the key signing the member's feed is no longer the
 * feed's id (its first key), and a second line "feed " + the id in hex names it. A key file that group or others can read is refused (KK_E_KEY_PERMS), as ssh
 * does, because whoever reads it can sign as the member.
 */
#ifndef KK_KEYS_H
#define KK_KEYS_H

#include <stdint.h>
#include "sig.h"

#define KEYS_FILE "identity.key"
#define KEYS_NEXT "identity.key.next"   /* a rotation's new key until its record is committed */

/* Creates DIR/identity.key with a fresh key pair (O_EXCL: never overwrites; fails with
 * KK_E_EXISTS if present). Fills pk (and sk when not NULL). 0 or negative code. */
int keys_create(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES]);

/* Loads DIR/identity.key: pk is the member's feed id (its key before any rotation), sk
 * the key that signs now. Returns 0, KK_E_NO_KEY when absent, KK_E_KEY_PERMS when the
 * mode admits group/other access, KK_E_CORRUPT when malformed, or -errno. The secret
 * key is the caller's to wipe (sodium_memzero) when done. */
int keys_load(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES]);

/* A key rotation in two steps (kiroku rotate-key): keys_next_write keeps the new key in
 * DIR/identity.key.next before the RotateKey record is written; keys_next_settle, given
 * the key the store says signs the feed now, makes it the identity when the record was
 * committed (1) or drops it when it was not (0). Run settle before loading the key
 * wherever a store is opened for the member's own writes: a rotation interrupted between
 * the commit and the rename is finished there. Negative codes on I/O errors. */
int keys_next_write(const char *dir, const uint8_t feed[SIG_PK_BYTES], const uint8_t sk[SIG_SK_BYTES]);
int keys_next_settle(const char *dir, const uint8_t signer_now[SIG_PK_BYTES]);

#endif
