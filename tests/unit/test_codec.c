/*
 * Codec: round trips of every payload, and rejection of everything non-canonical.
 */
#include "test.h"
#include "fixture.h"
#include "../../node/base/err.h"
#include "../../node/base/mem.h"

static struct kk_body *sample(enum kk_payload kind)
{
  struct kk_body *b = fx_body(kind);
  uint8_t id[32];
  memset(id, 0xab, 32);
  b->version = 1;
  b->has_network = 1;
  memset(b->network, 1, 32);
  memset(b->author, 2, 32);
  b->seq = 7;
  b->has_prev = 1;
  memset(b->prev, 3, 32);
  b->time_ms = 123456789;
  switch (kind) {
  case KK_PL_GENESIS: strcpy(b->u.genesis.name, "net"); break;
  case KK_PL_ADMIT: memcpy(b->u.admit.member, id, 32); strcpy(b->u.admit.name, "Ünïcode name"); b->u.admit.roles = 3;
    strcpy(b->u.admit.country, "JP"); b->u.admit.n_facilities = 2; strcpy(b->u.admit.facilities[0], "plant 1");
    strcpy(b->u.admit.facilities[1], "plant 2"); b->u.admit.has_succeeds = 1; memset(b->u.admit.succeeds, 0xcd, 32);
    b->u.admit.from_seq = 5; strcpy(b->u.admit.gln, "4012345000016"); break;
  case KK_PL_SUSPEND: memcpy(b->u.suspend.member, id, 32); b->u.suspend.from_seq = 9; strcpy(b->u.suspend.reason, "fraud"); break;
  case KK_PL_ROTATE_KEY: memcpy(b->u.rotate_key.new_key, id, 32); memset(b->u.rotate_key.proof, 5, 64); break;
  case KK_PL_ISSUE: b->has_source_event = 1; memset(b->source_event, 0xee, 32); strcpy(b->u.issue.lot_code, "FLAKE-1"); strcpy(b->u.issue.material, "PET");
    b->u.issue.mass_mg = UINT64_MAX; b->u.issue.post_mg = 1; b->u.issue.pre_mg = 2; strcpy(b->u.issue.origin, "JP");
    strcpy(b->u.issue.scheme, "GRS"); strcpy(b->u.issue.certificate, "C-1"); b->u.issue.n_evidence = 1;
    memcpy(b->u.issue.evidence[0], id, 32); b->u.issue.model = 3; break;
  case KK_PL_TRANSFER: fx_lotref(&b->u.transfer.lot, id, 4); b->u.transfer.mass_mg = 10; memcpy(b->u.transfer.to, id, 32); break;
  case KK_PL_RECEIVE: memcpy(b->u.receive.transfer, id, 32); break;
  case KK_PL_REFUSE: memcpy(b->u.refuse.transfer, id, 32); strcpy(b->u.refuse.reason, "wet"); break;
  case KK_PL_TRANSFORM: b->u.transform.model = 1; b->u.transform.n_inputs = 2;
    fx_lotref(&b->u.transform.inputs[0].lot, id, 0); b->u.transform.inputs[0].mass_mg = 5;
    fx_lotref(&b->u.transform.inputs[1].lot, id, 1); b->u.transform.inputs[1].mass_mg = 6;
    b->u.transform.n_unledgered = 1; strcpy(b->u.transform.unledgered[0].material, "PET");
    b->u.transform.unledgered[0].mass_mg = 7; strcpy(b->u.transform.unledgered[0].origin, "DE");
    b->u.transform.n_outputs = 1; strcpy(b->u.transform.outputs[0].lot_code, "S-1");
    strcpy(b->u.transform.outputs[0].material, "PET"); b->u.transform.outputs[0].mass_mg = 8;
    b->u.transform.outputs[0].post_mg = 4; strcpy(b->u.transform.process, "extrusion"); break;
  case KK_PL_CLAIM: fx_lotref(&b->u.claim.lot, id, 0); b->u.claim.share_ppm = 400000; strcpy(b->u.claim.scope, "EU"); break;
  case KK_PL_ATTEST: memcpy(b->u.attest.record, id, 32); strcpy(b->u.attest.statement, "ok"); break;
  case KK_PL_REVOKE: memcpy(b->u.revoke.record, id, 32); strcpy(b->u.revoke.reason, "forged"); break;
  case KK_PL_INCIDENT: strcpy(b->u.incident.kind, "fraud"); memcpy(b->u.incident.about, id, 32); strcpy(b->u.incident.text, "t"); break;
  default: break;
  }
  return b;
}

TEST(codec_roundtrip_every_payload)
{
  for (int k = KK_PL_GENESIS; k < KK_PL__COUNT; k++) {
    struct kk_body *b = sample((enum kk_payload)k), *d = fx_body(KK_PL_NONE);
    uint8_t *buf, *again;
    size_t n, n2;
    ASSERT_OK(codec_body_encode(b, &buf, &n));
    ASSERT_OK(codec_body_decode(buf, n, d));
    ASSERT_EQ(d->kind, k);
    ASSERT_U64(d->seq, 7);
    ASSERT(memcmp(d->author, b->author, 32) == 0);
    /* Decoded equals original, field by field: compare via a second encoding. */
    ASSERT_OK(codec_body_encode(d, &again, &n2));
    ASSERT_EQ(n, n2);
    ASSERT(memcmp(buf, again, n) == 0);
    ASSERT(memcmp(&b->u, &d->u, sizeof b->u) == 0);
    free(buf); free(again); free(b); free(d);
  }
}

/* A body restamped at another feed position (what the node does with a body the CLI
 * encoded) is byte for byte what encoding it with that position gives — at seq 1 (no
 * prev) and later, with and without a time — for every payload; and bytes that are not
 * such a body are refused. */
TEST(codec_restamp_is_encoding_at_the_new_position)
{
  uint8_t net[32], prev[32];
  memset(net, 9, 32);
  memset(prev, 8, 32);
  for (int k = KK_PL_GENESIS; k < KK_PL__COUNT; k++)
    for (int at = 0; at < 3; at++) {
      struct kk_body *b = sample((enum kk_payload)k);
      uint8_t *cli, *got, *want, author[32];
      size_t nc, ng, nw;
      int kind;
      ASSERT_OK(codec_body_encode(b, &cli, &nc));
      uint64_t seq = at == 0 ? 1 : 1000000 + (uint64_t)at, t = at == 2 ? 0 : 1700000000123ull;
      ASSERT_OK(codec_body_restamp(cli, nc, net, seq, at ? prev : NULL, t, &got, &ng, author, &kind));
      ASSERT_EQ(kind, k);
      ASSERT(memcmp(author, b->author, 32) == 0);
      b->version = CODEC_VERSION;
      b->has_network = 1;
      memcpy(b->network, net, 32);
      b->seq = seq;
      b->has_prev = at != 0;
      if (at) memcpy(b->prev, prev, 32);
      b->time_ms = t;
      ASSERT_OK(codec_body_encode(b, &want, &nw));
      ASSERT_EQ(ng, nw);
      ASSERT(memcmp(got, want, nw) == 0);
      free(cli); free(want); free(b);
      mem_free(got);
    }
  struct kk_body *b = sample(KK_PL_ISSUE);
  uint8_t *cli, *got, author[32];
  size_t nc, ng;
  int kind;
  ASSERT_OK(codec_body_encode(b, &cli, &nc));
  ASSERT_EQ(codec_body_restamp(cli, nc - 1, net, 2, prev, 1, &got, &ng, author, &kind), KK_ERR(DECODE)); /* cut short */
  ASSERT_EQ(codec_body_restamp(cli, 3, net, 2, prev, 1, &got, &ng, author, &kind), KK_ERR(DECODE)); /* no payload */
  uint8_t twice[2048];
  ASSERT(nc * 2 <= sizeof twice);
  memcpy(twice, cli, nc);
  memcpy(twice + nc, cli, nc);
  ASSERT_EQ(codec_body_restamp(twice, 2 * nc, net, 2, prev, 1, &got, &ng, author, &kind), KK_ERR(DECODE)); /* fields again */
  free(cli);
  free(b);
}

static void encode_sample(enum kk_payload k, uint8_t **buf, size_t *n)
{
  struct kk_body *b = sample(k);
  ASSERT_OK(codec_body_encode(b, buf, n));
  free(b);
}

static int decode_bytes(const uint8_t *p, size_t n)
{
  struct kk_body *d = fx_body(KK_PL_NONE);
  int rc = codec_body_decode(p, n, d);
  free(d);
  return rc;
}

TEST(codec_rejects_unknown_duplicate_and_default_fields)
{
  uint8_t *buf;
  size_t n;
  encode_sample(KK_PL_RECEIVE, &buf, &n);
  uint8_t *x = malloc(n + 8);
  /* unknown field 99, varint */
  memcpy(x, buf, n);
  x[n] = (99 << 3) & 0xff; x[n + 1] = 0x06; x[n + 2] = 0x01;
  ASSERT(decode_bytes(x, n + 3) != 0);
  /* duplicate field: version again (last one wins in protobuf) */
  memcpy(x, buf, n);
  x[n] = 0x08; x[n + 1] = 0x01;
  ASSERT_EQ(decode_bytes(x, n + 2), KK_ERR(NONCANONICAL));
  /* an explicitly encoded default (time_ms = 0) */
  memcpy(x, buf, n);
  x[n] = 0x30; x[n + 1] = 0x00;
  ASSERT_EQ(decode_bytes(x, n + 2), KK_ERR(NONCANONICAL));
  /* garbage */
  memset(x, 0xff, 8);
  ASSERT_EQ(decode_bytes(x, 8), KK_ERR(DECODE));
  free(x);
  free(buf);
}

TEST(codec_rejects_bad_fields)
{
  struct kk_body *b = sample(KK_PL_ISSUE);
  uint8_t *buf;
  size_t n;
  /* invalid UTF-8 and control characters never encode (and so never decode) */
  strcpy(b->u.issue.lot_code, "A\xff");
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(UTF8));
  strcpy(b->u.issue.lot_code, "A\nB");
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(UTF8));
  strcpy(b->u.issue.lot_code, "\xc0\xaf"); /* overlong '/' */
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(UTF8));
  strcpy(b->u.issue.lot_code, "\xed\xa0\x80"); /* surrogate */
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(UTF8));
  strcpy(b->u.issue.lot_code, "ok");
  strcpy(b->u.issue.origin, "J");
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(FIELD));
  free(b);
  /* a GLN is 13 digits or nothing */
  b = sample(KK_PL_ADMIT);
  strcpy(b->u.admit.gln, "401234500001");
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(FIELD));
  strcpy(b->u.admit.gln, "401234500001A");
  ASSERT_EQ(codec_body_encode(b, &buf, &n), KK_ERR(FIELD));
  free(b);
  ASSERT_EQ(codec_check_text("日本", strlen("日本")), 0);

  /* A 31-byte author, hand-encoded: 0x1a (field 3, bytes) len 31. */
  uint8_t raw[64] = { 0x08, 0x01, 0x1a, 31 };
  memset(raw + 4, 7, 31);
  /* payload receive (field 16): tag 0x82 0x01, len 34, inner field 1 len 32 */
  size_t o = 35;
  raw[o++] = 0x82; raw[o++] = 0x01; raw[o++] = 0; /* empty receive message */
  ASSERT(decode_bytes(raw, o) != 0);
  /* no payload at all */
  uint8_t nop[] = { 0x08, 0x01 };
  ASSERT_EQ(decode_bytes(nop, sizeof nop), KK_ERR(FIELD)); /* author missing is checked first */
  uint8_t nopay[36] = { 0x08, 0x01, 0x1a, 32 };
  memset(nopay + 4, 7, 32);
  ASSERT_EQ(decode_bytes(nopay, sizeof nopay), KK_ERR(NO_PAYLOAD));
}

TEST(codec_envelope_canonical_form)
{
  uint8_t body[5] = { 1, 2, 3, 4, 5 }, sig[64], *env;
  size_t n;
  struct kk_envelope_view v;
  memset(sig, 9, 64);
  ASSERT_OK(codec_envelope_join(body, 5, sig, &env, &n));
  ASSERT_OK(codec_envelope_split(env, n, &v));
  ASSERT_EQ(v.body_len, 5);
  ASSERT(memcmp(v.sig, sig, 64) == 0);
  /* trailing byte */
  uint8_t *x = malloc(n + 200);
  memcpy(x, env, n); x[n] = 0;
  ASSERT(codec_envelope_split(x, n + 1, &v) != 0);
  /* truncated */
  ASSERT(codec_envelope_split(env, n - 1, &v) != 0);
  /* fields swapped: sig first */
  x[0] = 0x12; x[1] = 0x40; memcpy(x + 2, sig, 64); x[66] = 0x0a; x[67] = 5; memcpy(x + 68, body, 5);
  ASSERT_EQ(codec_envelope_split(x, 73, &v), KK_ERR(NONCANONICAL));
  /* non-minimal length varint: 0x85 0x00 for 5 */
  x[0] = 0x0a; x[1] = 0x85; x[2] = 0x00; memcpy(x + 3, body, 5); x[8] = 0x12; x[9] = 0x40; memcpy(x + 10, sig, 64);
  ASSERT_EQ(codec_envelope_split(x, 74, &v), KK_ERR(NONCANONICAL));
  /* a 63-byte signature */
  x[0] = 0x0a; x[1] = 5; memcpy(x + 2, body, 5); x[7] = 0x12; x[8] = 63; memcpy(x + 9, sig, 63);
  ASSERT(codec_envelope_split(x, 72, &v) != 0);
  /* size cap, checked first */
  ASSERT_EQ(codec_envelope_split(x, CODEC_MAX_RECORD + 1, &v), KK_ERR(TOO_LARGE));
  free(x);
  free(env);
}
