/*
 * wire — the peer protocol's messages, evidence of equivocation and proof bundles
 * between bytes and plain C structs (declared in codec.h; the records themselves are
 * codec.c's). Each decoder accepts only bytes that re-encode to themselves.
 */
#include "codec.h"
#include "codec_pb.h"
#include "../node/base/err.h"
#include "../node/base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* ---- peer protocol messages -------------------------------------------------------- */

struct codec_wire_priv {
  Kiroku__Wire *m;
  struct kk_feedhead *feeds;
  const uint8_t **recs;
  size_t *lens;
  uint8_t (*proof)[32];
};

void codec_wire_free(struct kk_wire *w)
{
  struct codec_wire_priv *p = w ? w->priv_ : NULL;
  if (!p) return;
  if (p->m) kiroku__wire__free_unpacked(p->m, &mem_protobuf);
  mem_free(p->feeds);
  mem_free(p->recs);
  mem_free(p->lens);
  mem_free(p->proof);
  mem_free(p);
  w->priv_ = NULL;
}

static int codec_fixed(uint8_t *dst, size_t n, ProtobufCBinaryData b)
{
  if (b.len != n) return KK_ERR(FIELD);
  memcpy(dst, b.data, n);
  return 0;
}

int codec_wire_decode(const uint8_t *buf, size_t len, struct kk_wire *out)
{
  memset(out, 0, sizeof *out);
  if (len > CODEC_WIRE_MAX) return KK_ERR(TOO_LARGE);
  struct codec_wire_priv *p = mem_calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  out->priv_ = p;
  struct codec_pb pb;
  p->m = kiroku__wire__unpack(codec_pb_init(&pb), len, buf);
  if (!p->m) { codec_wire_free(out); return codec_pb_fail(&pb); }
  Kiroku__Wire *m = p->m;
  int rc = 0;
  switch (m->msg_case) {
  case KIROKU__WIRE__MSG_HELLO:
    out->kind = KK_W_HELLO;
    out->hello.version = m->hello->version;
    if ((rc = codec_fixed(out->hello.network, 32, m->hello->network)) ||
        (rc = codec_fixed(out->hello.identity, 32, m->hello->identity)) ||
        (rc = codec_fixed(out->hello.ephemeral, 32, m->hello->ephemeral)))
      break;
    break;
  case KIROKU__WIRE__MSG_AUTH:
    out->kind = KK_W_AUTH;
    if ((rc = codec_fixed(out->auth.signature, 64, m->auth->signature)) ||
        (rc = codec_fixed(out->auth.stream, 24, m->auth->stream)))
      break;
    if (m->auth->admission.len > CODEC_MAX_RECORD) { rc = KK_ERR(TOO_LARGE); break; }
    out->auth.admission = m->auth->admission.data;
    out->auth.admission_len = m->auth->admission.len;
    if (m->auth->n_rotations > CODEC_ROTATIONS_MAX) { rc = KK_ERR(TOO_LARGE); break; }
    out->auth.n_rotations = m->auth->n_rotations;
    for (size_t i = 0; i < m->auth->n_rotations; i++) {
      if (m->auth->rotations[i].len > CODEC_MAX_RECORD) { rc = KK_ERR(TOO_LARGE); break; }
      out->auth.rotations[i].env = m->auth->rotations[i].data;
      out->auth.rotations[i].len = m->auth->rotations[i].len;
    }
    break;
  case KIROKU__WIRE__MSG_HAVE:
    out->kind = KK_W_HAVE;
    if (m->have->n_feeds > CODEC_WIRE_MAX_FEEDS) { rc = KK_ERR(TOO_LARGE); break; }
    out->have.n = m->have->n_feeds;
    p->feeds = mem_calloc(out->have.n ? out->have.n : 1, sizeof *p->feeds);
    if (!p->feeds) { rc = -ENOMEM; break; }
    out->have.feeds = p->feeds;
    for (size_t i = 0; i < out->have.n && !rc; i++) {
      rc = codec_fixed(p->feeds[i].author, 32, m->have->feeds[i]->author);
      p->feeds[i].seq = m->have->feeds[i]->seq;
      if (rc == 0 && m->have->feeds[i]->last.len) {
        p->feeds[i].has_last = 1;
        rc = codec_fixed(p->feeds[i].last, 32, m->have->feeds[i]->last);
      }
    }
    break;
  case KIROKU__WIRE__MSG_WANT:
    out->kind = KK_W_WANT;
    rc = codec_fixed(out->want.author, 32, m->want->author);
    out->want.from_seq = m->want->from_seq;
    out->want.max = m->want->max;
    break;
  case KIROKU__WIRE__MSG_RECORDS:
    out->kind = KK_W_RECORDS;
    if (m->records->n_records > CODEC_WIRE_MAX_RECORDS) { rc = KK_ERR(TOO_LARGE); break; }
    out->records.n = m->records->n_records;
    p->recs = mem_calloc(out->records.n ? out->records.n : 1, sizeof *p->recs);
    p->lens = mem_calloc(out->records.n ? out->records.n : 1, sizeof *p->lens);
    if (!p->recs || !p->lens) { rc = -ENOMEM; break; }
    out->records.recs = p->recs;
    out->records.lens = p->lens;
    if ((rc = codec_fixed(out->records.author, 32, m->records->author))) break;
    for (size_t i = 0; i < out->records.n; i++) {
      if (m->records->records[i].len > CODEC_MAX_RECORD) { rc = KK_ERR(TOO_LARGE); break; }
      p->recs[i] = m->records->records[i].data;
      p->lens[i] = m->records->records[i].len;
    }
    if (rc) break;
    out->records.checkpoint = m->records->checkpoint;
    if (m->records->n_consistency > CODEC_WIRE_MAX_PROOF) { rc = KK_ERR(TOO_LARGE); break; }
    out->records.n_proof = m->records->n_consistency;
    if (!(p->proof = mem_calloc(out->records.n_proof ? out->records.n_proof : 1, 32))) { rc = -ENOMEM; break; }
    out->records.proof = p->proof;
    for (size_t i = 0; i < out->records.n_proof && !rc; i++) rc = codec_fixed(p->proof[i], 32, m->records->consistency[i]);
    break;
  case KIROKU__WIRE__MSG_PING:
    out->kind = KK_W_PING;
    out->ping.nonce = m->ping->nonce;
    out->ping.reply = m->ping->reply;
    break;
  case KIROKU__WIRE__MSG_CHECKPOINT:
    out->kind = KK_W_CHECKPOINT;
    if (m->checkpoint->note.len > CODEC_WIRE_MAX_NOTE) { rc = KK_ERR(TOO_LARGE); break; }
    out->checkpoint.note = m->checkpoint->note.data;
    out->checkpoint.len = m->checkpoint->note.len;
    break;
  case KIROKU__WIRE__MSG_EVIDENCE:
    out->kind = KK_W_EVIDENCE;
    if (m->evidence.len > CODEC_MAX_EVIDENCE) { rc = KK_ERR(TOO_LARGE); break; }
    out->evidence.data = m->evidence.data;
    out->evidence.len = m->evidence.len;
    break;
  default:
    rc = KK_ERR(DECODE);
  }
  if (rc) codec_wire_free(out);
  return rc;
}

int codec_wire_encode(const struct kk_wire *w, uint8_t **out, size_t *len)
{
  Kiroku__Wire m = KIROKU__WIRE__INIT;
  Kiroku__Hello hello = KIROKU__HELLO__INIT;
  Kiroku__Auth auth = KIROKU__AUTH__INIT;
  ProtobufCBinaryData rots[CODEC_ROTATIONS_MAX];
  Kiroku__Have have = KIROKU__HAVE__INIT;
  Kiroku__Want want = KIROKU__WANT__INIT;
  Kiroku__Records recs = KIROKU__RECORDS__INIT;
  Kiroku__Ping ping = KIROKU__PING__INIT;
  Kiroku__Checkpoint ckpt = KIROKU__CHECKPOINT__INIT;
  Kiroku__FeedHead *heads = NULL, **headp = NULL;
  ProtobufCBinaryData *bins = NULL, *pbins = NULL;
  int rc = 0;
  switch (w->kind) {
  case KK_W_HELLO:
    hello.version = w->hello.version;
    hello.network = codec_bin(w->hello.network, 32);
    hello.identity = codec_bin(w->hello.identity, 32);
    hello.ephemeral = codec_bin(w->hello.ephemeral, 32);
    m.msg_case = KIROKU__WIRE__MSG_HELLO;
    m.hello = &hello;
    break;
  case KK_W_AUTH:
    auth.signature = codec_bin(w->auth.signature, 64);
    auth.admission = codec_bin(w->auth.admission, w->auth.admission_len);
    auth.stream = codec_bin(w->auth.stream, 24);
    if (w->auth.n_rotations > CODEC_ROTATIONS_MAX) return KK_ERR(TOO_LARGE);
    for (size_t i = 0; i < w->auth.n_rotations; i++) rots[i] = codec_bin(w->auth.rotations[i].env, w->auth.rotations[i].len);
    auth.n_rotations = w->auth.n_rotations;
    auth.rotations = rots;
    m.msg_case = KIROKU__WIRE__MSG_AUTH;
    m.auth = &auth;
    break;
  case KK_W_HAVE:
    if (w->have.n > CODEC_WIRE_MAX_FEEDS) return KK_ERR(TOO_LARGE);
    heads = mem_calloc(w->have.n ? w->have.n : 1, sizeof *heads);
    headp = mem_calloc(w->have.n ? w->have.n : 1, sizeof *headp);
    if (!heads || !headp) { rc = -ENOMEM; goto done; }
    for (size_t i = 0; i < w->have.n; i++) {
      kiroku__feed_head__init(&heads[i]);
      heads[i].author = codec_bin(w->have.feeds[i].author, 32);
      heads[i].seq = w->have.feeds[i].seq;
      if (w->have.feeds[i].has_last) heads[i].last = codec_bin(w->have.feeds[i].last, 32);
      headp[i] = &heads[i];
    }
    have.n_feeds = w->have.n;
    have.feeds = headp;
    m.msg_case = KIROKU__WIRE__MSG_HAVE;
    m.have = &have;
    break;
  case KK_W_WANT:
    want.author = codec_bin(w->want.author, 32);
    want.from_seq = w->want.from_seq;
    want.max = w->want.max;
    m.msg_case = KIROKU__WIRE__MSG_WANT;
    m.want = &want;
    break;
  case KK_W_RECORDS:
    if (w->records.n > CODEC_WIRE_MAX_RECORDS) return KK_ERR(TOO_LARGE);
    bins = mem_calloc(w->records.n ? w->records.n : 1, sizeof *bins);
    if (!bins) { rc = -ENOMEM; goto done; }
    for (size_t i = 0; i < w->records.n; i++) bins[i] = codec_bin(w->records.recs[i], w->records.lens[i]);
    recs.n_records = w->records.n;
    recs.records = bins;
    recs.author = codec_bin(w->records.author, 32);
    if (w->records.n_proof > CODEC_WIRE_MAX_PROOF) { rc = KK_ERR(TOO_LARGE); goto done; }
    recs.checkpoint = w->records.checkpoint;
    recs.n_consistency = w->records.n_proof;
    if (w->records.n_proof) {
      if (!(pbins = mem_calloc(w->records.n_proof, sizeof *pbins))) { rc = -ENOMEM; goto done; }
      for (size_t i = 0; i < w->records.n_proof; i++) pbins[i] = codec_bin(w->records.proof[i], 32);
      recs.consistency = pbins;
    }
    m.msg_case = KIROKU__WIRE__MSG_RECORDS;
    m.records = &recs;
    break;
  case KK_W_PING:
    ping.nonce = w->ping.nonce;
    ping.reply = w->ping.reply != 0;
    m.msg_case = KIROKU__WIRE__MSG_PING;
    m.ping = &ping;
    break;
  case KK_W_CHECKPOINT:
    if (w->checkpoint.len > CODEC_WIRE_MAX_NOTE) return KK_ERR(TOO_LARGE);
    ckpt.note = codec_bin(w->checkpoint.note, w->checkpoint.len);
    m.msg_case = KIROKU__WIRE__MSG_CHECKPOINT;
    m.checkpoint = &ckpt;
    break;
  case KK_W_EVIDENCE:
    if (w->evidence.len > CODEC_MAX_EVIDENCE) return KK_ERR(TOO_LARGE);
    m.evidence = codec_bin(w->evidence.data, w->evidence.len);
    m.msg_case = KIROKU__WIRE__MSG_EVIDENCE;
    break;
  default:
    return KK_ERR(FIELD);
  }
  size_t n = kiroku__wire__get_packed_size(&m);
  if (n > CODEC_WIRE_MAX) { rc = KK_ERR(TOO_LARGE); goto done; }
  *out = mem_alloc(n ? n : 1);
  if (!*out) { rc = -ENOMEM; goto done; }
  kiroku__wire__pack(&m, *out);
  *len = n;
done:
  mem_free(heads);
  mem_free(headp);
  mem_free(bins);
  mem_free(pbins);
  return rc;
}

/* 0 when m packs back to exactly buf, else KK_E_DECODE (or -ENOMEM). */
static int codec_repacks(const ProtobufCMessage *m, const uint8_t *buf, size_t len)
{
  size_t n = protobuf_c_message_get_packed_size(m);
  if (n != len) return KK_ERR(DECODE);
  uint8_t *re = mem_alloc(n ? n : 1);
  if (!re) return -ENOMEM;
  protobuf_c_message_pack(m, re);
  int same = memcmp(re, buf, n) == 0;
  mem_free(re);
  return same ? 0 : KK_ERR(DECODE);
}

/* Unpacks with its own allocator and checks the bytes are canonical: 0, KK_E_DECODE or
 * -ENOMEM. *out is NULL on error unless the message itself was decoded (the caller
 * frees it either way, with mem_protobuf). */
#define CODEC_UNPACK_CANONICAL(rc, out, fn, len, buf) do { \
    struct codec_pb pb_; \
    (out) = fn(codec_pb_init(&pb_), (len), (buf)); \
    (rc) = (out) ? codec_repacks(&(out)->base, (buf), (len)) : codec_pb_fail(&pb_); \
  } while (0)

/* ---- evidence ------------------------------------------------------------------------ */

static int codec_bytes_cmp(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
  int c = memcmp(a, b, al < bl ? al : bl);
  return c ? c : (al > bl) - (al < bl);
}

int codec_equivocation_encode(const struct kk_equivocation *e, uint8_t **out, size_t *len)
{
  Kiroku__Equivocation m = KIROKU__EQUIVOCATION__INIT;
  ProtobufCBinaryData *hashes = NULL;
  m.network = codec_bin(e->network, 32);
  m.author = codec_bin(e->author, 32);
  if (e->record_a && e->checkpoint_a && !e->record_b && !e->checkpoint_b) {
    /* a record under a checkpoint */
    if (e->n_proof > CODEC_EVIDENCE_MAX_PROOF) return KK_ERR(TOO_LARGE);
    m.record_a = codec_bin(e->record_a, e->record_a_len);
    m.checkpoint_a = codec_bin(e->checkpoint_a, e->checkpoint_a_len);
    if (e->n_proof && !(hashes = mem_calloc(e->n_proof, sizeof *hashes))) return -ENOMEM;
    for (size_t i = 0; i < e->n_proof; i++) hashes[i] = codec_bin(e->proof[i], 32);
    m.n_proof = e->n_proof;
    m.proof = hashes;
  } else {
    const uint8_t *a = e->record_a, *b = e->record_b;
    size_t al = e->record_a_len, bl = e->record_b_len;
    int records = a != NULL;
    if (!records) { a = e->checkpoint_a; b = e->checkpoint_b; al = e->checkpoint_a_len; bl = e->checkpoint_b_len; }
    if (!a || !b) return KK_ERR(FIELD);
    if (codec_bytes_cmp(a, al, b, bl) > 0) {
      const uint8_t *t = a; a = b; b = t;
      size_t tl = al; al = bl; bl = tl;
    }
    if (records) { m.record_a = codec_bin(a, al); m.record_b = codec_bin(b, bl); }
    else { m.checkpoint_a = codec_bin(a, al); m.checkpoint_b = codec_bin(b, bl); }
  }
  int rc = 0;
  size_t n = kiroku__equivocation__get_packed_size(&m);
  if (n > CODEC_MAX_EVIDENCE) rc = KK_ERR(TOO_LARGE);
  else if (!(*out = mem_alloc(n))) rc = -ENOMEM;
  else {
    kiroku__equivocation__pack(&m, *out);
    *len = n;
  }
  mem_free(hashes);
  return rc;
}

struct codec_evidence_priv { Kiroku__Equivocation *m; uint8_t (*proof)[32]; };

void codec_equivocation_free(struct kk_equivocation *e)
{
  struct codec_evidence_priv *p = e->priv_;
  if (!p) return;
  if (p->m) kiroku__equivocation__free_unpacked(p->m, &mem_protobuf);
  mem_free(p->proof);
  mem_free(p);
  e->priv_ = NULL;
}

int codec_equivocation_decode(const uint8_t *buf, size_t len, struct kk_equivocation *out)
{
  memset(out, 0, sizeof *out);
  if (len > CODEC_MAX_EVIDENCE) return KK_ERR(TOO_LARGE);
  struct codec_evidence_priv *p = mem_calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  out->priv_ = p;
  int rc;
  CODEC_UNPACK_CANONICAL(rc, p->m, kiroku__equivocation__unpack, len, buf);
  if (rc) goto fail;
  Kiroku__Equivocation *m = p->m;
  if ((rc = codec_fixed(out->network, 32, m->network)) || (rc = codec_fixed(out->author, 32, m->author))) goto fail;
  rc = KK_ERR(DECODE);
  int ra = m->record_a.len > 0, rb = m->record_b.len > 0, ca = m->checkpoint_a.len > 0, cb = m->checkpoint_b.len > 0;
  int pair_records = ra && rb && !ca && !cb && !m->n_proof;
  int pair_ckpts = ca && cb && !ra && !rb && !m->n_proof;
  int bad_record = ra && ca && !rb && !cb;
  if (!pair_records && !pair_ckpts && !bad_record) goto fail;
  if (pair_records && codec_bytes_cmp(m->record_a.data, m->record_a.len, m->record_b.data, m->record_b.len) >= 0) goto fail;
  if (pair_ckpts &&
      codec_bytes_cmp(m->checkpoint_a.data, m->checkpoint_a.len, m->checkpoint_b.data, m->checkpoint_b.len) >= 0)
    goto fail;
  if (m->n_proof > CODEC_EVIDENCE_MAX_PROOF) { rc = KK_ERR(TOO_LARGE); goto fail; }
  if (!(p->proof = mem_calloc(m->n_proof ? m->n_proof : 1, 32))) { rc = -ENOMEM; goto fail; }
  for (size_t i = 0; i < m->n_proof; i++)
    if ((rc = codec_fixed(p->proof[i], 32, m->proof[i]))) goto fail;
  out->n_proof = m->n_proof;
  out->proof = p->proof;
  if (ra) { out->record_a = m->record_a.data; out->record_a_len = m->record_a.len; }
  if (rb) { out->record_b = m->record_b.data; out->record_b_len = m->record_b.len; }
  if (ca) { out->checkpoint_a = m->checkpoint_a.data; out->checkpoint_a_len = m->checkpoint_a.len; }
  if (cb) { out->checkpoint_b = m->checkpoint_b.data; out->checkpoint_b_len = m->checkpoint_b.len; }
  return 0;
fail:
  codec_equivocation_free(out);
  return rc;
}

/* ---- proof bundles -------------------------------------------------------------------- */

struct codec_bundle_priv {
  Kiroku__Bundle *outer;
  Kiroku__BundleBody *body;
  struct kk_bundle_feed *feeds;
  struct kk_bundle_record *recs;
  uint8_t (*hashes)[32];
};


void codec_bundle_free(struct kk_bundle *b)
{
  struct codec_bundle_priv *p = b->priv_;
  if (!p) return;
  if (p->body) kiroku__bundle_body__free_unpacked(p->body, &mem_protobuf);
  if (p->outer) kiroku__bundle__free_unpacked(p->outer, &mem_protobuf);
  mem_free(p->feeds);
  mem_free(p->recs);
  mem_free(p->hashes);
  mem_free(p);
  b->priv_ = NULL;
}

int codec_bundle_decode(const uint8_t *buf, size_t len, struct kk_bundle *out)
{
  memset(out, 0, sizeof *out);
  struct codec_bundle_priv *p = mem_calloc(1, sizeof *p);
  if (!p) return -ENOMEM;
  out->priv_ = p;
  int rc;
  CODEC_UNPACK_CANONICAL(rc, p->outer, kiroku__bundle__unpack, len, buf);
  if (rc) goto fail;
  if ((rc = codec_fixed(out->prover, 32, p->outer->prover)) || (rc = codec_fixed(out->sig, 64, p->outer->signature)))
    goto fail;
  out->body = p->outer->body.data;
  out->body_len = p->outer->body.len;
  CODEC_UNPACK_CANONICAL(rc, p->body, kiroku__bundle_body__unpack, out->body_len, out->body);
  if (rc) goto fail;
  Kiroku__BundleBody *m = p->body;
  if ((rc = codec_fixed(out->network, 32, m->network)) || (rc = codec_fixed(out->lot, 36, m->lot))) goto fail;
  size_t nrec = 0, nhash = 0;
  for (size_t i = 0; i < m->n_feeds; i++) {
    nrec += m->feeds[i]->n_records;
    for (size_t j = 0; j < m->feeds[i]->n_records; j++) {
      if (m->feeds[i]->records[j]->n_proof > CODEC_BUNDLE_MAX_PROOF) { rc = KK_ERR(TOO_LARGE); goto fail; }
      nhash += m->feeds[i]->records[j]->n_proof;
    }
  }
  p->feeds = mem_calloc(m->n_feeds ? m->n_feeds : 1, sizeof *p->feeds);
  p->recs = mem_calloc(nrec ? nrec : 1, sizeof *p->recs);
  p->hashes = mem_calloc(nhash ? nhash : 1, 32);
  if (!p->feeds || !p->recs || !p->hashes) { rc = -ENOMEM; goto fail; }
  size_t r = 0, h = 0;
  for (size_t i = 0; i < m->n_feeds; i++) {
    const Kiroku__BundleFeed *f = m->feeds[i];
    struct kk_bundle_feed *o = &p->feeds[i];
    if ((rc = codec_fixed(o->author, 32, f->author))) goto fail;
    if (f->checkpoint.len > CODEC_WIRE_MAX_NOTE) { rc = KK_ERR(TOO_LARGE); goto fail; }
    o->note = (const char *)f->checkpoint.data;
    o->note_len = f->checkpoint.len;
    o->n = f->n_records;
    o->recs = p->recs + r;
    for (size_t j = 0; j < f->n_records; j++, r++) {
      const Kiroku__BundleRecord *br = f->records[j];
      if (br->envelope.len > CODEC_MAX_RECORD) { rc = KK_ERR(TOO_LARGE); goto fail; }
      p->recs[r].env = br->envelope.data;
      p->recs[r].len = br->envelope.len;
      p->recs[r].n_proof = br->n_proof;
      p->recs[r].proof = p->hashes + h;
      for (size_t k = 0; k < br->n_proof; k++, h++)
        if ((rc = codec_fixed(p->hashes[h], 32, br->proof[k]))) goto fail;
    }
  }
  out->n_feeds = m->n_feeds;
  out->feeds = p->feeds;
  return 0;
fail:
  codec_bundle_free(out);
  return rc;
}

int codec_bundle_body_encode(const struct kk_bundle *b, uint8_t **out, size_t *len)
{
  Kiroku__BundleBody m = KIROKU__BUNDLE_BODY__INIT;
  size_t nrec = 0, nhash = 0;
  for (size_t i = 0; i < b->n_feeds; i++) {
    nrec += b->feeds[i].n;
    for (size_t j = 0; j < b->feeds[i].n; j++) nhash += b->feeds[i].recs[j].n_proof;
  }
  Kiroku__BundleFeed *feeds = mem_calloc(b->n_feeds ? b->n_feeds : 1, sizeof *feeds);
  Kiroku__BundleFeed **feedp = mem_calloc(b->n_feeds ? b->n_feeds : 1, sizeof *feedp);
  Kiroku__BundleRecord *recs = mem_calloc(nrec ? nrec : 1, sizeof *recs);
  Kiroku__BundleRecord **recp = mem_calloc(nrec ? nrec : 1, sizeof *recp);
  ProtobufCBinaryData *hashes = mem_calloc(nhash ? nhash : 1, sizeof *hashes);
  int rc = 0;
  if (!feeds || !feedp || !recs || !recp || !hashes) { rc = -ENOMEM; goto done; }
  size_t r = 0, h = 0;
  for (size_t i = 0; i < b->n_feeds; i++) {
    const struct kk_bundle_feed *f = &b->feeds[i];
    kiroku__bundle_feed__init(&feeds[i]);
    feeds[i].author = codec_bin(f->author, 32);
    feeds[i].checkpoint = codec_bin((const uint8_t *)f->note, f->note_len);
    feeds[i].n_records = f->n;
    feeds[i].records = recp + r;
    feedp[i] = &feeds[i];
    for (size_t j = 0; j < f->n; j++, r++) {
      kiroku__bundle_record__init(&recs[r]);
      recs[r].envelope = codec_bin(f->recs[j].env, f->recs[j].len);
      recs[r].n_proof = f->recs[j].n_proof;
      recs[r].proof = hashes + h;
      for (size_t k = 0; k < f->recs[j].n_proof; k++, h++) hashes[h] = codec_bin(f->recs[j].proof[k], 32);
      recp[r] = &recs[r];
    }
  }
  m.network = codec_bin(b->network, 32);
  m.lot = codec_bin(b->lot, 36);
  m.n_feeds = b->n_feeds;
  m.feeds = feedp;
  size_t n = kiroku__bundle_body__get_packed_size(&m);
  if (!(*out = mem_alloc(n ? n : 1))) { rc = -ENOMEM; goto done; }
  kiroku__bundle_body__pack(&m, *out);
  *len = n;
done:
  mem_free(feeds);
  mem_free(feedp);
  mem_free(recs);
  mem_free(recp);
  mem_free(hashes);
  return rc;
}

int codec_bundle_encode(const uint8_t *body, size_t blen, const uint8_t prover[32], const uint8_t sig[64],
                        uint8_t **out, size_t *len)
{
  Kiroku__Bundle m = KIROKU__BUNDLE__INIT;
  m.body = codec_bin(body, blen);
  m.prover = codec_bin(prover, 32);
  m.signature = codec_bin(sig, 64);
  size_t n = kiroku__bundle__get_packed_size(&m);
  if (!(*out = mem_alloc(n ? n : 1))) return -ENOMEM;
  kiroku__bundle__pack(&m, *out);
  *len = n;
  return 0;
}
