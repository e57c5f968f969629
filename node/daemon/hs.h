/*
 * hs — the peer handshake and the encrypted channel that follows it (libsodium).
 *
 *   both sides:  HELLO {version, network id, identity key, ephemeral X25519 key}
 *   both sides:  AUTH  {Ed25519 signature by the identity key over the transcript and
 *                       the sender's role, the sender's Admit record, the
 *                       crypto_secretstream header of the sender's direction}
 *
 * transcript = SHA-256("kiroku/handshake/v1" || network || initiator identity ||
 * initiator ephemeral || responder identity || responder ephemeral). Session keys come
 * from crypto_kx over the ephemeral keys (the initiator is the kx client), one per
 * direction; every later frame is a crypto_secretstream message, so a tampered,
 * replayed, reordered or dropped frame fails to open. A peer on another network, with
 * a bad signature, or speaking out of turn fails here; whether it is an admitted,
 * unsuspended member is the caller's check (hs gives it the peer's key and Admit).
 *
 * Pure state machine: no I/O, no libuv. One struct per connection, one thread.
 */
#ifndef KK_HS_H
#define KK_HS_H

#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include "../base/version.h"
#include "../../proto/codec.h"

#define HS_VERSION KIROKU_HANDSHAKE_VERSION
#define HS_TAG_TRANSCRIPT "kiroku/handshake/v1"
#define HS_TAG_AUTH "kiroku/handshake-auth/v1"

enum hs_state { HS_WAIT_HELLO = 1, HS_WAIT_AUTH, HS_DONE, HS_FAILED };

struct hs {
  enum hs_state state;
  int initiator;
  uint8_t network[32];
  uint8_t id_pk[32], id_sk[64];
  uint8_t eph_pk[32], eph_sk[32];
  uint8_t peer_id[32], peer_eph[32];
  uint8_t transcript[32];
  uint8_t rx[32], tx[32];
  crypto_secretstream_xchacha20poly1305_state push, pull;
  uint8_t *admission;        /* our Admit record, a copy (NULL for the registry) */
  size_t admission_len;
  uint8_t *rotations;        /* our RotateKey records, oldest first, copies end to end */
  size_t rotation_len[CODEC_ROTATIONS_MAX], n_rotations;
  uint8_t peer_key[32];      /* after AUTH: the key the peer signed it with */
  uint64_t peer_key_seq;     /* ... the seq of the RotateKey that led to it (0: its first key) */
};

/* Starts a handshake; *out (mem_alloc'd, the caller frees) is our HELLO message, to send
 * framed. The identity secret key and the admission are copied (released by hs_clear).
 * 0 or -ENOMEM. */
int hs_start(struct hs *h, int initiator, const uint8_t network[32], const uint8_t id_pk[32],
             const uint8_t id_sk[64], const uint8_t *admission, size_t admission_len,
             uint8_t **out, size_t *outlen);

/* After hs_start, before the peer's HELLO: our identity's key was rotated (kiroku
 * rotate-key), so AUTH carries our RotateKey records (n at most CODEC_ROTATIONS_MAX,
 * oldest first, each envs[i] of lens[i] bytes; copied) and is signed with id_sk, the
 * key they lead to. 0, KK_E_TOO_LARGE or -ENOMEM. */
int hs_set_rotations(struct hs *h, const uint8_t *const *envs, const size_t *lens, size_t n);

/* Handles the peer's HELLO (decoded message bytes); *out is our AUTH to send.
 * KK_E_VERSION, KK_E_NETWORK (another network), KK_E_FIELD (our own key: a loop back
 * to ourselves), KK_E_DECODE (not a HELLO, or out of turn). */
int hs_on_hello(struct hs *h, const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen);

/* Handles the peer's AUTH. On 0 the channel is open; *admission and *admission_len point
 * into a copy owned by the caller (free it). The signature must be by the peer's
 * identity key, or by the key its RotateKey records lead to (each signed by the key
 * before it, its proof by the next, for the peer's own feed in seq order).
 * KK_E_SIGNATURE, KK_E_DECODE. */
int hs_on_auth(struct hs *h, const uint8_t *msg, size_t len, uint8_t **admission, size_t *admission_len);

/* Encrypts / decrypts one frame's payload into a new mem_alloc'd buffer. open fails with
 * KK_E_SIGNATURE on any tampering, replay or reordering. */
int hs_seal(struct hs *h, const uint8_t *m, size_t n, uint8_t **out, size_t *outlen);
int hs_open(struct hs *h, const uint8_t *c, size_t n, uint8_t **out, size_t *outlen);

/* Wipes every secret and frees the admission copy. Safe on a zeroed struct. */
void hs_clear(struct hs *h);

#endif
