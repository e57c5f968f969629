/*
 * evidence — building, checking and keeping evidence of equivocation.
 */
#include "evidence.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "ckpt_note.h"
#include "../base/err.h"
#include "rules.h"
#include "../../crypto/merkle.h"
#include "../../crypto/note.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int evidence_from_records(const uint8_t network[32], const uint8_t *ra, size_t la, const uint8_t *rb,
                          size_t lb, uint8_t **out, size_t *len)
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  int rc;
  if (!b) return -ENOMEM;
  struct kk_equivocation e;
  memset(&e, 0, sizeof e);
  if ((rc = codec_envelope_split(ra, la, &ev)) || (rc = codec_body_decode(ev.body, ev.body_len, b))) goto done;
  memcpy(e.network, network, 32);
  memcpy(e.author, b->author, 32);
  e.record_a = ra;
  e.record_a_len = la;
  e.record_b = rb;
  e.record_b_len = lb;
  rc = codec_equivocation_encode(&e, out, len);
done:
  mem_free(b);
  return rc;
}

int evidence_from_checkpoints(const uint8_t network[32], const uint8_t author[32], const char *ca, size_t la,
                              const char *cb, size_t lb, uint8_t **out, size_t *len)
{
  struct kk_equivocation e;
  memset(&e, 0, sizeof e);
  memcpy(e.network, network, 32);
  memcpy(e.author, author, 32);
  e.checkpoint_a = (const uint8_t *)ca;
  e.checkpoint_a_len = la;
  e.checkpoint_b = (const uint8_t *)cb;
  e.checkpoint_b_len = lb;
  return codec_equivocation_encode(&e, out, len);
}

int evidence_from_bad_record(const uint8_t network[32], const uint8_t author[32], const char *note, size_t nlen,
                             const uint8_t *env, size_t elen, const uint8_t (*proof)[32], size_t n_proof,
                             uint8_t **out, size_t *len)
{
  struct kk_equivocation e;
  memset(&e, 0, sizeof e);
  memcpy(e.network, network, 32);
  memcpy(e.author, author, 32);
  e.record_a = env;
  e.record_a_len = elen;
  e.checkpoint_a = (const uint8_t *)note;
  e.checkpoint_a_len = nlen;
  e.n_proof = n_proof;
  e.proof = (uint8_t(*)[32])proof;
  return codec_equivocation_encode(&e, out, len);
}

/* One record of the pair: decoded, of the evidence's network and author, signed by key. */
static int evidence_record(const struct kk_equivocation *e, const uint8_t *env, size_t len, const uint8_t key[32],
                           struct kk_body *b, uint8_t id[32])
{
  struct kk_envelope_view ev;
  int rc;
  if (codec_envelope_split(env, len, &ev)) return KK_ERR(EVIDENCE);
  if ((rc = codec_body_decode(ev.body, ev.body_len, b))) return rc == -ENOMEM ? rc : KK_ERR(EVIDENCE);
  if (!b->has_network || memcmp(b->network, e->network, 32) != 0 || memcmp(b->author, e->author, 32) != 0)
    return KK_ERR(EVIDENCE);
  rc = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, key);
  if (rc) return rc == -ENOMEM ? rc : KK_ERR(EVIDENCE);
  sig_sha256(id, env, len);
  return 0;
}

static int evidence_checkpoint(const struct kk_equivocation *e, const uint8_t *note, size_t len, const uint8_t key[32],
                               struct ckpt_view *v)
{
  char origin[CKPT_ORIGIN_MAX];
  if (ckpt_parse((const char *)note, len, v) || memcmp(v->network, e->network, 32) != 0 ||
      memcmp(v->author, e->author, 32) != 0)
    return KK_ERR(EVIDENCE);
  ckpt_origin(origin, e->network, e->author);
  return note_verify((const char *)note, len, origin, key) ? KK_ERR(EVIDENCE) : 0;
}

/* A checkpoint over a record whose signature fails. */
static int evidence_check_bad_record(const struct kk_equivocation *e, const uint8_t key[32], struct evidence_info *info)
{
  struct ckpt_view v;
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  int rc = KK_ERR(EVIDENCE);
  if (!b) return -ENOMEM;
  if (evidence_checkpoint(e, e->checkpoint_a, e->checkpoint_a_len, key, &v)) goto done;
  if (codec_envelope_split(e->record_a, e->record_a_len, &ev)) goto done;
  int dc = codec_body_decode(ev.body, ev.body_len, b);
  if (dc) { /* out of memory is no verdict on the evidence */
    if (dc == -ENOMEM) rc = dc;
    goto done;
  }
  if (!b->has_network || memcmp(b->network, e->network, 32) || memcmp(b->author, e->author, 32)) goto done;
  uint8_t leaf[32];
  merkle_leaf_hash(leaf, e->record_a, e->record_a_len);
  if (b->seq == 0 || b->seq > v.size ||
      merkle_verify_inclusion(b->seq - 1, v.size, leaf, (const uint8_t(*)[32])e->proof, e->n_proof, v.root))
    goto done;
  int sv = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, key);
  if (sv == -ENOMEM) { rc = sv; goto done; }
  if (sv == 0) goto done; /* it does verify: no evidence */
  info->kind = EVIDENCE_BAD_RECORD;
  info->seq = b->seq;
  sig_sha256(info->a, e->record_a, e->record_a_len);
  memcpy(info->b, v.root, 32);
  rc = 0;
done:
  mem_free(b);
  return rc;
}

int evidence_check(const uint8_t *buf, size_t len, const uint8_t key[32], struct evidence_info *info)
{
  struct kk_equivocation e;
  int rc;
  memset(info, 0, sizeof *info);
  if ((rc = codec_equivocation_decode(buf, len, &e))) return rc;
  if (!key) key = e.author;
  sig_sha256(info->id, buf, len);
  memcpy(info->network, e.network, 32);
  memcpy(info->author, e.author, 32);
  if (e.record_a && e.checkpoint_a) {
    rc = evidence_check_bad_record(&e, key, info);
  } else if (e.record_a) {
    struct kk_body *a = mem_alloc(sizeof *a), *b = mem_alloc(sizeof *b);
    rc = a && b ? 0 : -ENOMEM;
    if (rc == 0) rc = evidence_record(&e, e.record_a, e.record_a_len, key, a, info->a);
    if (rc == 0) rc = evidence_record(&e, e.record_b, e.record_b_len, key, b, info->b);
    if (rc == 0 && (a->seq != b->seq || memcmp(info->a, info->b, 32) == 0)) rc = KK_ERR(EVIDENCE);
    if (rc == 0) { info->kind = EVIDENCE_RECORDS; info->seq = a->seq; }
    mem_free(a);
    mem_free(b);
  } else {
    struct ckpt_view va, vb;
    if ((rc = evidence_checkpoint(&e, e.checkpoint_a, e.checkpoint_a_len, key, &va)) == 0 &&
        (rc = evidence_checkpoint(&e, e.checkpoint_b, e.checkpoint_b_len, key, &vb)) == 0) {
      if (va.size != vb.size || memcmp(va.root, vb.root, 32) == 0) rc = KK_ERR(EVIDENCE);
      else {
        info->kind = EVIDENCE_CHECKPOINTS;
        info->seq = va.size;
        memcpy(info->a, va.root, 32);
        memcpy(info->b, vb.root, 32);
      }
    }
  }
  codec_equivocation_free(&e);
  return rc;
}

int evidence_store(struct store_txn *txn, struct store *s, const uint8_t *buf, size_t len, struct evidence_info *info,
                   int *is_new)
{
  const void *v;
  size_t vn;
  int rc;
  *is_new = 0;
  /* The key that signed: for records at seq, the feed's key after seq - 1 records; for
   * checkpoints of size n, its key after n records (as far as this node's log goes). */
  struct kk_equivocation e;
  if ((rc = codec_equivocation_decode(buf, len, &e))) return rc;
  uint64_t pos = 0;
  if (e.record_a) { /* records, or a bad record: the key that should have signed it */
    struct kk_envelope_view ev;
    struct kk_body *b = mem_alloc(sizeof *b);
    if (!b) {
      codec_equivocation_free(&e);
      return -ENOMEM;
    }
    int dc = codec_envelope_split(e.record_a, e.record_a_len, &ev) ? KK_ERR(EVIDENCE)
                                                                     : codec_body_decode(ev.body, ev.body_len, b);
    if (dc == 0) pos = b->seq ? b->seq - 1 : 0;
    mem_free(b);
    if (dc == -ENOMEM) { /* not knowing the key would misjudge the evidence */
      codec_equivocation_free(&e);
      return dc;
    }
  } else {
    struct ckpt_view cv;
    if (ckpt_parse((const char *)e.checkpoint_a, e.checkpoint_a_len, &cv) == 0) pos = cv.size;
  }
  struct store_head h;
  uint8_t key[32];
  memcpy(key, e.author, 32);
  rc = store_head_get(txn, s, e.author, &h);
  if (rc == 0) rc = store_key_at(txn, s, e.author, pos < h.seq ? pos : h.seq, key);
  else if (rc == STORE_ABSENT) rc = 0;
  codec_equivocation_free(&e);
  if (rc) return rc;
  if ((rc = evidence_check(buf, len, key, info))) return rc;
  if ((rc = store_meta_get(txn, s, "network", &v, &vn))) return rc;
  if (vn != 32 || memcmp(v, info->network, 32) != 0) return KK_ERR(EVIDENCE);
  rc = store_get(txn, s, STORE_DB_EVIDENCE, info->id, 32, &v, &vn);
  if (rc == 0) return 0;
  if (rc != STORE_ABSENT) return rc;
  if ((rc = store_put(txn, s, STORE_DB_EVIDENCE, info->id, 32, buf, len))) return rc;
  *is_new = 1;
  uint64_t frozen, at = info->seq ? info->seq : 1;
  if ((rc = store_frozen_at(txn, s, info->author, &frozen))) return rc;
  if (frozen && frozen <= at) return 0;
  uint8_t fv[8];
  be64_put(fv, at);
  if ((rc = store_put(txn, s, STORE_DB_FROZEN, info->author, 32, fv, 8))) return rc;
  /* Records at or past the fork point already applied: recompute without them. */
  const void *cur;
  size_t cn;
  rc = store_get(txn, s, STORE_DB_CURSORS, info->author, 32, &cur, &cn);
  if (rc && rc != STORE_ABSENT) return rc;
  if (rc == 0 && cn == 8 && be64_get(cur) >= at) return rules_rebuild(s, txn);
  /* Nothing to take back; but the feed now ends sooner, which may settle a succession. */
  return rules_advance(s, txn, (const uint8_t (*)[32])info->author, 1);
}

int evidence_get(struct store_txn *txn, struct store *s, const uint8_t id[32], const uint8_t **buf, size_t *len)
{
  const void *v;
  int rc = store_get(txn, s, STORE_DB_EVIDENCE, id, 32, &v, len);
  if (rc == 0) *buf = v;
  return rc;
}

struct evidence_each { evidence_fn fn; void *arg; };

static int evidence_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct evidence_each *e = arg;
  if (kl != 32) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, v, vl);
}

int evidence_each(struct store_txn *txn, struct store *s, evidence_fn fn, void *arg)
{
  struct evidence_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_EVIDENCE, NULL, 0, evidence_one, &e);
}

struct against { const uint8_t *author; uint8_t *id; uint64_t best; };

static int against_one(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len)
{
  struct against *a = arg;
  struct evidence_info in;
  /* Stored evidence was checked on arrival (maybe against a key rotated since): read,
   * not judged again. */
  if (evidence_check(buf, len, NULL, &in) != 0) return 0;
  if (memcmp(in.author, a->author, 32) != 0 || in.seq >= a->best) return 0;
  a->best = in.seq;
  memcpy(a->id, id, 32);
  return 0;
}

int evidence_against(struct store_txn *txn, struct store *s, const uint8_t author[32], uint8_t id[32])
{
  struct against a = { author, id, UINT64_MAX };
  int rc = evidence_each(txn, s, against_one, &a);
  if (rc) return rc;
  return a.best == UINT64_MAX ? STORE_ABSENT : 0;
}
