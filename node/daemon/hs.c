/*
 * hs — handshake (crypto_kx + Ed25519 over the transcript) and crypto_secretstream.
 */
#include "hs.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../base/buf.h"
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

int hs_set_rotations(struct hs *h, const uint8_t *const *envs, const size_t *lens, size_t n)
{
  size_t total = 0;
  if (n > CODEC_ROTATIONS_MAX) return KK_ERR(TOO_LARGE);
  for (size_t i = 0; i < n; i++) total += lens[i];
  mem_free(h->rotations);
  h->rotations = NULL;
  h->n_rotations = 0;
  if (!n) return 0;
  if (!(h->rotations = mem_alloc(total))) return -ENOMEM;
  for (size_t i = 0, at = 0; i < n; at += lens[i++]) {
    memcpy(h->rotations + at, envs[i], lens[i]);
    h->rotation_len[i] = lens[i];
  }
  h->n_rotations = n;
  return 0;
}

/* The key the peer's RotateKey records lead to from its identity key: each must be a
 * RotateKey of the peer's own feed, later than the one before, signed by the key so far,
 * its proof by the new key. 0 with *key set, KK_E_SIGNATURE, or -ENOMEM. */
static int hs_rotated_key(const struct hs *h, const struct kk_wire *w, uint8_t key[32], uint64_t *seq)
{
  struct kk_body *b = mem_alloc(sizeof *b);
  uint64_t last = 0;
  int rc = 0;
  if (!b) return -ENOMEM;
  memcpy(key, h->peer_id, 32);
  for (size_t i = 0; i < w->auth.n_rotations && rc == 0; i++) {
    struct kk_envelope_view ev;
    uint8_t msg[40];
    if (codec_envelope_split(w->auth.rotations[i].env, w->auth.rotations[i].len, &ev) ||
        codec_body_decode(ev.body, ev.body_len, b) || b->kind != KK_PL_ROTATE_KEY ||
        memcmp(b->author, h->peer_id, 32) != 0 || b->seq <= last) {
      rc = KK_ERR(SIGNATURE);
      break;
    }
    memcpy(msg, b->author, 32);
    be64_put(msg + 32, b->seq);
    if ((rc = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, key)) ||
        (rc = sig_verify(b->u.rotate_key.proof, SIG_TAG_ROTATE, msg, sizeof msg, b->u.rotate_key.new_key))) {
      if (rc != -ENOMEM) rc = KK_ERR(SIGNATURE);
      break;
    }
    memcpy(key, b->u.rotate_key.new_key, 32);
    last = b->seq;
  }
  mem_free(b);
  *seq = last;
  return rc;
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
  for (size_t i = 0, at = 0; i < h->n_rotations; at += h->rotation_len[i++]) {
    a.auth.rotations[i].env = h->rotations + at;
    a.auth.rotations[i].len = h->rotation_len[i];
  }
  a.auth.n_rotations = h->n_rotations;
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
  uint8_t m[33], key[32];
  hs_signed(h, !h->initiator, m);
  if ((rc = hs_rotated_key(h, &w, key, &h->peer_key_seq)) || (rc = sig_verify(w.auth.signature, HS_TAG_AUTH, m, sizeof m, key))) {
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
  memcpy(h->peer_key, key, 32);
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
  mem_free(h->rotations);
  sodium_memzero(h, sizeof *h);
}
