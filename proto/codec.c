/*
 * codec — record envelopes and bodies between bytes and plain C structs.
 *
 * Envelopes are parsed by hand (their canonical form is fixed: tag 0x0a, minimal varint
 * length, body, tag 0x12, 0x40, 64 signature bytes). Bodies go through protobuf-c, then
 * are checked for unknown fields and re-encoded: only a body whose re-encoding is
 * byte-identical is accepted.
 */
#include "codec.h"
#include "kiroku.pb-c.h"
#include "../node/base/err.h"
#include "../node/base/mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* protobuf-c allocates through mem, so decoding takes part in fault injection. Its
 * unpack answers NULL both for bad bytes and for a failed allocation: each unpack gets
 * its own allocator (struct codec_pb) that notes the latter, so a decoder can answer
 * -ENOMEM (try again) rather than KK_E_DECODE (the peer sent garbage). */
struct codec_pb { ProtobufCAllocator a; int oom; };

static void *codec_pb_alloc(void *data, size_t n)
{
  void *p = mem_alloc(n);
  if (!p && data) ((struct codec_pb *)data)->oom = 1;
  return p;
}

static void codec_pb_free(void *data, void *p) { (void)data; mem_free(p); }

/* For *_free_unpacked: freeing needs no per-call state. */
static ProtobufCAllocator mem_protobuf = { codec_pb_alloc, codec_pb_free, NULL };

static ProtobufCAllocator *codec_pb_init(struct codec_pb *pb)
{
  pb->a = (ProtobufCAllocator){ codec_pb_alloc, codec_pb_free, pb };
  pb->oom = 0;
  return &pb->a;
}

/* The error for a NULL unpack. */
static int codec_pb_fail(const struct codec_pb *pb) { return pb->oom ? -ENOMEM : KK_ERR(DECODE); }

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

static ProtobufCBinaryData codec_bin(const uint8_t *p, size_t n)
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
