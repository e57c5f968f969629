/*
 * capture — an EPCIS document made this member's records, all or none (capture.h).
 */
#include "capture.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/ingest.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* The records of a plan, signed in order at the feed's next positions. */
struct signer {
  const struct epcis_member *m;
  uint64_t seq;
  int has_last;
  uint8_t last[32];
  uint64_t now_ms;
  uint8_t **envs;
  size_t *lens;
  size_t n, cap;
};

static int sign_one(void *arg, struct kk_body *b, uint8_t id[32])
{
  struct signer *x = arg;
  if (x->n == x->cap) {
    size_t cap = x->cap ? x->cap * 2 : 16;
    uint8_t **e = mem_realloc(x->envs, cap * sizeof *e);
    if (!e) return -ENOMEM;
    x->envs = e;
    size_t *l = mem_realloc(x->lens, cap * sizeof *l);
    if (!l) return -ENOMEM;
    x->lens = l;
    x->cap = cap;
  }
  b->version = CODEC_VERSION;
  b->has_network = 1;
  memcpy(b->network, x->m->network, 32);
  memcpy(b->author, x->m->pk, 32);
  b->seq = x->seq + 1;
  b->has_prev = x->has_last;
  if (x->has_last) memcpy(b->prev, x->last, 32);
  if (!b->time_ms) b->time_ms = x->now_ms; /* the event's time, else now */
  uint8_t *body, sig[64];
  size_t blen;
  int rc = codec_body_encode(b, &body, &blen);
  if (rc) return rc;
  if ((rc = sig_sign(sig, SIG_TAG_RECORD, body, blen, x->m->sk)) == 0)
    rc = codec_envelope_join(body, blen, sig, &x->envs[x->n], &x->lens[x->n]);
  mem_free(body);
  if (rc) return rc;
  sig_sha256(id, x->envs[x->n], x->lens[x->n]);
  memcpy(x->last, id, 32);
  x->has_last = 1;
  x->seq++;
  x->n++;
  return 0;
}

/* The plan against the store as it is now (the feed's head, its freeze). */
static int plan(struct store *s, const struct epcis_member *m, json_t *doc, const struct epcis_masterdata *md,
                struct signer *x, struct epcis_import *im, char *why, size_t whylen)
{
  struct store_txn *txn;
  struct store_head h;
  uint64_t frozen = 0;
  int rc = store_read(s, &txn);
  if (rc) return rc;
  rc = store_frozen_at(txn, s, m->pk, &frozen);
  if (!rc && frozen) rc = KK_ERR(FROZEN);
  if (!rc && (rc = store_head_get(txn, s, m->pk, &h)) == 0) {
    x->seq = h.seq;
    x->has_last = h.seq > 0;
    memcpy(x->last, h.last_id, 32);
  } else if (rc == STORE_ABSENT) rc = 0;
  if (!rc) rc = epcis_import_plan(txn, s, m->pk, doc, md, sign_one, x, im, why, whylen);
  store_txn_abort(txn);
  return rc;
}

int epcis_capture(struct store *s, const struct epcis_member *m, json_t *doc, const struct epcis_masterdata *md,
                  uint64_t now_ms, epcis_write_fn write, void *warg, struct epcis_import *im, int *write_rc, char *why,
                  size_t whylen)
{
  struct signer x;
  memset(&x, 0, sizeof x);
  x.m = m;
  x.now_ms = now_ms;
  memset(im, 0, sizeof *im);
  *write_rc = 0;
  int rc = plan(s, m, doc, md, &x, im, why, whylen);
  if (rc == 0 && im->records && !im->refused) {
    size_t failed = x.n;
    *write_rc = write(warg, (const uint8_t *const *)x.envs, x.lens, x.n, &failed);
    /* the record the rules refused, as its event */
    size_t k = 0;
    for (size_t i = 0; i < im->n && *write_rc; i++) {
      struct epcis_import_event *e = &im->ev[i];
      if (e->what != EI_RECORD) continue;
      if (k++ != failed) continue;
      e->what = EI_REFUSED;
      snprintf(e->why, sizeof e->why, "the %s it becomes is refused: %s", codec_payload_name(e->body->kind),
               kk_strerror(*write_rc));
      im->refused++;
    }
  }
  for (size_t i = 0; i < x.n; i++) mem_free(x.envs[i]);
  mem_free(x.envs);
  mem_free(x.lens);
  return rc;
}

const char *epcis_import_what_name(enum epcis_import_what w)
{
  switch (w) {
  case EI_RECORD: return "record";
  case EI_HELD: return "held";
  case EI_OTHER_PARTY: return "other_party";
  case EI_UNMAPPED: return "unmapped";
  default: return "refused";
  }
}

json_t *epcis_capture_json(const struct epcis_import *im)
{
  json_t *arr = json_array();
  for (size_t i = 0; arr && i < im->n; i++) {
    const struct epcis_import_event *e = &im->ev[i];
    json_t *j = json_pack("{s:I,s:s,s:s}", "index", (json_int_t)e->index, "event_id", e->event_id, "status",
                          epcis_import_what_name(e->what));
    if (!j) { json_decref(arr); return NULL; }
    if (e->what == EI_RECORD) {
      char hex[65];
      sig_hex(hex, e->id, 32);
      json_object_set_new(j, "record", json_string(hex));
      json_object_set_new(j, "kind", json_string(codec_payload_name(e->body->kind)));
    }
    if (e->why[0]) json_object_set_new(j, "why", json_string(e->why));
    if (json_array_append_new(arr, j)) { json_decref(arr); return NULL; }
  }
  return arr;
}
