/*
 * bundle — proving a lot's provenance, and checking the proof with no node.
 */
#include "bundle.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "ckpt.h"
#include "../base/err.h"
#include "../base/idset.h"
#include "ingest.h"
#include "rules.h"
#include "state.h"
#include "tree.h"
#include "../../crypto/merkle.h"
#include "../../crypto/note.h"
#include "../../crypto/sig.h"
#include "../../crypto/sigbatch.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SIG_TAG_BUNDLE "kiroku/bundle/v1"

static int bundle_fail(char *why, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int bundle_fail(char *why, size_t n, const char *fmt, ...)
{
  va_list ap;
  va_start(ap, fmt);
  if (why && n) vsnprintf(why, n, fmt, ap);
  va_end(ap);
  return KK_ERR(BUNDLE);
}

/* ---- the provenance closure ------------------------------------------------------------ */

struct closure {
  struct store_txn *txn;
  struct store *s;
  struct idset set;
  uint8_t (*queue)[32];
  size_t qn, qcap;
};

static int need(struct closure *c, const uint8_t id[32])
{
  int rc = idset_add(&c->set, id);
  if (rc <= 0) return rc;
  if (c->qn == c->qcap) {
    size_t cap = c->qcap ? c->qcap * 2 : 256;
    void *p = mem_realloc(c->queue, cap * 32);
    if (!p) return -ENOMEM;
    c->queue = p;
    c->qcap = cap;
  }
  memcpy(c->queue[c->qn++], id, 32);
  return 0;
}

/* The member's Admit record (none for the registry). */
static int need_admission(struct closure *c, const uint8_t key[32])
{
  struct member m;
  static const uint8_t zero[32];
  int rc = rules_member_get(c->txn, c->s, key, &m);
  if (rc == STORE_ABSENT) return 0;
  if (rc) return rc;
  return memcmp(m.admitted_by, zero, 32) ? need(c, m.admitted_by) : 0;
}

/* A lot as it stood before its owner's record at seq `before`: what created it, and
 * every spend of it (transfers, transform inputs, claims) the owner made earlier. */
static int need_lot(struct closure *c, const uint8_t key[36], uint64_t before)
{
  uint8_t (*ids)[32];
  uint64_t *seqs;
  struct spend *spends;
  size_t n;
  int rc = need(c, key);
  if (rc || (rc = rules_lot_spends(c->txn, c->s, key, &ids, &seqs, &spends, &n))) return rc;
  for (size_t i = 0; i < n && rc == 0 && seqs[i] < before; i++) rc = need(c, ids[i]);
  mem_free(ids);
  mem_free(seqs);
  mem_free(spends);
  return rc;
}

/* An attestation of the record (attests: record || attestation), for store_each: the
 * attestation joins the bundle. */
static int need_attestation(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)v;
  (void)vl;
  if (kl != 64) return KK_ERR(CORRUPT);
  return need(arg, (const uint8_t *)k + 32);
}

/* Every record that revoked id. */
static int need_revoker(struct closure *c, const uint8_t id[32])
{
  uint8_t (*revs)[32];
  size_t n;
  int rc = rules_revocations(c->txn, c->s, id, &revs, &n);
  for (size_t i = 0; i < n && rc == 0; i++) rc = need(c, revs[i]);
  mem_free(revs);
  return rc;
}

/* Everything the rules need to re-derive record id's verdict and effects. */
static int expand(struct closure *c, const uint8_t id[32], struct kk_body *b)
{
  uint8_t author[32], key[36];
  uint64_t seq;
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(c->txn, c->s, id, author, &seq, &env, &len);
  if (rc) return rc;
  if ((rc = codec_envelope_body_stored(env, len, b)))
    return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  if ((rc = need_admission(c, author))) return rc;
  switch (b->kind) {
  case KK_PL_ISSUE:
    if ((rc = store_each(c->txn, c->s, STORE_DB_ATTESTS, id, 32, need_attestation, c))) return rc;
    return need_revoker(c, id);
  case KK_PL_TRANSFER:
    lotkey_make(key, b->u.transfer.lot.record, b->u.transfer.lot.index);
    if ((rc = need_lot(c, key, seq))) return rc;
    return need_admission(c, b->u.transfer.to);
  case KK_PL_RECEIVE: return need(c, b->u.receive.transfer);
  case KK_PL_REFUSE: return need(c, b->u.refuse.transfer);
  case KK_PL_TRANSFORM:
    for (size_t i = 0; i < b->u.transform.n_inputs; i++) {
      lotkey_make(key, b->u.transform.inputs[i].lot.record, b->u.transform.inputs[i].lot.index);
      if ((rc = need_lot(c, key, seq))) return rc;
    }
    return 0;
  case KK_PL_CLAIM:
    lotkey_make(key, b->u.claim.lot.record, b->u.claim.lot.index);
    if ((rc = need_lot(c, key, seq))) return rc;
    return need_revoker(c, id);
  case KK_PL_ATTEST:
    if ((rc = need(c, b->u.attest.record))) return rc;
    return need_revoker(c, id);
  case KK_PL_REVOKE: return need(c, b->u.revoke.record);
  default: return 0;
  }
}

int bundle_provenance(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], uint8_t (**ids)[32], size_t *n)
{
  struct closure c;
  struct lot l;
  memset(&c, 0, sizeof c);
  c.txn = txn;
  c.s = s;
  *ids = NULL;
  *n = 0;
  lot_init(&l);
  int rc = rules_lot_get(txn, s, lotkey, &l);
  lot_free(&l);
  if (rc) return rc;
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  rc = need_lot(&c, lotkey, UINT64_MAX);
  for (size_t i = 0; i < c.qn && !rc; i++) {
    uint8_t id[32];
    memcpy(id, c.queue[i], 32);
    rc = expand(&c, id, b);
  }
  mem_free(b);
  idset_free(&c.set);
  if (rc) { mem_free(c.queue); return rc; }
  *ids = c.queue;
  *n = c.qn;
  return 0;
}

struct pos { uint8_t author[32]; uint64_t seq; const uint8_t *env; size_t len; };

static int pos_cmp(const void *a, const void *b)
{
  const struct pos *x = a, *y = b;
  int c = memcmp(x->author, y->author, 32);
  return c ? c : (x->seq > y->seq) - (x->seq < y->seq);
}

struct witness_ctx { struct closure *c; size_t n; int rc; };

/* A cosignature line: its witness is counted, and its admission needed (so the
 * checker can tell it is a member). */
static int witness_line(void *arg, const char *name, size_t nl, const char *line, size_t ll)
{
  struct witness_ctx *w = arg;
  uint8_t pk[32];
  (void)line;
  (void)ll;
  if (ckpt_witness_key(name, nl, pk)) return 0;
  w->n++;
  return (w->rc = need_admission(w->c, pk));
}

/* The records of the closure in (author, seq) order, a checkpoint per feed (the one with
 * the most cosignatures that covers its records), and the admissions of the witnesses
 * of those checkpoints, which may add registry records: repeated until nothing is added. */
static int settle(struct closure *c, struct kk_body *b, size_t *expanded, struct pos **ps_out,
                  struct kk_bundle *bd, char ***notes_out, size_t **starts_out, size_t *min_cosigs, char *why,
                  size_t whylen)
{
  for (;;) {
    int rc;
    for (; *expanded < c->qn; (*expanded)++) {
      uint8_t id[32];
      memcpy(id, c->queue[*expanded], 32);
      if ((rc = expand(c, id, b))) return rc;
    }
    struct pos *ps = mem_calloc(c->qn ? c->qn : 1, sizeof *ps);
    if (!ps) return -ENOMEM;
    for (size_t i = 0; i < c->qn; i++)
      if ((rc = store_record_by_id(c->txn, c->s, c->queue[i], ps[i].author, &ps[i].seq, &ps[i].env, &ps[i].len))) {
        mem_free(ps);
        return rc;
      }
    qsort(ps, c->qn, sizeof *ps, pos_cmp);
    size_t nf = 0;
    for (size_t i = 0; i < c->qn; i++) nf += i == 0 || memcmp(ps[i].author, ps[i - 1].author, 32) != 0;
    char **notes = mem_calloc(nf ? nf : 1, sizeof *notes);
    size_t *starts = mem_calloc(nf ? nf : 1, sizeof *starts); /* each feed's first index in ps */
    bd->feeds = mem_calloc(nf ? nf : 1, sizeof *bd->feeds);
    if (!notes || !starts || !bd->feeds) { mem_free(ps); mem_free(notes); mem_free(starts); return -ENOMEM; }
    size_t before = c->qn;
    *min_cosigs = SIZE_MAX;
    rc = 0;
    for (size_t i = 0, f = 0; i < before && rc == 0; f++) {
      size_t j = i;
      while (j < before && memcmp(ps[j].author, ps[i].author, 32) == 0) j++;
      struct kk_bundle_feed *bf = &bd->feeds[f];
      memcpy(bf->author, ps[i].author, 32);
      starts[f] = i;
      bf->n = j - i;
      bd->n_feeds = f + 1;
      uint64_t size;
      rc = ckpt_best(c->txn, c->s, ps[i].author, ps[j - 1].seq, &notes[f], &bf->note_len, &size);
      if (rc == STORE_ABSENT) {
        char hex[65];
        sig_hex(hex, ps[i].author, 32);
        rc = bundle_fail(why, whylen, "feed %.16s… has no checkpoint covering seq %llu yet (is its node running?)", hex,
                         (unsigned long long)ps[j - 1].seq);
        break;
      }
      if (rc) break;
      bf->note = notes[f];
      struct witness_ctx w = { c, 0, 0 };
      note_each_line(bf->note, bf->note_len, witness_line, &w);
      if ((rc = w.rc)) break;
      if (w.n < *min_cosigs) *min_cosigs = w.n;
      i = j;
    }
    if (rc == 0 && c->qn == before) {
      *ps_out = ps;
      *notes_out = notes;
      *starts_out = starts;
      return 0;
    }
    for (size_t f = 0; f < bd->n_feeds; f++) mem_free(notes[f]);
    mem_free(notes);
    mem_free(starts);
    mem_free(bd->feeds);
    bd->feeds = NULL;
    bd->n_feeds = 0;
    mem_free(ps);
    if (rc) return rc;
  }
}

int bundle_prove(struct store_txn *txn, struct store *s, const uint8_t lotkey[36], const uint8_t pk[32],
                 const uint8_t sk[64], uint8_t **out, size_t *len, struct bundle_info *info, char *why,
                 size_t whylen)
{
  struct closure c;
  struct lot l;
  struct kk_body *b = mem_alloc(sizeof *b);
  struct pos *ps = NULL;
  struct kk_bundle bd;
  struct kk_bundle_record *recs = NULL;
  char **notes = NULL;
  size_t *starts = NULL;
  uint8_t (*proofs)[32] = NULL;
  uint8_t *body = NULL;
  size_t expanded = 0, blen;
  int rc;
  memset(&c, 0, sizeof c);
  memset(&bd, 0, sizeof bd);
  memset(info, 0, sizeof *info);
  c.txn = txn;
  c.s = s;
  lot_init(&l);
  if (!b) return -ENOMEM;
  uint8_t signer[32];
  sig_public(signer, sk);
  if (memcmp(signer, pk, 32) != 0) {
    /* A checker knows the prover by its feed id and would check the bundle with it. */
    rc = bundle_fail(why, whylen, "your key was rotated (kiroku rotate-key): proof bundles by a rotated key are not supported yet");
    goto done;
  }
  if ((rc = rules_lot_get(txn, s, lotkey, &l))) goto done;
  /* The lot as it stands now, everything behind it, and who is proving it. */
  if ((rc = need_lot(&c, lotkey, UINT64_MAX)) || (rc = need_admission(&c, pk))) goto done;
  if ((rc = settle(&c, b, &expanded, &ps, &bd, &notes, &starts, &info->min_cosigs, why, whylen))) goto done;
  recs = mem_calloc(c.qn ? c.qn : 1, sizeof *recs);
  proofs = mem_calloc((c.qn ? c.qn : 1) * TREE_MAX_PROOF, 32);
  if (!recs || !proofs) { rc = -ENOMEM; goto done; }
  const void *net;
  size_t nl;
  if ((rc = store_meta_get(txn, s, "network", &net, &nl))) goto done;
  memcpy(bd.network, net, 32);
  memcpy(bd.lot, lotkey, 36);
  for (size_t f = 0; f < bd.n_feeds; f++) {
    struct kk_bundle_feed *bf = &bd.feeds[f];
    size_t first = starts[f];
    struct ckpt_view v;
    if (ckpt_parse(bf->note, bf->note_len, &v)) { rc = KK_ERR(CORRUPT); goto done; }
    bf->recs = recs + first;
    for (size_t k = first; k < first + bf->n; k++) {
      recs[k].env = ps[k].env;
      recs[k].len = ps[k].len;
      recs[k].proof = proofs + k * TREE_MAX_PROOF;
      if ((rc = tree_inclusion(txn, s, ps[k].author, ps[k].seq - 1, v.size, recs[k].proof, &recs[k].n_proof))) goto done;
    }
  }
  if ((rc = codec_bundle_body_encode(&bd, &body, &blen))) goto done;
  uint8_t sig[64];
  if ((rc = sig_sign(sig, SIG_TAG_BUNDLE, body, blen, sk)) || (rc = codec_bundle_encode(body, blen, pk, sig, out, len)))
    goto done;
  info->records = c.qn;
  info->feeds = bd.n_feeds;
  if (info->min_cosigs == SIZE_MAX) info->min_cosigs = 0;
  memcpy(info->prover, pk, 32);
done:
  for (size_t f = 0; notes && f < bd.n_feeds; f++) mem_free(notes[f]);
  mem_free(notes);
  mem_free(starts);
  mem_free(proofs);
  mem_free(recs);
  mem_free(bd.feeds);
  mem_free(body);
  mem_free(ps);
  mem_free(b);
  mem_free(c.queue);
  idset_free(&c.set);
  lot_free(&l);
  return rc;
}

/* ---- checking ----------------------------------------------------------------------------- */

/* Keys the bundle's registry records admit (plus the registry). */
struct admitted { uint8_t (*keys)[32]; size_t n; };

static int is_admitted(const struct admitted *a, const uint8_t key[32])
{
  for (size_t i = 0; i < a->n; i++)
    if (memcmp(a->keys[i], key, 32) == 0) return 1;
  return 0;
}

struct note_check {
  const struct kk_bundle_feed *f;
  const char *origin;
  const uint8_t *author;
  const struct admitted *members;
  size_t text_len;
  int author_ok;
  size_t witnesses;
  uint8_t (*seen)[32];
  char *why;
  size_t whylen;
};

/* One signature line of a bundled checkpoint: the author's must verify; witnesses'
 * are counted. */
static int check_line(void *arg, const char *name, size_t nl, const char *line, size_t ll)
{
  struct note_check *c = arg;
  size_t one_len = c->text_len + 1 + ll;
  char *one = mem_alloc(one_len), nm[CKPT_ORIGIN_MAX];
  uint8_t pk[32];
  if (!one) return -ENOMEM;
  memcpy(one, c->f->note, c->text_len + 1);
  memcpy(one + c->text_len + 1, line, ll);
  int rc = 0;
  if (nl == strlen(c->origin) && memcmp(name, c->origin, nl) == 0) {
    if (c->author_ok || note_verify(one, one_len, c->origin, c->author))
      rc = bundle_fail(c->why, c->whylen, "a checkpoint's author signature does not verify");
    else c->author_ok = 1;
  } else if (ckpt_witness_key(name, nl, pk) == 0 && nl < sizeof nm) {
    /* Counted when it verifies, by a distinct admitted member other than the author;
     * anything else adds nothing (the prover's signature keeps the lines as they were). */
    memcpy(nm, name, nl);
    nm[nl] = 0;
    int dup = 0;
    for (size_t i = 0; i < c->witnesses; i++) dup |= memcmp(c->seen[i], pk, 32) == 0;
    if (!dup && is_admitted(c->members, pk) && memcmp(pk, c->author, 32) != 0 &&
        note_verify_cosignature(one, one_len, nm, pk, NULL) == 0)
      memcpy(c->seen[c->witnesses++], pk, 32);
  }
  mem_free(one);
  return rc;
}

/* What the checks learn of each record once, in bundle order: its id and seq. */
struct rec_info { uint8_t id[32]; uint64_t seq; };

struct scratch_ctx {
  struct store *s;
  const struct kk_bundle *bd;
  const struct rec_info *info;
  const uint8_t *genesis;
  size_t glen;
  uint8_t network[32], registry[32];
};

static int scratch_fn(struct store_txn *txn, void *arg)
{
  struct scratch_ctx *x = arg;
  uint8_t gid[32];
  int rc;
  if ((rc = store_meta_put(txn, x->s, "network", x->network, 32)) ||
      (rc = store_meta_put(txn, x->s, "registry", x->registry, 32)))
    return rc;
  sig_sha256(gid, x->genesis, x->glen);
  if ((rc = store_record_put_sparse(txn, x->s, gid, x->registry, 1, x->genesis, x->glen))) return rc;
  uint8_t (*feeds)[32] = mem_alloc((x->bd->n_feeds + 1) * 32);
  if (!feeds) return -ENOMEM;
  memcpy(feeds[0], x->registry, 32);
  const struct rec_info *ri = x->info;
  for (size_t i = 0; i < x->bd->n_feeds; i++) {
    const struct kk_bundle_feed *f = &x->bd->feeds[i];
    memcpy(feeds[i + 1], f->author, 32);
    for (size_t j = 0; j < f->n && rc == 0; j++, ri++)
      rc = store_record_put_sparse(txn, x->s, ri->id, f->author, ri->seq, f->recs[j].env, f->recs[j].len);
  }
  if (rc == 0) rc = rules_advance(x->s, txn, (const uint8_t(*)[32])feeds, x->bd->n_feeds + 1);
  mem_free(feeds);
  return rc;
}

int bundle_verify(const uint8_t *buf, size_t len, const uint8_t *genesis, size_t glen, unsigned witnesses,
                  struct store *scratch, uint8_t lotkey[36], struct bundle_info *info, char *why, size_t whylen)
{
  struct kk_bundle bd;
  struct admitted members = { NULL, 0 };
  struct kk_body *b = mem_alloc(sizeof *b);
  struct rec_info *ri = NULL;
  struct sig_job *jobs = NULL;
  struct sigbatch batch;
  int checking = 0;             /* the batch was started: join it before returning */
  uint8_t network[32], registry[32];
  char hex[65];
  int rc;
  memset(info, 0, sizeof *info);
  if (!b) return -ENOMEM;
  if (len > BUNDLE_MAX) { mem_free(b); return bundle_fail(why, whylen, "larger than %u bytes", BUNDLE_MAX); }
  if ((rc = codec_bundle_decode(buf, len, &bd))) {
    mem_free(b);
    return rc == -ENOMEM ? rc : bundle_fail(why, whylen, "not a proof bundle (%s)", kk_strerror(rc));
  }
  if ((rc = ingest_check_genesis(genesis, glen, network, registry))) {
    rc = bundle_fail(why, whylen, "the genesis file is not a valid genesis record (%s)", kk_strerror(rc));
    goto done;
  }
  if (memcmp(bd.network, network, 32) != 0) { rc = bundle_fail(why, whylen, "the bundle belongs to another network"); goto done; }
  if ((rc = sig_verify(bd.sig, SIG_TAG_BUNDLE, bd.body, bd.body_len, bd.prover))) {
    if (rc != -ENOMEM) rc = bundle_fail(why, whylen, "the prover's signature over the bundle does not verify");
    goto done;
  }
  memcpy(info->prover, bd.prover, 32);
  size_t total = 0;
  for (size_t i = 0; i < bd.n_feeds; i++) total += bd.feeds[i].n;
  if (!(members.keys = mem_alloc((total + 1) * 32)) || !(ri = mem_alloc((total + 1) * sizeof *ri)) ||
      !(jobs = mem_alloc((total + 1) * sizeof *jobs))) {
    rc = -ENOMEM;
    goto done;
  }
  memcpy(members.keys[members.n++], registry, 32);

  /* Records: canonical, this network, their feed's author, in seq order; their
   * signatures are checked on every core while the checkpoints and the rules are (the
   * verdict waits for both). Admit records of the registry name the members. */
  size_t at = 0;
  for (size_t i = 0; i < bd.n_feeds; i++) {
    const struct kk_bundle_feed *f = &bd.feeds[i];
    sig_hex(hex, f->author, 32);
    if (i > 0 && memcmp(bd.feeds[i - 1].author, f->author, 32) >= 0) {
      rc = bundle_fail(why, whylen, "feeds out of order");
      goto done;
    }
    uint64_t last = memcmp(f->author, registry, 32) == 0; /* the genesis is seq 1 */
    for (size_t j = 0; j < f->n; j++) {
      struct kk_envelope_view ev;
      int dc = codec_envelope_split(f->recs[j].env, f->recs[j].len, &ev) ? KK_ERR(DECODE)
                                                                          : codec_body_decode(ev.body, ev.body_len, b);
      if (dc == -ENOMEM) { /* no verdict on the bundle */
        rc = dc;
        goto done;
      }
      if (dc) {
        rc = bundle_fail(why, whylen, "record %zu of feed %.16s… does not decode", j, hex);
        goto done;
      }
      if (!b->has_network || memcmp(b->network, network, 32) || memcmp(b->author, f->author, 32) || b->seq <= last) {
        rc = bundle_fail(why, whylen, "record seq %llu of feed %.16s… is misplaced (network, feed or order)",
                         (unsigned long long)b->seq, hex);
        goto done;
      }
      if (b->kind == KK_PL_ADMIT && b->u.admit.has_succeeds) {
        rc = bundle_fail(why, whylen, "the provenance passes through a succession: not supported in bundles yet");
        goto done;
      }
      if (b->kind == KK_PL_ROTATE_KEY) {
        rc = bundle_fail(why, whylen, "feed %.16s… rotated its key: not supported in bundles yet", hex);
        goto done;
      }
      jobs[at] = (struct sig_job){ ev.sig, ev.body, f->author, SIG_TAG_RECORD, ev.body_len, 0 };
      sig_sha256(ri[at].id, f->recs[j].env, f->recs[j].len);
      ri[at++].seq = b->seq;
      last = b->seq;
      if (b->kind == KK_PL_ADMIT && memcmp(f->author, registry, 32) == 0) memcpy(members.keys[members.n++], b->u.admit.member, 32);
    }
  }
  if (!is_admitted(&members, bd.prover)) { rc = bundle_fail(why, whylen, "the prover is not an admitted member"); goto done; }
  sigbatch_start(&batch, jobs, total, 0);
  checking = 1;

  /* Checkpoints: the author's signature, K cosignatures, every line valid; each record
   * included at its position. */
  info->min_cosigs = SIZE_MAX;
  at = 0;
  for (size_t i = 0; i < bd.n_feeds; i++) {
    const struct kk_bundle_feed *f = &bd.feeds[i];
    struct ckpt_view v;
    char origin[CKPT_ORIGIN_MAX];
    sig_hex(hex, f->author, 32);
    if (ckpt_parse(f->note, f->note_len, &v) || memcmp(v.network, network, 32) || memcmp(v.author, f->author, 32)) {
      rc = bundle_fail(why, whylen, "the checkpoint of feed %.16s… is malformed or names another feed", hex);
      goto done;
    }
    ckpt_origin(origin, network, f->author);
    struct note_check nc = { f, origin, f->author, &members, v.text_len, 0, 0, NULL, why, whylen };
    if (!(nc.seen = mem_alloc((members.n + 1) * 32))) { rc = -ENOMEM; goto done; }
    rc = note_each_line(f->note, f->note_len, check_line, &nc);
    mem_free(nc.seen);
    if (rc == -1) rc = bundle_fail(why, whylen, "the checkpoint of feed %.16s… is not a signed note", hex);
    if (rc) goto done;
    if (!nc.author_ok) { rc = bundle_fail(why, whylen, "the checkpoint of feed %.16s… lacks its author's signature", hex); goto done; }
    if (nc.witnesses < witnesses) {
      rc = bundle_fail(why, whylen, "the checkpoint of feed %.16s… has %zu cosignatures, %u required", hex, nc.witnesses, witnesses);
      goto done;
    }
    if (nc.witnesses < info->min_cosigs) info->min_cosigs = nc.witnesses;
    struct merkle_memo memo;
    merkle_memo_init(&memo, v.size, v.root);
    for (size_t j = 0; j < f->n && rc == 0; j++, at++) {
      uint8_t leaf[32];
      uint64_t seq = ri[at].seq;
      merkle_leaf_hash(leaf, f->recs[j].env, f->recs[j].len);
      rc = seq > v.size ? -1 : merkle_memo_verify(&memo, seq - 1, leaf, (const uint8_t(*)[32])f->recs[j].proof, f->recs[j].n_proof);
      if (rc == -1)
        rc = bundle_fail(why, whylen, "record seq %llu of feed %.16s… is not included in its checkpoint",
                         (unsigned long long)seq, hex);
    }
    merkle_memo_free(&memo);
    if (rc) goto done;
  }
  if (info->min_cosigs == SIZE_MAX) info->min_cosigs = 0;

  /* The rules, over exactly these records. */
  struct scratch_ctx x = { scratch, &bd, ri, genesis, glen, { 0 }, { 0 } };
  memcpy(x.network, network, 32);
  memcpy(x.registry, registry, 32);
  if ((rc = store_write(scratch, scratch_fn, &x))) goto done;
  struct store_txn *txn;
  if ((rc = store_read(scratch, &txn))) goto done;
  for (size_t i = 0; i < total && rc == 0; i++) {
    struct rules_status st;
    sig_hex(hex, ri[i].id, 32);
    int r = rules_status_get(txn, scratch, ri[i].id, &st);
    if (r == STORE_ABSENT)
      rc = bundle_fail(why, whylen, "record %.16s… waits for records the bundle does not hold", hex);
    else if (r) rc = r;
    else if (st.verdict != RULES_VALID)
      rc = bundle_fail(why, whylen, "record %.16s… is not valid under the rules: %s", hex, kk_strerror(st.err));
  }
  struct lot l;
  lot_init(&l);
  if (rc == 0 && rules_lot_get(txn, scratch, bd.lot, &l) != 0) rc = bundle_fail(why, whylen, "the bundle's lot is not among its records");
  lot_free(&l);
  store_txn_abort(txn);
  if (rc) goto done;
  memcpy(lotkey, bd.lot, 36);
  info->records = total;
  info->feeds = bd.n_feeds;
done:
  if (checking && sigbatch_join(&batch)) {
    /* A signature that does not verify is the answer, whatever else failed: the rest
     * was judged on records nobody signed. */
    at = 0;
    for (size_t i = 0; i < bd.n_feeds; i++)
      for (size_t j = 0; j < bd.feeds[i].n; j++, at++) {
        if (jobs[at].result == 0) continue;
        if (jobs[at].result == -ENOMEM) { rc = -ENOMEM; goto found; }
        sig_hex(hex, bd.feeds[i].author, 32);
        rc = bundle_fail(why, whylen, "the signature of record seq %llu of feed %.16s… does not verify",
                         (unsigned long long)ri[at].seq, hex);
        goto found;
      }
  }
found:
  mem_free(ri);
  mem_free(jobs);
  mem_free(members.keys);
  mem_free(b);
  codec_bundle_free(&bd);
  return rc;
}
