/*
 * hs — handshake (crypto_kx + Ed25519 over the transcript) and crypto_secretstream.
 */
#include "hs.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int hs_start(struct hs *h, int initiator, const uint8_t network[32], const uint8_t id_pk[32],
             const uint8_t id_sk[64], const uint8_t *admission, size_t admission_len,
             uint8_t **out, size_t *outlen)
{
  memset(h, 0, sizeof *h);
  h->initiator = initiator;
  memcpy(h->network, network, 32);
  memcpy(h->id_pk, id_pk, 32);
  memcpy(h->id_sk, id_sk, 64);
  if (admission && admission_len) {
    if (!(h->admission = mem_alloc(admission_len))) return -ENOMEM;
    memcpy(h->admission, admission, admission_len);
    h->admission_len = admission_len;
  }
  crypto_kx_keypair(h->eph_pk, h->eph_sk);
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_HELLO;
  w.hello.version = HS_VERSION;
  memcpy(w.hello.network, network, 32);
  memcpy(w.hello.identity, id_pk, 32);
  memcpy(w.hello.ephemeral, h->eph_pk, 32);
  h->state = HS_WAIT_HELLO;
  return codec_wire_encode(&w, out, outlen);
}

static void hs_transcript(struct hs *h)
{
  crypto_hash_sha256_state st;
  const uint8_t *iid = h->initiator ? h->id_pk : h->peer_id, *ieph = h->initiator ? h->eph_pk : h->peer_eph;
  const uint8_t *rid = h->initiator ? h->peer_id : h->id_pk, *reph = h->initiator ? h->peer_eph : h->eph_pk;
  crypto_hash_sha256_init(&st);
  crypto_hash_sha256_update(&st, (const uint8_t *)HS_TAG_TRANSCRIPT, sizeof HS_TAG_TRANSCRIPT);
  crypto_hash_sha256_update(&st, h->network, 32);
  crypto_hash_sha256_update(&st, iid, 32);
  crypto_hash_sha256_update(&st, ieph, 32);
  crypto_hash_sha256_update(&st, rid, 32);
  crypto_hash_sha256_update(&st, reph, 32);
  crypto_hash_sha256_final(&st, h->transcript);
}

/* The signed message: transcript || role ('I' initiator, 'R' responder). */
static void hs_signed(const struct hs *h, int initiator_role, uint8_t msg[33])
{
  memcpy(msg, h->transcript, 32);
  msg[32] = initiator_role ? 'I' : 'R';
}

int hs_on_hello(struct hs *h, const uint8_t *msg, size_t len, uint8_t **out, size_t *outlen)
{
  struct kk_wire w;
  int rc;
  if (h->state != HS_WAIT_HELLO) return KK_ERR(DECODE);
  h->state = HS_FAILED;
  if ((rc = codec_wire_decode(msg, len, &w))) return rc;
  if (w.kind != KK_W_HELLO) { codec_wire_free(&w); return KK_ERR(DECODE); }
  uint32_t version = w.hello.version;
  int same_net = memcmp(w.hello.network, h->network, 32) == 0;
  memcpy(h->peer_id, w.hello.identity, 32);
  memcpy(h->peer_eph, w.hello.ephemeral, 32);
  codec_wire_free(&w);
  if (version != HS_VERSION) return KK_ERR(VERSION);
  if (!same_net) return KK_ERR(NETWORK);
  if (memcmp(h->peer_id, h->id_pk, 32) == 0) return KK_ERR(FIELD);

  if (h->initiator ? crypto_kx_client_session_keys(h->rx, h->tx, h->eph_pk, h->eph_sk, h->peer_eph)
                   : crypto_kx_server_session_keys(h->rx, h->tx, h->eph_pk, h->eph_sk, h->peer_eph))
    return KK_ERR(SIGNATURE); /* a degenerate ephemeral key */
  hs_transcript(h);

  struct kk_wire a;
  uint8_t m[33];
  memset(&a, 0, sizeof a);
  a.kind = KK_W_AUTH;
  hs_signed(h, h->initiator, m);
  if ((rc = sig_sign(a.auth.signature, HS_TAG_AUTH, m, sizeof m, h->id_sk))) return rc;
  a.auth.admission = h->admission;
  a.auth.admission_len = h->admission ? h->admission_len : 0;
  crypto_secretstream_xchacha20poly1305_init_push(&h->push, a.auth.stream, h->tx);
  if ((rc = codec_wire_encode(&a, out, outlen))) return rc;
  h->state = HS_WAIT_AUTH;
  return 0;
}

int hs_on_auth(struct hs *h, const uint8_t *msg, size_t len, uint8_t **admission, size_t *admission_len)
{
  struct kk_wire w;
  int rc;
  if (h->state != HS_WAIT_AUTH) return KK_ERR(DECODE);
  h->state = HS_FAILED;
  if ((rc = codec_wire_decode(msg, len, &w))) return rc;
  if (w.kind != KK_W_AUTH) { codec_wire_free(&w); return KK_ERR(DECODE); }
  uint8_t m[33];
  hs_signed(h, !h->initiator, m);
  if ((rc = sig_verify(w.auth.signature, HS_TAG_AUTH, m, sizeof m, h->peer_id))) {
    codec_wire_free(&w);
    return rc == -ENOMEM ? rc : KK_ERR(SIGNATURE);
  }
  if (crypto_secretstream_xchacha20poly1305_init_pull(&h->pull, w.auth.stream, h->rx)) {
    codec_wire_free(&w);
    return KK_ERR(SIGNATURE);
  }
  *admission = NULL;
  *admission_len = w.auth.admission_len;
  if (w.auth.admission_len) {
    *admission = mem_alloc(w.auth.admission_len);
    if (!*admission) { codec_wire_free(&w); return -ENOMEM; }
    memcpy(*admission, w.auth.admission, w.auth.admission_len);
  }
  codec_wire_free(&w);
  h->state = HS_DONE;
  return 0;
}

int hs_seal(struct hs *h, const uint8_t *m, size_t n, uint8_t **out, size_t *outlen)
{
  if (h->state != HS_DONE) return KK_ERR(INTERNAL);
  size_t cl = n + crypto_secretstream_xchacha20poly1305_ABYTES;
  uint8_t *c = mem_alloc(cl);
  if (!c) return -ENOMEM;
  crypto_secretstream_xchacha20poly1305_push(&h->push, c, NULL, m, n, NULL, 0, 0);
  *out = c;
  *outlen = cl;
  return 0;
}

int hs_open(struct hs *h, const uint8_t *c, size_t n, uint8_t **out, size_t *outlen)
{
  if (h->state != HS_DONE) return KK_ERR(INTERNAL);
  if (n < crypto_secretstream_xchacha20poly1305_ABYTES) return KK_ERR(SIGNATURE);
  size_t ml = n - crypto_secretstream_xchacha20poly1305_ABYTES;
  uint8_t *m = mem_alloc(ml ? ml : 1), tag;
  if (!m) return -ENOMEM;
  if (crypto_secretstream_xchacha20poly1305_pull(&h->pull, m, NULL, &tag, c, n, NULL, 0) != 0) {
    mem_free(m);
    return KK_ERR(SIGNATURE);
  }
  *out = m;
  *outlen = ml;
  return 0;
}

void hs_clear(struct hs *h)
{
  mem_free(h->admission);
  sodium_memzero(h, sizeof *h);
}
