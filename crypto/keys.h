/*
 * keys — the node's identity key file.
 *
 * The identity is an Ed25519 key pair stored as `identity.key` in the data directory:
 * one line, "kiroku-ed25519-v1 " followed by the 64-byte secret key in hex, file mode
 * 0600. A key file that group or others can read is refused (KK_E_KEY_PERMS), as ssh
 * does, because whoever reads it can sign as the member.
 */
#ifndef KK_KEYS_H
#define KK_KEYS_H

#include <stdint.h>
#include "sig.h"

#define KEYS_FILE "identity.key"

/* Creates DIR/identity.key with a fresh key pair (O_EXCL: never overwrites; fails with
 * KK_E_EXISTS if present). Fills pk (and sk when not NULL). 0 or negative code. */
int keys_create(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES]);

/* Loads DIR/identity.key. Returns 0, KK_E_NO_KEY when absent, KK_E_KEY_PERMS when the
 * mode admits group/other access, KK_E_CORRUPT when malformed, or -errno. The secret
 * key is the caller's to wipe (sodium_memzero) when done. */
int keys_load(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES]);

#endif
