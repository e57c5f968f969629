/*
 * codec — record envelopes and bodies between bytes and plain C structs (the peer
 * protocol's messages, evidence and bundles: wire.c).
 *
 * Envelopes are parsed by hand (their canonical form is fixed: tag 0x0a, minimal varint
 * length, body, tag 0x12, 0x40, 64 signature bytes). Bodies go through protobuf-c, then
 * are checked for unknown fields and re-encoded: only a body whose re-encoding is
 * byte-identical is accepted.
 */
#include "codec.h"
#include "codec_pb.h"
#include "../node/base/err.h"
#include "../node/base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>


static void *codec_pb_alloc(void *data, size_t n)
{
  void *p = mem_alloc(n);
  if (!p && data) ((struct codec_pb *)data)->oom = 1;
  return p;
}

static void codec_pb_free(void *data, void *p) { (void)data; mem_free(p); }

ProtobufCAllocator mem_protobuf = { codec_pb_alloc, codec_pb_free, NULL };

ProtobufCAllocator *codec_pb_init(struct codec_pb *pb)
{
  pb->a = (ProtobufCAllocator){ codec_pb_alloc, codec_pb_free, pb };
  pb->oom = 0;
  return &pb->a;
}

int codec_pb_fail(const struct codec_pb *pb) { return pb->oom ? -ENOMEM : KK_ERR(DECODE); }

/* ---- envelope ---------------------------------------------------------------- */

static size_t codec_varint_len(uint64_t v)
{
  size_t n = 1;
  while (v >= 0x80) { v >>= 7; n++; }
  return n;
}

static size_t codec_varint_put(uint8_t *p, uint64_t v)
{
  size_t n = 0;
  while (v >= 0x80) { p[n++] = (uint8_t)(v | 0x80); v >>= 7; }
  p[n++] = (uint8_t)v;
  return n;
}

/* Reads a minimal varint of at most 3 bytes (enough for CODEC_MAX_RECORD). */
static int codec_varint_get(const uint8_t *p, size_t avail, uint64_t *v, size_t *used)
{
  uint64_t x = 0;
  for (size_t i = 0; i < avail && i < 3; i++) {
    x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      if (i > 0 && p[i] == 0) return KK_ERR(NONCANONICAL); /* non-minimal */
      *v = x;
      *used = i + 1;
      return 0;
    }
  }
  return avail < 3 ? KK_ERR(DECODE) : KK_ERR(TOO_LARGE);
}

/* Reads a varint of up to ten bytes (a 64-bit field value). */
static int codec_varint64_get(const uint8_t *p, size_t avail, uint64_t *v, size_t *used)
{
  uint64_t x = 0;
  for (size_t i = 0; i < avail && i < 10; i++) {
    x |= (uint64_t)(p[i] & 0x7f) << (7 * i);
    if (!(p[i] & 0x80)) {
      *v = x;
      *used = i + 1;
      return 0;
    }
  }
  return KK_ERR(DECODE);
}

int codec_record_position(const uint8_t *env, size_t len, uint8_t author[32], uint64_t *seq, int *kind)
{
  struct kk_envelope_view ev;
  int rc = codec_envelope_split(env, len, &ev), have = 0;
  if (rc) return rc;
  *seq = 0;
  *kind = KK_PL_NONE;
  memset(author, 0, 32);
  for (size_t off = 0; off < ev.body_len;) {
    uint64_t tag, v;
    size_t used;
    if ((rc = codec_varint64_get(ev.body + off, ev.body_len - off, &tag, &used))) return rc;
    off += used;
    unsigned field = (unsigned)(tag >> 3), wire = (unsigned)(tag & 7);
    if (wire == 0) {
      if ((rc = codec_varint64_get(ev.body + off, ev.body_len - off, &v, &used))) return rc;
      off += used;
      if (field == 4) { *seq = v; have |= 2; }
    } else if (wire == 2) {
      if ((rc = codec_varint_get(ev.body + off, ev.body_len - off, &v, &used))) return rc;
      off += used;
      if (v > ev.body_len - off) return KK_ERR(DECODE);
      if (field == 3) {
        if (v != 32) return KK_ERR(FIELD);
        memcpy(author, ev.body + off, 32);
        have |= 1;
      }
      if (field >= 10 && field <= 22) { *kind = (int)field - 9; break; } /* the payload: the last field */
      off += (size_t)v;
    } else {
      return KK_ERR(DECODE);
    }
  }
  return have == 3 ? 0 : KK_ERR(DECODE);
}

int codec_body_restamp(const uint8_t *body, size_t len, const uint8_t network[32], uint64_t seq, const uint8_t prev[32],
                       uint64_t time_ms, uint8_t **out, size_t *outlen, uint8_t author[32], int *kind)
{
  const uint8_t *payload = NULL, *source = NULL;
  size_t plen = 0;
  unsigned last = 0;
  int have_author = 0;
  *out = NULL;
  *kind = KK_PL_NONE;
  for (size_t off = 0; off < len;) {
    uint64_t tag, v;
    size_t used, start = off;
    int rc = codec_varint64_get(body + off, len - off, &tag, &used);
    if (rc) return rc;
    off += used;
    unsigned field = (unsigned)(tag >> 3), wire = (unsigned)(tag & 7);
    if (field <= last) return KK_ERR(DECODE); /* fields in order, each once */
    last = field;
    if (wire == 0 && (field == 1 || field == 4 || field == 6)) {
      if ((rc = codec_varint64_get(body + off, len - off, &v, &used))) return rc;
      off += used;
    } else if (wire == 2 && (field == 2 || field == 3 || field == 5 || field == 7 || (field >= 10 && field <= 22))) {
      if ((rc = codec_varint_get(body + off, len - off, &v, &used))) return rc;
      off += used;
      if (v > len - off) return KK_ERR(DECODE);
      if (field == 3) {
        if (v != 32) return KK_ERR(FIELD);
        memcpy(author, body + off, 32);
        have_author = 1;
      }
      if (field == 7) { /* source_event: carried as it is */
        if (v != 32) return KK_ERR(FIELD);
        source = body + off;
      }
      off += (size_t)v;
      if (field >= 10) {
        if (off != len) return KK_ERR(DECODE); /* the payload is the last field */
        payload = body + start;
        plen = len - start;
        *kind = (int)field - 9;
      }
    } else {
      return KK_ERR(DECODE);
    }
  }
  if (!have_author || !payload) return KK_ERR(DECODE);
  /* The header as protobuf-c writes it: fields in order, defaults (a zero, an empty
   * prev) left out. */
  size_t n = 1 + codec_varint_len(CODEC_VERSION) + 34 + 34 + 1 + codec_varint_len(seq) + (prev ? 34 : 0) + (time_ms ? 1 + codec_varint_len(time_ms) : 0) + (source ? 34 : 0) + plen;
  uint8_t *p = mem_alloc(n), *w = p;
  if (!p) return -ENOMEM;
  *w++ = 0x08;
  w += codec_varint_put(w, CODEC_VERSION);
  *w++ = 0x12;
  *w++ = 32;
  memcpy(w, network, 32);
  w += 32;
  *w++ = 0x1a;
  *w++ = 32;
  memcpy(w, author, 32);
  w += 32;
  *w++ = 0x20;
  w += codec_varint_put(w, seq);
  if (prev) {
    *w++ = 0x2a;
    *w++ = 32;
    memcpy(w, prev, 32);
    w += 32;
  }
  if (time_ms) {
    *w++ = 0x30;
    w += codec_varint_put(w, time_ms);
  }
  if (source) {
    *w++ = 0x3a;
    *w++ = 32;
    memcpy(w, source, 32);
    w += 32;
  }
  memcpy(w, payload, plen);
  w += plen;
  *out = p;
  *outlen = (size_t)(w - p);
  return 0;
}

int codec_envelope_split(const uint8_t *env, size_t len, struct kk_envelope_view *out)
{
  uint64_t blen;
  size_t used;
  if (len > CODEC_MAX_RECORD) return KK_ERR(TOO_LARGE);
  if (len < 2 + 2 + 64) return KK_ERR(DECODE);
  if (env[0] != 0x0a) return env[0] == 0x12 ? KK_ERR(NONCANONICAL) : KK_ERR(DECODE);
  int rc = codec_varint_get(env + 1, len - 1, &blen, &used);
  if (rc) return rc;
  size_t off = 1 + used;
  if (blen == 0) return KK_ERR(NONCANONICAL); /* an empty body is the default: omitted */
  if (blen > len - off) return KK_ERR(DECODE);
  size_t rest = len - off - (size_t)blen;
  if (rest != 2 + 64) return rest < 66 ? KK_ERR(DECODE) : KK_ERR(NONCANONICAL);
  if (env[off + blen] != 0x12 || env[off + blen + 1] != 0x40) return KK_ERR(NONCANONICAL);
  out->body = env + off;
  out->body_len = (size_t)blen;
  out->sig = env + off + blen + 2;
  return 0;
}

int codec_envelope_join(const uint8_t *body, size_t body_len, const uint8_t sig[64],
                        uint8_t **out, size_t *outlen)
{
  size_t n = 1 + codec_varint_len(body_len) + body_len + 2 + 64;
  if (body_len == 0) return KK_ERR(FIELD);
  if (n > CODEC_MAX_RECORD) return KK_ERR(TOO_LARGE);
  uint8_t *p = mem_alloc(n);
  if (!p) return -ENOMEM;
  size_t off = 0;
  p[off++] = 0x0a;
  off += codec_varint_put(p + off, body_len);
  memcpy(p + off, body, body_len);
  off += body_len;
  p[off++] = 0x12;
  p[off++] = 0x40;
  memcpy(p + off, sig, 64);
  *out = p;
  *outlen = n;
  return 0;
}

/* ---- text -------------------------------------------------------------------- */

int codec_check_text(const char *s, size_t len)
{
  const unsigned char *p = (const unsigned char *)s;
  size_t i = 0;
  while (i < len) {
    unsigned c = p[i];
    if (c < 0x80) {
      if ((c < 0x20 && c != '\t') || c == 0x7f) return KK_ERR(UTF8);
      i++;
      continue;
    }
    size_t n;
    unsigned cp;
    if (c >= 0xc2 && c <= 0xdf) { n = 1; cp = c & 0x1f; }
    else if (c >= 0xe0 && c <= 0xef) { n = 2; cp = c & 0x0f; }
    else if (c >= 0xf0 && c <= 0xf4) { n = 3; cp = c & 0x07; }
    else return KK_ERR(UTF8);
    if (len - i - 1 < n) return KK_ERR(UTF8);
    for (size_t k = 1; k <= n; k++) {
      if ((p[i + k] & 0xc0) != 0x80) return KK_ERR(UTF8);
      cp = cp << 6 | (p[i + k] & 0x3f);
    }
    /* overlong, surrogates, beyond U+10FFFF */
    if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp < 0xa0))
      return KK_ERR(UTF8);
    i += n + 1;
  }
  return 0;
}

/* Copies a protobuf-c string into a fixed buffer of cap+1 bytes. */
static int codec_get_str(char *dst, size_t cap, const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n > cap) return KK_ERR(TOO_LARGE);
  int rc = codec_check_text(src ? src : "", n);
  if (rc) return rc;
  if (n) memcpy(dst, src, n);
  dst[n] = 0;
  return 0;
}

static int codec_get_id(uint8_t dst[CODEC_ID], ProtobufCBinaryData b)
{
  if (b.len != CODEC_ID) return KK_ERR(FIELD);
  memcpy(dst, b.data, CODEC_ID);
  return 0;
}

/* Country codes are exactly two bytes or empty; their letters are checked by rules. */
static int codec_get_country(char dst[3], const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n != 0 && n != 2) return KK_ERR(FIELD);
  return codec_get_str(dst, 2, src);
}

/* A GLN is 13 digits or empty; its check digit is the registry's to get right (the
 * CLI refuses a wrong one). */
static int codec_get_gln(char dst[14], const char *src)
{
  size_t n = src ? strlen(src) : 0;
  if (n != 0 && n != 13) return KK_ERR(FIELD);
  for (size_t i = 0; i < n; i++)
    if (src[i] < '0' || src[i] > '9') return KK_ERR(FIELD);
  return codec_get_str(dst, 13, src);
}

/* ---- body decode ------------------------------------------------------------- */

#define TRY(expr) do { int rc_ = (expr); if (rc_) return rc_; } while (0)
#define NO_UNKNOWN(msg) do { if ((msg) && (msg)->base.n_unknown_fields) return KK_ERR(NONCANONICAL); } while (0)

static int codec_get_lotref(struct kk_lotref *dst, const Kiroku__LotRef *src)
{
  if (!src) return KK_ERR(FIELD);
  NO_UNKNOWN(src);
  TRY(codec_get_id(dst->record, src->record));
  dst->index = src->index;
  return 0;
}

static int codec_from_pb(const Kiroku__Body *m, struct kk_body *b)
{
  NO_UNKNOWN(m);
  b->version = m->version;
  b->has_network = m->network.len != 0;
  if (b->has_network) TRY(codec_get_id(b->network, m->network));
  TRY(codec_get_id(b->author, m->author));
  b->seq = m->seq;
  b->has_prev = m->prev.len != 0;
  if (b->has_prev) TRY(codec_get_id(b->prev, m->prev));
  b->time_ms = m->time_ms;
  b->has_source_event = m->source_event.len != 0;
  if (b->has_source_event) TRY(codec_get_id(b->source_event, m->source_event));

  switch (m->payload_case) {
  case KIROKU__BODY__PAYLOAD_GENESIS: {
    const Kiroku__Genesis *p = m->genesis;
    NO_UNKNOWN(p);
    b->kind = KK_PL_GENESIS;
    TRY(codec_get_str(b->u.genesis.name, CODEC_NAME_MAX, p->name));
    break;
  }
  case KIROKU__BODY__PAYLOAD_ADMIT: {
    const Kiroku__Admit *p = m->admit;
    struct kk_admit *a = &b->u.admit;
    NO_UNKNOWN(p);
    b->kind = KK_PL_ADMIT;
    TRY(codec_get_id(a->member, p->member));
    TRY(codec_get_str(a->name, CODEC_NAME_MAX, p->name));
    a->roles = p->roles;
    TRY(codec_get_country(a->country, p->country));
    if (p->n_facilities > CODEC_FACILITIES_MAX) return KK_ERR(TOO_LARGE);
    a->n_facilities = p->n_facilities;
    for (size_t i = 0; i < p->n_facilities; i++)
      TRY(codec_get_str(a->facilities[i], CODEC_NAME_MAX, p->facilities[i]));
    a->has_succeeds = p->succeeds.len != 0;
    if (a->has_succeeds) TRY(codec_get_id(a->succeeds, p->succeeds));
    a->from_seq = p->from_seq;
    TRY(codec_get_gln(a->gln, p->gln));
    break;
  }
  case KIROKU__BODY__PAYLOAD_SUSPEND: {
    const Kiroku__Suspend *p = m->suspend;
    NO_UNKNOWN(p);
    b->kind = KK_PL_SUSPEND;
    TRY(codec_get_id(b->u.suspend.member, p->member));
    b->u.suspend.from_seq = p->from_seq;
    TRY(codec_get_str(b->u.suspend.reason, CODEC_TEXT_MAX, p->reason));
    break;
  }
  case KIROKU__BODY__PAYLOAD_ROTATE_KEY: {
    const Kiroku__RotateKey *p = m->rotate_key;
    NO_UNKNOWN(p);
    b->kind = KK_PL_ROTATE_KEY;
    TRY(codec_get_id(b->u.rotate_key.new_key, p->new_key));
    if (p->proof.len != 64) return KK_ERR(FIELD);
    memcpy(b->u.rotate_key.proof, p->proof.data, 64);
    break;
  }
  case KIROKU__BODY__PAYLOAD_ISSUE: {
    const Kiroku__Issue *p = m->issue;
    struct kk_issue *x = &b->u.issue;
    NO_UNKNOWN(p);
    b->kind = KK_PL_ISSUE;
    TRY(codec_get_str(x->lot_code, CODEC_CODE_MAX, p->lot_code));
    TRY(codec_get_str(x->material, CODEC_MATERIAL_MAX, p->material));
    x->mass_mg = p->mass_mg;
    x->post_mg = p->post_consumer_mg;
    x->pre_mg = p->pre_consumer_mg;
    TRY(codec_get_country(x->origin, p->origin));
    TRY(codec_get_str(x->facility, CODEC_NAME_MAX, p->facility));
    TRY(codec_get_str(x->scheme, CODEC_SCHEME_MAX, p->scheme));
    TRY(codec_get_str(x->certificate, CODEC_CERT_MAX, p->certificate));
    if (p->n_evidence > CODEC_EVIDENCE_MAX) return KK_ERR(TOO_LARGE);
    x->n_evidence = p->n_evidence;
    for (size_t i = 0; i < p->n_evidence; i++) TRY(codec_get_id(x->evidence[i], p->evidence[i]));
    x->model = p->model;
    break;
  }
  case KIROKU__BODY__PAYLOAD_TRANSFER: {
    const Kiroku__Transfer *p = m->transfer;
    NO_UNKNOWN(p);
    b->kind = KK_PL_TRANSFER;
    TRY(codec_get_lotref(&b->u.transfer.lot, p->lot));
    b->u.transfer.mass_mg = p->mass_mg;
    TRY(codec_get_id(b->u.transfer.to, p->to));
    break;
  }
  case KIROKU__BODY__PAYLOAD_RECEIVE:
    NO_UNKNOWN(m->receive);
    b->kind = KK_PL_RECEIVE;
    TRY(codec_get_id(b->u.receive.transfer, m->receive->transfer));
    break;
  case KIROKU__BODY__PAYLOAD_REFUSE:
    NO_UNKNOWN(m->refuse);
    b->kind = KK_PL_REFUSE;
    TRY(codec_get_id(b->u.refuse.transfer, m->refuse->transfer));
    TRY(codec_get_str(b->u.refuse.reason, CODEC_TEXT_MAX, m->refuse->reason));
    break;
  case KIROKU__BODY__PAYLOAD_TRANSFORM: {
    const Kiroku__Transform *p = m->transform;
    struct kk_transform *t = &b->u.transform;
    NO_UNKNOWN(p);
    b->kind = KK_PL_TRANSFORM;
    t->model = p->model;
    if (p->n_inputs > CODEC_IO_MAX || p->n_outputs > CODEC_IO_MAX ||
        p->n_unledgered > CODEC_UNLEDGERED_MAX)
      return KK_ERR(TOO_LARGE);
    t->n_inputs = p->n_inputs;
    for (size_t i = 0; i < p->n_inputs; i++) {
      NO_UNKNOWN(p->inputs[i]);
      TRY(codec_get_lotref(&t->inputs[i].lot, p->inputs[i]->lot));
      t->inputs[i].mass_mg = p->inputs[i]->mass_mg;
    }
    t->n_unledgered = p->n_unledgered;
    for (size_t i = 0; i < p->n_unledgered; i++) {
      const Kiroku__Unledgered *u = p->unledgered[i];
      NO_UNKNOWN(u);
      TRY(codec_get_str(t->unledgered[i].material, CODEC_MATERIAL_MAX, u->material));
      t->unledgered[i].mass_mg = u->mass_mg;
      TRY(codec_get_country(t->unledgered[i].origin, u->origin));
    }
    t->n_outputs = p->n_outputs;
    for (size_t i = 0; i < p->n_outputs; i++) {
      const Kiroku__Output *o = p->outputs[i];
      NO_UNKNOWN(o);
      TRY(codec_get_str(t->outputs[i].lot_code, CODEC_CODE_MAX, o->lot_code));
      TRY(codec_get_str(t->outputs[i].material, CODEC_MATERIAL_MAX, o->material));
      t->outputs[i].mass_mg = o->mass_mg;
      t->outputs[i].post_mg = o->post_consumer_mg;
      t->outputs[i].pre_mg = o->pre_consumer_mg;
    }
    TRY(codec_get_str(t->process, CODEC_NAME_MAX, p->process));
    break;
  }
  case KIROKU__BODY__PAYLOAD_CLAIM:
    NO_UNKNOWN(m->claim);
    b->kind = KK_PL_CLAIM;
    TRY(codec_get_lotref(&b->u.claim.lot, m->claim->lot));
    b->u.claim.share_ppm = m->claim->share_ppm;
    TRY(codec_get_str(b->u.claim.scope, CODEC_TEXT_MAX, m->claim->scope));
    break;
  case KIROKU__BODY__PAYLOAD_ATTEST:
    NO_UNKNOWN(m->attest);
    b->kind = KK_PL_ATTEST;
    TRY(codec_get_id(b->u.attest.record, m->attest->record));
    TRY(codec_get_str(b->u.attest.statement, CODEC_TEXT_MAX, m->attest->statement));
    break;
  case KIROKU__BODY__PAYLOAD_REVOKE:
    NO_UNKNOWN(m->revoke);
    b->kind = KK_PL_REVOKE;
    TRY(codec_get_id(b->u.revoke.record, m->revoke->record));
    TRY(codec_get_str(b->u.revoke.reason, CODEC_TEXT_MAX, m->revoke->reason));
    break;
  case KIROKU__BODY__PAYLOAD_INCIDENT:
    NO_UNKNOWN(m->incident);
    b->kind = KK_PL_INCIDENT;
    TRY(codec_get_str(b->u.incident.kind, CODEC_NAME_MAX, m->incident->kind));
    TRY(codec_get_id(b->u.incident.about, m->incident->about));
    TRY(codec_get_str(b->u.incident.text, CODEC_TEXT_MAX, m->incident->text));
    break;
  default:
    return KK_ERR(NO_PAYLOAD);
  }
  return 0;
}

static int codec_decode(const uint8_t *buf, size_t len, struct kk_body *out, int check_canonical)
{
  if (len > CODEC_MAX_RECORD) return KK_ERR(TOO_LARGE);
  struct codec_pb pb;
  Kiroku__Body *m = kiroku__body__unpack(codec_pb_init(&pb), len, buf);
  if (!m) return codec_pb_fail(&pb);
  memset(out, 0, sizeof *out);
  int rc = codec_from_pb(m, out);
  if (rc == 0 && check_canonical) {
    /* Canonical: the body must re-encode to exactly the bytes we were given. */
    size_t n = kiroku__body__get_packed_size(m);
    if (n != len) {
      rc = KK_ERR(NONCANONICAL);
    } else {
      uint8_t *again = mem_alloc(n ? n : 1);
      if (!again) rc = -ENOMEM;
      else {
        kiroku__body__pack(m, again);
        if (memcmp(again, buf, n) != 0) rc = KK_ERR(NONCANONICAL);
        mem_free(again);
      }
    }
  }
  kiroku__body__free_unpacked(m, &mem_protobuf);
  return rc;
}

int codec_body_decode(const uint8_t *buf, size_t len, struct kk_body *out)
{
  return codec_decode(buf, len, out, 1);
}

int codec_body_decode_stored(const uint8_t *buf, size_t len, struct kk_body *out)
{
  return codec_decode(buf, len, out, 0);
}

/* ---- body encode ------------------------------------------------------------- */

/* Everything the encoder points protobuf-c at lives here, so nothing is allocated per
 * field and one mem_free() releases nothing: all of it is on the stack of codec_body_encode
 * (heap: it is large). */
struct codec_scratch {
  Kiroku__Body body;
  union {
    Kiroku__Genesis genesis; Kiroku__Admit admit; Kiroku__Suspend suspend;
    Kiroku__RotateKey rotate_key; Kiroku__Issue issue; Kiroku__Transfer transfer;
    Kiroku__Receive receive; Kiroku__Refuse refuse; Kiroku__Transform transform;
    Kiroku__Claim claim; Kiroku__Attest attest; Kiroku__Revoke revoke;
    Kiroku__Incident incident;
  } p;
  Kiroku__LotRef lotref;
  char *facilities[CODEC_FACILITIES_MAX];
  ProtobufCBinaryData evidence[CODEC_EVIDENCE_MAX];
  Kiroku__Input inputs[CODEC_IO_MAX];
  Kiroku__Input *inputp[CODEC_IO_MAX];
  Kiroku__LotRef inrefs[CODEC_IO_MAX];
  Kiroku__Unledgered unl[CODEC_UNLEDGERED_MAX];
  Kiroku__Unledgered *unlp[CODEC_UNLEDGERED_MAX];
  Kiroku__Output outs[CODEC_IO_MAX];
  Kiroku__Output *outp[CODEC_IO_MAX];
};

ProtobufCBinaryData codec_bin(const uint8_t *p, size_t n)
{
  ProtobufCBinaryData b = { n, (uint8_t *)p };
  return b;
}

#define STR(s) ((char *)(s))

static void codec_set_lotref(Kiroku__LotRef *r, const struct kk_lotref *src)
{
  kiroku__lot_ref__init(r);
  r->record = codec_bin(src->record, CODEC_ID);
  r->index = src->index;
}

int codec_body_encode(const struct kk_body *in, uint8_t **out, size_t *outlen)
{
  struct codec_scratch *s = mem_calloc(1, sizeof *s);
  if (!s) return -ENOMEM;
  Kiroku__Body *m = &s->body;
  kiroku__body__init(m);
  m->version = in->version;
  if (in->has_network) m->network = codec_bin(in->network, CODEC_ID);
  m->author = codec_bin(in->author, CODEC_ID);
  m->seq = in->seq;
  if (in->has_prev) m->prev = codec_bin(in->prev, CODEC_ID);
  m->time_ms = in->time_ms;
  if (in->has_source_event) m->source_event = codec_bin(in->source_event, CODEC_ID);

  switch (in->kind) {
  case KK_PL_GENESIS:
    kiroku__genesis__init(&s->p.genesis);
    s->p.genesis.name = STR(in->u.genesis.name);
    m->payload_case = KIROKU__BODY__PAYLOAD_GENESIS;
    m->genesis = &s->p.genesis;
    break;
  case KK_PL_ADMIT: {
    const struct kk_admit *a = &in->u.admit;
    Kiroku__Admit *p = &s->p.admit;
    kiroku__admit__init(p);
    p->member = codec_bin(a->member, CODEC_ID);
    p->name = STR(a->name);
    p->roles = a->roles;
    p->country = STR(a->country);
    for (size_t i = 0; i < a->n_facilities && i < CODEC_FACILITIES_MAX; i++)
      s->facilities[i] = STR(a->facilities[i]);
    p->n_facilities = a->n_facilities < CODEC_FACILITIES_MAX ? a->n_facilities : CODEC_FACILITIES_MAX;
    p->facilities = s->facilities;
    if (a->has_succeeds) p->succeeds = codec_bin(a->succeeds, CODEC_ID);
    p->from_seq = a->from_seq;
    p->gln = STR(a->gln);
    m->payload_case = KIROKU__BODY__PAYLOAD_ADMIT;
    m->admit = p;
    break;
  }
  case KK_PL_SUSPEND:
    kiroku__suspend__init(&s->p.suspend);
    s->p.suspend.member = codec_bin(in->u.suspend.member, CODEC_ID);
    s->p.suspend.from_seq = in->u.suspend.from_seq;
    s->p.suspend.reason = STR(in->u.suspend.reason);
    m->payload_case = KIROKU__BODY__PAYLOAD_SUSPEND;
    m->suspend = &s->p.suspend;
    break;
  case KK_PL_ROTATE_KEY:
    kiroku__rotate_key__init(&s->p.rotate_key);
    s->p.rotate_key.new_key = codec_bin(in->u.rotate_key.new_key, CODEC_ID);
    s->p.rotate_key.proof = codec_bin(in->u.rotate_key.proof, 64);
    m->payload_case = KIROKU__BODY__PAYLOAD_ROTATE_KEY;
    m->rotate_key = &s->p.rotate_key;
    break;
  case KK_PL_ISSUE: {
    const struct kk_issue *x = &in->u.issue;
    Kiroku__Issue *p = &s->p.issue;
    kiroku__issue__init(p);
    p->lot_code = STR(x->lot_code);
    p->material = STR(x->material);
    p->mass_mg = x->mass_mg;
    p->post_consumer_mg = x->post_mg;
    p->pre_consumer_mg = x->pre_mg;
    p->origin = STR(x->origin);
    p->facility = STR(x->facility);
    p->scheme = STR(x->scheme);
    p->certificate = STR(x->certificate);
    p->n_evidence = x->n_evidence < CODEC_EVIDENCE_MAX ? x->n_evidence : CODEC_EVIDENCE_MAX;
    for (size_t i = 0; i < p->n_evidence; i++) s->evidence[i] = codec_bin(x->evidence[i], CODEC_ID);
    p->evidence = s->evidence;
    p->model = x->model;
    m->payload_case = KIROKU__BODY__PAYLOAD_ISSUE;
    m->issue = p;
    break;
  }
  case KK_PL_TRANSFER:
    kiroku__transfer__init(&s->p.transfer);
    codec_set_lotref(&s->lotref, &in->u.transfer.lot);
    s->p.transfer.lot = &s->lotref;
    s->p.transfer.mass_mg = in->u.transfer.mass_mg;
    s->p.transfer.to = codec_bin(in->u.transfer.to, CODEC_ID);
    m->payload_case = KIROKU__BODY__PAYLOAD_TRANSFER;
    m->transfer = &s->p.transfer;
    break;
  case KK_PL_RECEIVE:
    kiroku__receive__init(&s->p.receive);
    s->p.receive.transfer = codec_bin(in->u.receive.transfer, CODEC_ID);
    m->payload_case = KIROKU__BODY__PAYLOAD_RECEIVE;
    m->receive = &s->p.receive;
    break;
  case KK_PL_REFUSE:
    kiroku__refuse__init(&s->p.refuse);
    s->p.refuse.transfer = codec_bin(in->u.refuse.transfer, CODEC_ID);
    s->p.refuse.reason = STR(in->u.refuse.reason);
    m->payload_case = KIROKU__BODY__PAYLOAD_REFUSE;
    m->refuse = &s->p.refuse;
    break;
  case KK_PL_TRANSFORM: {
    const struct kk_transform *t = &in->u.transform;
    Kiroku__Transform *p = &s->p.transform;
    kiroku__transform__init(p);
    p->model = t->model;
    p->n_inputs = t->n_inputs < CODEC_IO_MAX ? t->n_inputs : CODEC_IO_MAX;
    for (size_t i = 0; i < p->n_inputs; i++) {
      kiroku__input__init(&s->inputs[i]);
      codec_set_lotref(&s->inrefs[i], &t->inputs[i].lot);
      s->inputs[i].lot = &s->inrefs[i];
      s->inputs[i].mass_mg = t->inputs[i].mass_mg;
      s->inputp[i] = &s->inputs[i];
    }
    p->inputs = s->inputp;
    p->n_unledgered = t->n_unledgered < CODEC_UNLEDGERED_MAX ? t->n_unledgered : CODEC_UNLEDGERED_MAX;
    for (size_t i = 0; i < p->n_unledgered; i++) {
      kiroku__unledgered__init(&s->unl[i]);
      s->unl[i].material = STR(t->unledgered[i].material);
      s->unl[i].mass_mg = t->unledgered[i].mass_mg;
      s->unl[i].origin = STR(t->unledgered[i].origin);
      s->unlp[i] = &s->unl[i];
    }
    p->unledgered = s->unlp;
    p->n_outputs = t->n_outputs < CODEC_IO_MAX ? t->n_outputs : CODEC_IO_MAX;
    for (size_t i = 0; i < p->n_outputs; i++) {
      kiroku__output__init(&s->outs[i]);
      s->outs[i].lot_code = STR(t->outputs[i].lot_code);
      s->outs[i].material = STR(t->outputs[i].material);
      s->outs[i].mass_mg = t->outputs[i].mass_mg;
      s->outs[i].post_consumer_mg = t->outputs[i].post_mg;
      s->outs[i].pre_consumer_mg = t->outputs[i].pre_mg;
      s->outp[i] = &s->outs[i];
    }
    p->outputs = s->outp;
    p->process = STR(t->process);
    m->payload_case = KIROKU__BODY__PAYLOAD_TRANSFORM;
    m->transform = p;
    break;
  }
  case KK_PL_CLAIM:
    kiroku__claim__init(&s->p.claim);
    codec_set_lotref(&s->lotref, &in->u.claim.lot);
    s->p.claim.lot = &s->lotref;
    s->p.claim.share_ppm = in->u.claim.share_ppm;
    s->p.claim.scope = STR(in->u.claim.scope);
    m->payload_case = KIROKU__BODY__PAYLOAD_CLAIM;
    m->claim = &s->p.claim;
    break;
  case KK_PL_ATTEST:
    kiroku__attest__init(&s->p.attest);
    s->p.attest.record = codec_bin(in->u.attest.record, CODEC_ID);
    s->p.attest.statement = STR(in->u.attest.statement);
    m->payload_case = KIROKU__BODY__PAYLOAD_ATTEST;
    m->attest = &s->p.attest;
    break;
  case KK_PL_REVOKE:
    kiroku__revoke__init(&s->p.revoke);
    s->p.revoke.record = codec_bin(in->u.revoke.record, CODEC_ID);
    s->p.revoke.reason = STR(in->u.revoke.reason);
    m->payload_case = KIROKU__BODY__PAYLOAD_REVOKE;
    m->revoke = &s->p.revoke;
    break;
  case KK_PL_INCIDENT:
    kiroku__incident__init(&s->p.incident);
    s->p.incident.kind = STR(in->u.incident.kind);
    s->p.incident.about = codec_bin(in->u.incident.about, CODEC_ID);
    s->p.incident.text = STR(in->u.incident.text);
    m->payload_case = KIROKU__BODY__PAYLOAD_INCIDENT;
    m->incident = &s->p.incident;
    break;
  default:
    mem_free(s);
    return KK_ERR(NO_PAYLOAD);
  }

  size_t n = kiroku__body__get_packed_size(m);
  int rc = 0;
  uint8_t *buf = NULL;
  if (n > CODEC_MAX_RECORD - 80) rc = KK_ERR(TOO_LARGE);
  else if (!(buf = mem_alloc(n ? n : 1))) rc = -ENOMEM;
  else kiroku__body__pack(m, buf);
  mem_free(s);
  if (rc) return rc;

  /* Whatever we encode must pass our own decoder: that is what peers will run. */
  struct kk_body *check = mem_alloc(sizeof *check);
  if (!check) { mem_free(buf); return -ENOMEM; }
  rc = codec_body_decode(buf, n, check);
  mem_free(check);
  if (rc) { mem_free(buf); return rc; }
  *out = buf;
  *outlen = n;
  return 0;
}

/* ---- names ------------------------------------------------------------------- */

const char *codec_payload_name(enum kk_payload kind)
{
  static const char *const names[KK_PL__COUNT] = {
    "none", "genesis", "admit", "suspend", "rotate-key", "issue", "transfer", "receive",
    "refuse", "transform", "claim", "attest", "revoke", "incident",
  };
  return (unsigned)kind < KK_PL__COUNT ? names[kind] : "unknown";
}

static const char *const codec_models[] = {
  "none", "mass-balance", "controlled-blending", "segregated", "identity-preserved",
};

const char *codec_model_name(uint32_t model)
{
  return model <= KK_MODEL_IDENTITY_PRESERVED ? codec_models[model] : "unknown";
}

int codec_model_parse(const char *name, uint32_t *model)
{
  for (uint32_t i = 1; i <= KK_MODEL_IDENTITY_PRESERVED; i++)
    if (strcmp(name, codec_models[i]) == 0) { *model = i; return 0; }
  return KK_ERR(MODEL);
}

int codec_envelope_body_stored(const uint8_t *env, size_t len, struct kk_body *out)
{
  struct kk_envelope_view ev;
  int rc = codec_envelope_split(env, len, &ev);
  return rc ? rc : codec_body_decode_stored(ev.body, ev.body_len, out);
}
