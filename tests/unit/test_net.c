/*
 * Framing, the handshake and the encrypted channel, without sockets.
 */
#include "test.h"
#include "../../crypto/sig.h"
#include "../../node/base/err.h"
#include "../../node/daemon/frame.h"
#include "../../node/daemon/hs.h"
#include "../../node/base/buf.h"
#include "../../proto/codec.h"
#include "fixture.h"

struct frames { size_t n; size_t lens[64]; uint8_t first[64]; };

static int collect(void *ctx, uint8_t *f, size_t len)
{
  struct frames *fr = ctx;
  fr->lens[fr->n] = len;
  fr->first[fr->n] = f[0];
  fr->n++;
  return 0;
}

TEST(frame_any_slicing)
{
  /* 20 frames of assorted sizes, fed in every slice size from 1 to 97 bytes. */
  uint8_t stream[20 * (4 + 3000)];
  size_t len = 0;
  for (int i = 0; i < 20; i++) {
    size_t fl = 1 + (size_t)i * 150;
    frame_header(stream + len, fl);
    memset(stream + len + 4, i + 1, fl);
    len += 4 + fl;
  }
  for (size_t slice = 1; slice < 98; slice++) {
    struct frame_rd rd;
    struct frames fr = { 0 };
    frame_rd_init(&rd, 4096);
    for (size_t at = 0; at < len; at += slice)
      ASSERT_OK(frame_feed(&rd, stream + at, len - at < slice ? len - at : slice, collect, &fr));
    ASSERT_EQ(fr.n, 20);
    for (int i = 0; i < 20; i++) { ASSERT_EQ(fr.lens[i], 1 + i * 150); ASSERT_EQ(fr.first[i], i + 1); }
    frame_rd_free(&rd);
  }
}

TEST(frame_limits)
{
  struct frame_rd rd;
  struct frames fr = { 0 };
  uint8_t big[4] = { 0x7f, 0xff, 0xff, 0xff }, zero[4] = { 0 };
  frame_rd_init(&rd, 1024);
  ASSERT_EQ(frame_feed(&rd, big, 4, collect, &fr), KK_ERR(TOO_LARGE)); /* refused before allocating */
  frame_rd_free(&rd);
  frame_rd_init(&rd, 1024);
  ASSERT_EQ(frame_feed(&rd, zero, 4, collect, &fr), KK_ERR(DECODE));
  frame_rd_free(&rd);
  ASSERT_EQ(fr.n, 0);
}

struct party { struct hs h; uint8_t pk[32], sk[64]; };

static void handshake(struct party *a, struct party *b, const uint8_t net_a[32], const uint8_t net_b[32], int *rc_b_hello)
{
  uint8_t *ha, *hb, *aa, *ab, *adm;
  size_t la, lb, laa, lab, admlen;
  sig_keypair(a->pk, a->sk);
  sig_keypair(b->pk, b->sk);
  ASSERT_OK(hs_start(&a->h, 1, net_a, a->pk, a->sk, (const uint8_t *)"ADMIT", 5, &ha, &la));
  ASSERT_OK(hs_start(&b->h, 0, net_b, b->pk, b->sk, NULL, 0, &hb, &lb));
  int r = hs_on_hello(&b->h, ha, la, &ab, &lab);
  if (rc_b_hello) { *rc_b_hello = r; free(ha); free(hb); if (!r) free(ab); return; }
  ASSERT_OK(r);
  ASSERT_OK(hs_on_hello(&a->h, hb, lb, &aa, &laa));
  ASSERT_OK(hs_on_auth(&b->h, aa, laa, &adm, &admlen));
  ASSERT_EQ(admlen, 5);
  ASSERT(memcmp(adm, "ADMIT", 5) == 0);
  free(adm);
  ASSERT_OK(hs_on_auth(&a->h, ab, lab, &adm, &admlen));
  ASSERT_EQ(admlen, 0);
  ASSERT(memcmp(a->h.peer_id, b->pk, 32) == 0 && memcmp(b->h.peer_id, a->pk, 32) == 0);
  free(ha); free(hb); free(aa); free(ab);
}

TEST(hs_channel_and_tampering)
{
  struct party a, b;
  uint8_t net[32];
  memset(net, 7, 32);
  handshake(&a, &b, net, net, NULL);
  uint8_t *c1, *c2, *m;
  size_t l1, l2, ml;
  ASSERT_OK(hs_seal(&a.h, (const uint8_t *)"hello", 5, &c1, &l1));
  ASSERT_OK(hs_seal(&a.h, (const uint8_t *)"world", 5, &c2, &l2));
  /* tampered */
  c1[3] ^= 1;
  ASSERT_EQ(hs_open(&b.h, c1, l1, &m, &ml), KK_ERR(SIGNATURE));
  c1[3] ^= 1;
  /* a failed open leaves the state where it was: the genuine frame still opens */
  ASSERT_OK(hs_open(&b.h, c1, l1, &m, &ml));
  ASSERT(ml == 5 && memcmp(m, "hello", 5) == 0);
  free(m);
  /* replayed */
  ASSERT_EQ(hs_open(&b.h, c1, l1, &m, &ml), KK_ERR(SIGNATURE));
  ASSERT_OK(hs_open(&b.h, c2, l2, &m, &ml));
  free(m);
  /* the other direction has its own key */
  uint8_t *c3;
  size_t l3;
  ASSERT_OK(hs_seal(&b.h, (const uint8_t *)"back", 4, &c3, &l3));
  ASSERT_EQ(hs_open(&b.h, c3, l3, &m, &ml), KK_ERR(SIGNATURE));
  ASSERT_OK(hs_open(&a.h, c3, l3, &m, &ml));
  free(m);
  free(c1); free(c2); free(c3);
  hs_clear(&a.h);
  hs_clear(&b.h);
}

TEST(hs_refusals)
{
  struct party a, b;
  uint8_t net1[32], net2[32];
  int rc;
  memset(net1, 1, 32);
  memset(net2, 2, 32);
  handshake(&a, &b, net1, net2, &rc);
  ASSERT_EQ(rc, KK_ERR(NETWORK));
  hs_clear(&a.h);
  hs_clear(&b.h);

  /* An AUTH signed by someone else than the HELLO's identity fails. */
  struct party c, d, e;
  uint8_t *hc, *hd, *ac, *ad, *he, *ae, *adm;
  size_t lc, ld, lac, lad, le, lae, al;
  sig_keypair(c.pk, c.sk);
  sig_keypair(d.pk, d.sk);
  sig_keypair(e.pk, e.sk);
  ASSERT_OK(hs_start(&c.h, 1, net1, c.pk, c.sk, NULL, 0, &hc, &lc));
  ASSERT_OK(hs_start(&d.h, 0, net1, d.pk, d.sk, NULL, 0, &hd, &ld));
  ASSERT_OK(hs_start(&e.h, 1, net1, e.pk, e.sk, NULL, 0, &he, &le));
  ASSERT_OK(hs_on_hello(&d.h, hc, lc, &ad, &lad));
  ASSERT_OK(hs_on_hello(&c.h, hd, ld, &ac, &lac));
  ASSERT_OK(hs_on_hello(&e.h, hd, ld, &ae, &lae)); /* e answers d's HELLO with its own AUTH */
  ASSERT_EQ(hs_on_auth(&d.h, ae, lae, &adm, &al), KK_ERR(SIGNATURE));
  /* out of turn: AUTH where a HELLO is expected */
  struct party f;
  uint8_t *hf;
  size_t lf;
  sig_keypair(f.pk, f.sk);
  ASSERT_OK(hs_start(&f.h, 0, net1, f.pk, f.sk, NULL, 0, &hf, &lf));
  ASSERT(hs_on_hello(&f.h, ac, lac, &adm, &al) != 0);
  /* a loop back to ourselves */
  struct hs self;
  uint8_t *hs1, *x;
  size_t l1, lx;
  ASSERT_OK(hs_start(&self, 1, net1, c.pk, c.sk, NULL, 0, &hs1, &l1));
  ASSERT_EQ(hs_on_hello(&self, hc, lc, &x, &lx), KK_ERR(FIELD));
  free(hc); free(hd); free(ac); free(ad); free(he); free(ae); free(hf); free(hs1);
  hs_clear(&c.h); hs_clear(&d.h); hs_clear(&e.h); hs_clear(&f.h); hs_clear(&self);
}

TEST(wire_roundtrip_and_caps)
{
  struct kk_feedhead heads[3];
  for (int i = 0; i < 3; i++) { memset(heads[i].author, i, 32); heads[i].seq = (uint64_t)i * 1000; }
  struct kk_wire w, d;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_HAVE;
  w.have.n = 3;
  w.have.feeds = heads;
  uint8_t *buf;
  size_t n;
  ASSERT_OK(codec_wire_encode(&w, &buf, &n));
  ASSERT_OK(codec_wire_decode(buf, n, &d));
  ASSERT_EQ(d.kind, KK_W_HAVE);
  ASSERT_EQ(d.have.n, 3);
  ASSERT_U64(d.have.feeds[2].seq, 2000);
  codec_wire_free(&d);
  free(buf);
  /* a WANT whose author is not 32 bytes */
  uint8_t bad[] = { 0x22, 0x04, 0x0a, 0x02, 0x01, 0x02 };
  ASSERT_EQ(codec_wire_decode(bad, sizeof bad, &d), KK_ERR(FIELD));
  uint8_t junk[] = { 0xff, 0xff, 0xff };
  ASSERT_EQ(codec_wire_decode(junk, sizeof junk, &d), KK_ERR(DECODE));
  ASSERT_EQ(codec_wire_decode(junk, CODEC_WIRE_MAX + 1, &d), KK_ERR(TOO_LARGE));
}

/* Runs a handshake where a's identity is feed `id` and it signs with sk, carrying its
 * RotateKey records; returns what b says of a's AUTH. */
static int rotated_handshake(const uint8_t id[32], const uint8_t sk[64], struct fx_rec *rots, size_t n)
{
  struct hs a, b;
  uint8_t net[32], bpk[32], bsk[64], *ha, *hb, *aa, *ab, *adm = NULL;
  size_t la, lb, laa, lab, admlen;
  const uint8_t *envs[4];
  size_t lens[4];
  memset(net, 9, 32);
  sig_keypair(bpk, bsk);
  for (size_t i = 0; i < n; i++) { envs[i] = rots[i].env; lens[i] = rots[i].len; }
  ASSERT_OK(hs_start(&a, 1, net, id, sk, NULL, 0, &ha, &la));
  ASSERT_OK(hs_set_rotations(&a, envs, lens, n));
  ASSERT_OK(hs_start(&b, 0, net, bpk, bsk, NULL, 0, &hb, &lb));
  ASSERT_OK(hs_on_hello(&b, ha, la, &ab, &lab));
  ASSERT_OK(hs_on_hello(&a, hb, lb, &aa, &laa));
  int rc = hs_on_auth(&b, aa, laa, &adm, &admlen);
  free(adm); free(ha); free(hb); free(aa); free(ab);
  hs_clear(&a);
  hs_clear(&b);
  return rc;
}

TEST(hs_rotated_key)
{
  struct fx f;
  struct fx_member m;
  uint8_t first[32], k2[32], s2[64], k3[32], s3[64], other[32], os[64];
  fx_network(&f, "rot");
  fx_member_init(&m);
  memcpy(first, m.pk, 32);
  sig_keypair(k2, s2);
  sig_keypair(k3, s3);
  sig_keypair(other, os);
  struct fx_rec r[3];
  r[0] = fx_rotate(&f, &m, k2, s2, NULL);          /* signed by the first key */
  r[1] = fx_rotate(&f, &m, k3, s3, NULL);          /* signed by k2 */
  /* The chain leads to k3: AUTH by k3 holds; by k2, or by k3 without the chain, not. */
  ASSERT_OK(rotated_handshake(first, s3, r, 2));
  ASSERT_EQ(rotated_handshake(first, s2, r, 2), KK_ERR(SIGNATURE));
  ASSERT_EQ(rotated_handshake(first, s3, NULL, 0), KK_ERR(SIGNATURE));
  ASSERT_OK(rotated_handshake(first, s2, r, 1));
  /* Out of order, or one whose proof another key made: refused. */
  struct fx_rec swapped[2] = { r[1], r[0] };
  ASSERT_EQ(rotated_handshake(first, s3, swapped, 2), KK_ERR(SIGNATURE));
  struct fx_member m2;
  fx_member_init(&m2);
  uint8_t first2[32];
  memcpy(first2, m2.pk, 32);
  r[2] = fx_rotate(&f, &m2, other, os, s2);
  ASSERT_EQ(rotated_handshake(first2, os, &r[2], 1), KK_ERR(SIGNATURE));
  /* Another member's rotation does not speak for this identity. */
  ASSERT_EQ(rotated_handshake(first2, s2, r, 1), KK_ERR(SIGNATURE));
  for (int i = 0; i < 3; i++) fx_rec_free(&r[i]);
  fx_free(&f);
}
