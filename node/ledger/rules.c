/*
 * rules — evaluation engine (cursors, waits, rebuild) and the rule for each payload.
 *
 * Each rule_* function checks a record against the state, returns RULE_WAIT (with the
 * dependency in ctx->dep) when something it needs has not been evaluated yet, a
 * negative Kiroku error when the record breaks a rule (nothing was written), or 0 after
 * applying its effects. Checks come before effects in every function, so an invalid
 * record changes nothing but its own status.
 */
#include "rules.h"
#include "posdb.h"
#include "material.h"
#include "qty.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RULE_WAIT 1
#define PPM 1000000u

/* Dependency keys in `pending`: a tag byte then 32 bytes. */
#define DEP_RECORD 'R'   /* a record id that must be evaluated */
#define DEP_ADMIT 'A'    /* a key that must be admitted */

struct rules_ctx {
  struct store *s;
  MDB_txn *txn;
  uint8_t registry[32];
  int have_registry;
  int rebuild;                 /* a suspension reached back into applied records */
  uint8_t dep[33];             /* what the current record waits for */
  /* work queue of feeds */
  uint8_t (*queue)[32];
  size_t qn, qcap;
  /* The records this evaluation read, by id (hashed as they were read): a reference to
   * one is found without hashing it again (ctx_record_by_id). Open addressing. */
  struct known { uint8_t id[32], author[32]; uint64_t seq; } *known;
  size_t known_n, known_cap;
};

/* ---- records this evaluation has read ---------------------------------------------- */

static size_t known_slot(const struct rules_ctx *c, const uint8_t id[32])
{
  uint64_t h;
  memcpy(&h, id, 8); /* a SHA-256: its bytes are as good as any hash of them */
  size_t i = (size_t)h & (c->known_cap - 1);
  while (c->known[i].seq && memcmp(c->known[i].id, id, 32) != 0) i = (i + 1) & (c->known_cap - 1);
  return i;
}

/* Remembers that record id is at (author, seq); without memory, it is not remembered
 * (the lookups it would have saved still work). */
static void known_add(struct rules_ctx *c, const uint8_t id[32], const uint8_t author[32], uint64_t seq)
{
  if (2 * (c->known_n + 1) > c->known_cap) {
    size_t cap = c->known_cap ? 2 * c->known_cap : 1024;
    struct known *old = c->known, *t = mem_calloc(cap, sizeof *t);
    size_t old_cap = c->known_cap;
    if (!t) return;
    c->known = t;
    c->known_cap = cap;
    for (size_t i = 0; i < old_cap; i++)
      if (old[i].seq) c->known[known_slot(c, old[i].id)] = old[i];
    mem_free(old);
  }
  struct known *k = &c->known[known_slot(c, id)];
  if (!k->seq) c->known_n++;
  memcpy(k->id, id, 32);
  memcpy(k->author, author, 32);
  k->seq = seq;
}

/* store_record_by_id for the rules: a record this evaluation read is found by its id
 * without hashing it again. */
static int ctx_record_by_id(struct rules_ctx *c, const uint8_t id[32], uint8_t author[32], uint64_t *seq,
                            const uint8_t **env, size_t *len)
{
  if (c->known_cap) {
    const struct known *k = &c->known[known_slot(c, id)];
    if (k->seq) {
      if (author) memcpy(author, k->author, 32);
      if (seq) *seq = k->seq;
      return env ? store_record_get(c->txn, c->s, k->author, k->seq, env, len) : 0;
    }
  }
  return store_record_by_id(c->txn, c->s, id, author, seq, env, len);
}

/* ---- small helpers --------------------------------------------------------------- */

int rules_check_country(const char *c)
{
  if (strlen(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z')
    return KK_ERR(COUNTRY);
  return 0;
}

static int rules_push(struct rules_ctx *c, const uint8_t feed[32])
{
  if (c->qn == c->qcap) {
    size_t cap = c->qcap ? c->qcap * 2 : 16;
    uint8_t (*q)[32] = mem_realloc(c->queue, cap * sizeof *q);
    if (!q) return -ENOMEM;
    c->queue = q;
    c->qcap = cap;
  }
  memcpy(c->queue[c->qn++], feed, 32);
  return 0;
}

static int rules_wait(struct rules_ctx *c, uint8_t tag, const uint8_t what[32])
{
  c->dep[0] = tag;
  memcpy(c->dep + 1, what, 32);
  return RULE_WAIT;
}

static int put_buf(struct rules_ctx *c, MDB_dbi dbi, const void *k, size_t kl, struct buf *b)
{
  int rc = b->err ? b->err : store_put(c->txn, dbi, k, kl, b->p, b->len);
  buf_free(b);
  return rc;
}

/* A record is evaluated when its feed's cursor has passed it; `status` holds only the
 * invalid ones (most records are valid: storing a verdict for each cost a B-tree entry
 * per record). status and lots are keyed by the position of the record they are about
 * (store.h), not by its id: the entries a batch writes then fall on a few pages at the
 * right edge of each B-tree (decision 24). A lookup by id goes through `ids` first. */
int rules_status_at(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    struct rules_status *st)
{
  const uint8_t *v;
  size_t n;
  uint8_t k[40];
  int rc = store_get(txn, s->cursors, author, 32, (const void **)&v, &n);
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  if (seq > be64_get(v)) return MDB_NOTFOUND; /* not evaluated yet */
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
  rc = store_get(txn, s->status, k, 40, (const void **)&v, &n);
  if (rc == MDB_NOTFOUND) {
    st->verdict = RULES_VALID;
    st->err = 0;
    st->kind = KK_PL_NONE;
    return 0;
  }
  if (rc) return rc;
  if (n != 5) return KK_ERR(CORRUPT);
  st->verdict = RULES_INVALID;
  st->err = (int32_t)((uint32_t)v[0] | (uint32_t)v[1] << 8 | (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24);
  st->kind = v[4];
  return 0;
}

/* The payload kind of stored record env. */
static int record_kind(const uint8_t *env, size_t len, int *kind)
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  int rc = 0;
  if (!b) return -ENOMEM;
  if (((rc = codec_envelope_split(env, len, &ev)) || (rc = codec_body_decode_stored(ev.body, ev.body_len, b))))
    rc = rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  if (!rc) *kind = b->kind;
  mem_free(b);
  return rc;
}

int rules_record_kind(MDB_txn *txn, struct store *s, const uint8_t id[32], int *kind)
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(txn, s, id, NULL, NULL, &env, &len);
  return rc ? rc : record_kind(env, len, kind);
}

int rules_status_get(MDB_txn *txn, struct store *s, const uint8_t id[32], struct rules_status *st)
{
  uint8_t author[32];
  uint64_t seq;
  int rc = store_record_by_id(txn, s, id, author, &seq, NULL, NULL);
  return rc ? rc : rules_status_at(txn, s, author, seq, st);
}

/* Records an invalid record's error (a valid one needs no entry: see rules_status_at). */
static int rules_status_put(struct rules_ctx *c, const uint8_t author[32], uint64_t seq, int err, uint8_t kind)
{
  uint8_t k[40], v[5];
  uint32_t e = (uint32_t)err;
  if (!err) return 0;
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
  v[0] = (uint8_t)e; v[1] = (uint8_t)(e >> 8); v[2] = (uint8_t)(e >> 16); v[3] = (uint8_t)(e >> 24);
  v[4] = kind;
  return store_put(c->txn, c->s->status, k, 40, v, 5);
}

int rules_member_get(MDB_txn *txn, struct store *s, const uint8_t key[32], struct member *m)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s->members, key, 32, &v, &n);
  return rc ? rc : member_decode(v, n, m);
}

static int rules_member_put(struct rules_ctx *c, const uint8_t key[32], const struct member *m)
{
  struct buf b;
  buf_init(&b);
  member_encode(&b, m);
  return put_buf(c, c->s->members, key, 32, &b);
}

/* The lots database's key of lot key (record id || index): author || seq || index. */
static int lot_pos_as(MDB_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], int held, uint8_t pos[STORE_LOTPOS])
{
  uint64_t seq;
  int rc = (held ? store_record_by_held_id : store_record_by_id)(txn, s, key, pos, &seq, NULL, NULL);
  if (rc) return rc;
  be64_put(pos + 32, seq);
  memcpy(pos + 40, key + 32, 4);
  return 0;
}

static int lot_pos(MDB_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS])
{
  return lot_pos_as(txn, s, key, 0, pos);
}

/* lot_pos for the rules (ctx_record_by_id). */
static int ctx_lot_pos(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS])
{
  uint64_t seq;
  int rc = ctx_record_by_id(c, key, pos, &seq, NULL, NULL);
  if (rc) return rc;
  be64_put(pos + 32, seq);
  memcpy(pos + 40, key + 32, 4);
  return 0;
}

int rules_lot_key(MDB_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], uint8_t key[STORE_LOTKEY])
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_get(txn, s, pos, be64_get(pos + 32), &env, &len);
  if (rc) return rc;
  sig_sha256(key, env, len);
  memcpy(key + 32, pos + 40, 4);
  return 0;
}

/* lots is a posdb (node/ledger/posdb.h): author -> seq || index || lot */
#define LOT_REST (STORE_LOTPOS - 32)

int rules_lot_at(MDB_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], struct lot *l)
{
  const void *v;
  size_t n;
  int rc = posdb_get(txn, s->lots, pos, pos + 32, LOT_REST, &v, &n);
  return rc ? rc : lot_decode(v, n, l, pos);
}

int rules_lot_find(MDB_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS],
                   struct lot *l)
{
  int rc = lot_pos(txn, s, key, pos);
  return rc ? rc : rules_lot_at(txn, s, pos, l);
}

int rules_lot_find_held(MDB_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS],
                        struct lot *l)
{
  int rc = lot_pos_as(txn, s, key, 1, pos);
  return rc ? rc : rules_lot_at(txn, s, pos, l);
}

struct lots_each { int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l); void *arg; };

static int lots_each_step(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct lots_each *e = arg;
  uint8_t pos[STORE_LOTPOS];
  struct lot l;
  memcpy(pos, author, 32);
  memcpy(pos + 32, rest, LOT_REST);
  lot_init(&l);
  int rc = lot_decode(val, vlen, &l, pos);
  return rc ? rc : e->fn(e->arg, pos, &l);
}

int rules_lots_each(MDB_txn *txn, struct store *s, int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l),
                    void *arg)
{
  struct lots_each e = { fn, arg };
  return posdb_each(txn, s->lots, LOT_REST, NULL, NULL, 0, lots_each_step, &e);
}

int rules_lots_of(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                  int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l), void *arg)
{
  struct lots_each e = { fn, arg };
  uint8_t prefix[8];
  be64_put(prefix, seq);
  int rc = posdb_each(txn, s->lots, LOT_REST, author, prefix, 8, lots_each_step, &e);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* spends is a posdb: the lot's author -> the lot's seq || index || the spending
 * record's seq || the spend (node/ledger/state.h). */
#define SPEND_REST (STORE_SPENDKEY - 32)

struct spends_list {
  MDB_txn *txn;
  struct store *s;
  const uint8_t *owner;
  uint8_t (**ids)[32];
  uint64_t **seqs;
  struct spend **spends;
  size_t *n, cap;
};

static int spends_list_one(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct spends_list *sl = arg;
  size_t *n = sl->n;
  (void)author;
  if (*n == sl->cap) {
    size_t cap = sl->cap ? sl->cap * 2 : 8;
    void *a = mem_realloc(*sl->ids, cap * 32);
    if (a) *sl->ids = a;
    void *b = a ? mem_realloc(*sl->seqs, cap * sizeof **sl->seqs) : NULL;
    if (b) *sl->seqs = b;
    void *c = b ? mem_realloc(*sl->spends, cap * sizeof **sl->spends) : NULL;
    if (!c) return -ENOMEM;
    *sl->spends = c;
    sl->cap = cap;
  }
  const uint8_t *env;
  size_t len;
  uint64_t seq = be64_get(rest + LOT_REST);
  int rc = spend_decode(val, vlen, &(*sl->spends)[*n]);
  if (rc) return rc;
  /* Every spend of a lot is a record of its owner's feed. */
  if ((rc = store_record_get(sl->txn, sl->s, sl->owner, seq, &env, &len))) return rc == MDB_NOTFOUND ? KK_ERR(CORRUPT) : rc;
  sig_sha256((*sl->ids)[*n], env, len);
  (*sl->seqs)[(*n)++] = seq;
  return 0;
}

struct spends_at { int (*fn)(void *arg, uint64_t seq, const struct spend *sp); void *arg; };

static int spends_at_one(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct spends_at *e = arg;
  struct spend sp;
  (void)author;
  int rc = spend_decode(val, vlen, &sp);
  return rc ? rc : e->fn(e->arg, be64_get(rest + LOT_REST), &sp);
}

int rules_spends_at(MDB_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS],
                    int (*fn)(void *arg, uint64_t seq, const struct spend *sp), void *arg)
{
  struct spends_at e = { fn, arg };
  return posdb_each(txn, s->spends, SPEND_REST, pos, pos + 32, LOT_REST, spends_at_one, &e);
}

int rules_lot_spends(MDB_txn *txn, struct store *s, const uint8_t key[36], uint8_t (**ids)[32], uint64_t **seqs,
                     struct spend **spends, size_t *n)
{
  uint8_t pos[STORE_LOTPOS];
  struct lot l;
  *ids = NULL;
  *seqs = NULL;
  *spends = NULL;
  *n = 0;
  lot_init(&l);
  int rc = rules_lot_find(txn, s, key, pos, &l);
  if (rc) return rc;
  struct spends_list sl = { txn, s, l.owner, ids, seqs, spends, n, 0 };
  rc = posdb_each(txn, s->spends, SPEND_REST, pos, pos + 32, LOT_REST, spends_list_one, &sl);
  if (rc == MDB_NOTFOUND) rc = 0;
  if (rc) {
    mem_free(*ids);
    mem_free(*seqs);
    mem_free(*spends);
    *ids = NULL;
    *seqs = NULL;
    *spends = NULL;
    *n = 0;
  }
  return rc;
}

int rules_lot_get(MDB_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], struct lot *l)
{
  uint8_t pos[STORE_LOTPOS];
  return rules_lot_find(txn, s, key, pos, l);
}

static int rules_lot_put(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const struct lot *l)
{
  struct buf b;
  uint8_t pos[STORE_LOTPOS];
  int rc = ctx_lot_pos(c, key, pos);
  if (rc) return rc == MDB_NOTFOUND ? KK_ERR(INTERNAL) : rc; /* its record is stored first */
  buf_init(&b);
  lot_encode(&b, l, pos);
  rc = b.err ? b.err : posdb_put(c->txn, c->s->lots, pos, pos + 32, LOT_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

/* transfers is a posdb: the Transfer record's author (the sender) -> its seq || the
 * transfer (node/ledger/state.h, the sender left out). */
#define XFER_REST 8

static int xfer_find_as(MDB_txn *txn, struct store *s, const uint8_t id[32], int held, struct xfer *x, uint64_t *seq)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t at;
  const void *v;
  size_t n;
  int rc = (held ? store_record_by_held_id : store_record_by_id)(txn, s, id, sender, &at, NULL, NULL);
  if (rc) return rc;
  be64_put(rest, at);
  if ((rc = posdb_get(txn, s->transfers, sender, rest, XFER_REST, &v, &n))) return rc;
  if (seq) *seq = at;
  return xfer_decode(v, n, x, sender);
}

/* rules_xfer_get for the rules (ctx_record_by_id). */
static int ctx_xfer_get(struct rules_ctx *c, const uint8_t id[32], struct xfer *x)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t at;
  const void *v;
  size_t n;
  int rc = ctx_record_by_id(c, id, sender, &at, NULL, NULL);
  if (rc) return rc;
  be64_put(rest, at);
  if ((rc = posdb_get(c->txn, c->s->transfers, sender, rest, XFER_REST, &v, &n))) return rc;
  return xfer_decode(v, n, x, sender);
}

int rules_xfer_find_held(MDB_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x, uint64_t *seq)
{
  return xfer_find_as(txn, s, id, 1, x, seq);
}

int rules_xfer_get(MDB_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x)
{
  return xfer_find_as(txn, s, id, 0, x, NULL);
}

static int rules_xfer_put(struct rules_ctx *c, const uint8_t id[32], const struct xfer *x)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t seq;
  int rc = ctx_record_by_id(c, id, sender, &seq, NULL, NULL);
  if (rc) return rc == MDB_NOTFOUND ? KK_ERR(INTERNAL) : rc; /* its record is stored first */
  if (memcmp(sender, x->sender, 32) != 0) return KK_ERR(INTERNAL);
  be64_put(rest, seq);
  struct buf b;
  buf_init(&b);
  xfer_encode(&b, x);
  rc = b.err ? b.err : posdb_put(c->txn, c->s->transfers, sender, rest, XFER_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

struct xfers_each {
  MDB_txn *txn;
  struct store *s;
  const uint8_t *to;
  int (*fn)(void *arg, const uint8_t id[32], const struct xfer *x);
  void *arg;
};

static int xfers_each_step(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct xfers_each *e = arg;
  struct xfer x;
  const uint8_t *env;
  size_t len;
  uint8_t id[32];
  xfer_init(&x);
  int rc = xfer_decode(val, vlen, &x, author);
  if (rc) return rc;
  if (e->to && (x.state != XFER_PENDING || memcmp(x.to, e->to, 32) != 0)) return 0;
  if ((rc = store_record_get(e->txn, e->s, author, be64_get(rest), &env, &len)))
    return rc == MDB_NOTFOUND ? KK_ERR(CORRUPT) : rc;
  sig_sha256(id, env, len);
  return e->fn(e->arg, id, &x);
}

int rules_xfers_pending_to(MDB_txn *txn, struct store *s, const uint8_t to[32],
                           int (*fn)(void *arg, const uint8_t id[32], const struct xfer *x), void *arg)
{
  struct xfers_each e = { txn, s, to, fn, arg };
  return posdb_each(txn, s->transfers, XFER_REST, NULL, NULL, 0, xfers_each_step, &e);
}

/* codes: the first 8 bytes of SHA-256(owner || code) -> the positions of the lots
 * (duplicates). A short hash in place of owner and code keeps the entry small (one per
 * lot); lots that share a hash are told apart by reading them (rules_code_lots checks
 * owner and code). A position is written as varint seq || varint index when its author
 * is the owner (every lot but a refused transfer's), else in full (STORE_LOTPOS). */
#define CODE_HASH 8

static void code_hash(uint8_t h[CODE_HASH], const uint8_t owner[32], const char *code)
{
  uint8_t buf[32 + CODEC_CODE_MAX], full[32];
  size_t n = strlen(code);
  memcpy(buf, owner, 32);
  memcpy(buf + 32, code, n);
  sig_sha256(full, buf, 32 + n);
  memcpy(h, full, CODE_HASH);
}

static int code_put(struct rules_ctx *c, const uint8_t owner[32], const char *code, const uint8_t lotkey[36])
{
  uint8_t h[CODE_HASH], pos[STORE_LOTPOS];
  int rc = ctx_lot_pos(c, lotkey, pos);
  if (rc) return rc == MDB_NOTFOUND ? KK_ERR(INTERNAL) : rc;
  code_hash(h, owner, code);
  if (memcmp(pos, owner, 32) != 0) return store_put(c->txn, c->s->codes, h, sizeof h, pos, STORE_LOTPOS);
  uint8_t v[2 * BUF_VARINT_MAX];
  size_t n = buf_varint_encode(v, be64_get(pos + 32));
  n += buf_varint_encode(v + n, be32_get(pos + 40));
  return store_put(c->txn, c->s->codes, h, sizeof h, v, n);
}

int rules_code_lots(MDB_txn *txn, struct store *s, const uint8_t owner[32], const char *code, uint8_t (*keys)[36],
                    size_t max, size_t *found)
{
  uint8_t h[CODE_HASH];
  MDB_cursor *cur;
  *found = 0;
  code_hash(h, owner, code);
  int rc = mdb_cursor_open(txn, s->codes, &cur);
  if (rc) return rc;
  MDB_val k = { CODE_HASH, h }, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_KEY); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT_DUP)) {
    uint8_t pos[STORE_LOTPOS];
    struct lot l;
    if (v.mv_size == STORE_LOTPOS) {
      memcpy(pos, v.mv_data, STORE_LOTPOS);
    } else {
      struct rd r;
      rd_init(&r, v.mv_data, v.mv_size);
      uint64_t seq = rd_varint(&r), index = rd_varint(&r);
      if (rd_done(&r) || index > UINT32_MAX) { rc = KK_ERR(CORRUPT); break; }
      memcpy(pos, owner, 32);
      be64_put(pos + 32, seq);
      be32_put(pos + 40, (uint32_t)index);
    }
    lot_init(&l);
    if ((rc = rules_lot_at(txn, s, pos, &l))) {
      if (rc == MDB_NOTFOUND) rc = KK_ERR(CORRUPT);
      break;
    }
    if (memcmp(l.owner, owner, 32) != 0 || strcmp(l.code, code) != 0) continue; /* another code, same hash */
    if (*found < max && (rc = rules_lot_key(txn, s, pos, keys[*found]))) break;
    (*found)++;
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* 1 when owner already has a lot with this code, 0 when not, negative on error. */
static int code_taken(struct rules_ctx *c, const uint8_t owner[32], const char *code)
{
  size_t found;
  int rc = rules_code_lots(c->txn, c->s, owner, code, NULL, 0, &found);
  return rc ? rc : found > 0;
}

/* Records that the record at `seq` of the lot's owner took (mass, post, pre) from it:
 * the spends of a lot, in its owner's order, are what attribution replays (node/ledger/attrib.h). */
static int spend_put(struct rules_ctx *c, const uint8_t lotkey[36], uint64_t seq, uint8_t kind, uint64_t mass,
                     uint64_t post, uint64_t pre)
{
  uint8_t k[STORE_SPENDKEY];
  int rc = ctx_lot_pos(c, lotkey, k);
  if (rc) return rc == MDB_NOTFOUND ? KK_ERR(INTERNAL) : rc; /* the lot exists: it is being spent */
  be64_put(k + STORE_LOTPOS, seq);
  struct spend x = { kind, mass, post, pre };
  struct buf b;
  buf_init(&b);
  spend_encode(&b, &x);
  rc = b.err ? b.err : posdb_put(c->txn, c->s->spends, k, k + 32, SPEND_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

/* made is a posdb: the making record's author -> its seq || input(2) || source (see
 * rules_made_each). A source lot's position is stored whole only when its author is not
 * the making record's (a Receive's source is the sender's; a Transform's inputs are
 * mostly lots the transformer made itself, and a refused lot returned is the refuser's):
 * what attribution reads per lot input stays a dozen bytes where it can. */
#define MADE_REST 10

static int made_put(struct rules_ctx *c, const struct kk_body *b, uint16_t input, const uint8_t *source,
                    uint64_t spend_seq)
{
  uint8_t rest[MADE_REST], val[STORE_LOTPOS + 8];
  size_t n;
  be64_put(rest, b->seq);
  be16_put(rest + 8, input);
  if (!source) n = 0; /* the Transform's unledgered inputs: read from its record */
  else if (spend_seq != b->seq) { /* a Receive's or Refuse's: the Transfer's seq */
    memcpy(val, source, STORE_LOTPOS);
    be64_put(val + STORE_LOTPOS, spend_seq);
    n = STORE_LOTPOS + 8;
  } else if (memcmp(source, b->author, 32) != 0) {
    memcpy(val, source, STORE_LOTPOS);
    n = STORE_LOTPOS;
  } else {
    memcpy(val, source + 32, STORE_LOTPOS - 32);
    n = STORE_LOTPOS - 32;
  }
  return posdb_put(c->txn, c->s->made, b->author, rest, MADE_REST, val, n);
}

struct made_each { const uint8_t *author; int (*fn)(void *arg, const struct made_input *in); void *arg; };

static int made_each_one(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct made_each *e = arg;
  struct made_input in;
  const uint8_t *v = val;
  memset(&in, 0, sizeof in);
  in.input = be16_get(rest + 8);
  uint64_t seq = be64_get(rest);
  in.spend_seq = seq;
  if (vlen == 0 && in.input == RULES_MADE_UNLEDGERED) in.unledgered = 1;
  else if (vlen == STORE_LOTPOS + 8) {
    memcpy(in.source, v, STORE_LOTPOS);
    in.spend_seq = be64_get(v + STORE_LOTPOS);
  } else if (vlen == STORE_LOTPOS) memcpy(in.source, v, STORE_LOTPOS);
  else if (vlen == STORE_LOTPOS - 32) {
    memcpy(in.source, author, 32);
    memcpy(in.source + 32, v, STORE_LOTPOS - 32);
  } else return KK_ERR(CORRUPT);
  return e->fn(e->arg, &in);
}

int rules_made_each(MDB_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    int (*fn)(void *arg, const struct made_input *in), void *arg)
{
  uint8_t prefix[8];
  struct made_each e = { author, fn, arg };
  be64_put(prefix, seq);
  int rc = posdb_each(txn, s->made, MADE_REST, author, prefix, 8, made_each_one, &e);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

/* Has the record been evaluated? 1 yes, 0 no (wait), negative on error. */
static int evaluated(struct rules_ctx *c, const uint8_t id[32], struct rules_status *st)
{
  uint8_t author[32];
  uint64_t seq;
  int rc = ctx_record_by_id(c, id, author, &seq, NULL, NULL);
  if (rc == 0) rc = rules_status_at(c->txn, c->s, author, seq, st);
  if (rc == MDB_NOTFOUND) return 0;
  return rc ? rc : 1;
}

/* Loads a lot the author wants to spend or claim; waits for its creating record. */
static int load_own_lot(struct rules_ctx *c, const struct kk_body *b, const struct kk_lotref *ref,
                        uint8_t key[36], struct lot *l)
{
  struct rules_status st;
  int rc = evaluated(c, ref->record, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, ref->record);
  lotkey_make(key, ref->record, ref->index);
  uint8_t pos[STORE_LOTPOS];
  rc = ctx_lot_pos(c, key, pos);
  if (rc == 0) rc = rules_lot_at(c->txn, c->s, pos, l);
  if (rc == MDB_NOTFOUND) return KK_ERR(UNKNOWN_LOT);
  if (rc) return rc;
  if (memcmp(l->owner, b->author, 32) != 0) return KK_ERR(NOT_OWNER);
  return 0;
}

/* Recycled mass carried by spending m of a lot: ⌊m × left_k / mass_left⌋ per kind, so
 * the spend that empties the lot carries exactly what is left. */
static void spend_carry(const struct lot *l, uint64_t m, uint64_t *post, uint64_t *pre)
{
  *post = mul_div_floor(m, l->post_left, l->mass_left);
  *pre = mul_div_floor(m, l->pre_left, l->mass_left);
}

/* Forgets what feed waits for and queues it to be evaluated again. `pending` is keyed
 * by what is waited for, so this scans it; it is called on suspensions only (rare), and
 * `pending` holds one entry per waiting feed. */
static int rules_unwait(struct rules_ctx *c, const uint8_t feed[32])
{
  MDB_cursor *cur;
  MDB_val k, v;
  int rc = mdb_cursor_open(c->txn, c->s->pending, &cur);
  if (rc) return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT))
    if (k.mv_size == 65 && memcmp((const uint8_t *)k.mv_data + 33, feed, 32) == 0 && (rc = mdb_cursor_del(cur, 0)))
      break;
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND) return rc;
  return rules_push(c, feed);
}

/* 0 when the author holds one of roles, KK_E_ROLE when not; a storage error is
 * returned as it is — it must abort the evaluation, never become a ROLE verdict. */
static int need_role(struct rules_ctx *c, const struct kk_body *b, uint32_t roles)
{
  struct member m;
  int rc = rules_member_get(c->txn, c->s, b->author, &m);
  if (rc == MDB_NOTFOUND) return KK_ERR(ROLE);
  if (rc) return rc;
  return (m.roles & roles) ? 0 : KK_ERR(ROLE);
}

/* ---- the rules --------------------------------------------------------------------- */

static int rule_genesis(struct rules_ctx *c, const struct kk_body *b)
{
  if (!c->have_registry || memcmp(b->author, c->registry, 32) != 0 || b->seq != 1)
    return KK_ERR(GENESIS);
  struct member m;
  memset(&m, 0, sizeof m);
  memcpy(m.name, "registry", sizeof "registry");
  m.roles = KK_ROLE_REGISTRY;
  return rules_member_put(c, b->author, &m);
}

static int rule_admit(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_admit *a = &b->u.admit;
  struct member m;
  if (memcmp(b->author, c->registry, 32) != 0) return KK_ERR(NOT_REGISTRY);
  if (memcmp(a->member, c->registry, 32) == 0) return KK_ERR(ALREADY_MEMBER);
  int rc = rules_member_get(c->txn, c->s, a->member, &m);
  if (rc == 0) return KK_ERR(ALREADY_MEMBER);
  if (rc != MDB_NOTFOUND) return rc;
  if (!a->roles || (a->roles & ~KK_ROLE_ALL) || !a->name[0]) return KK_ERR(FIELD);
  if (a->country[0] && (rc = rules_check_country(a->country))) return rc;
  memset(&m, 0, sizeof m);
  memcpy(m.name, a->name, sizeof m.name);
  m.roles = a->roles;
  memcpy(m.country, a->country, 3);
  memcpy(m.admitted_by, id, 32);
  return rules_member_put(c, a->member, &m); /* the engine wakes feeds waiting for it */
}

static int rule_suspend(struct rules_ctx *c, const struct kk_body *b)
{
  const struct kk_suspend *x = &b->u.suspend;
  struct member m;
  if (memcmp(b->author, c->registry, 32) != 0) return KK_ERR(NOT_REGISTRY);
  int rc = rules_member_get(c->txn, c->s, x->member, &m);
  if (rc == MDB_NOTFOUND || (rc == 0 && (m.roles & KK_ROLE_REGISTRY))) return KK_ERR(UNKNOWN_MEMBER);
  if (rc) return rc;
  if (x->from_seq == 0) return KK_ERR(FIELD);
  if (m.suspended_from == 0 || x->from_seq < m.suspended_from) m.suspended_from = x->from_seq;
  if ((rc = rules_member_put(c, x->member, &m))) return rc;
  /* A record of the member's that waits for a dependency is suspended now, as it would
   * have been had the suspension come first: evaluate the feed again. */
  if ((rc = rules_unwait(c, x->member))) return rc;
  /* Did we already apply records the suspension now invalidates? */
  const void *v;
  size_t n;
  rc = store_get(c->txn, c->s->cursors, x->member, 32, &v, &n);
  if (rc == 0 && n == 8 && be64_get(v) >= m.suspended_from) c->rebuild = 1;
  return rc == MDB_NOTFOUND ? 0 : rc;
}

static int rule_issue(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_issue *x = &b->u.issue;
  uint64_t rc_total;
  int rc;
  if ((rc = need_role(c, b, KK_ROLE_RECYCLER))) return rc;
  if (x->mass_mg == 0) return KK_ERR(ZERO_MASS);
  if ((rc = add_u64(x->post_mg, x->pre_mg, &rc_total))) return rc;
  if (rc_total > x->mass_mg) return KK_ERR(RC_EXCEEDS);
  if ((rc = rules_check_country(x->origin))) return rc;
  if (!x->lot_code[0] || !x->material[0] || !x->scheme[0] || !x->certificate[0]) return KK_ERR(FIELD);
  if ((rc = material_check(x->material))) return rc;
  if (x->model < KK_MODEL_MASS_BALANCE || x->model > KK_MODEL_IDENTITY_PRESERVED) return KK_ERR(MODEL);
  if ((rc = code_taken(c, b->author, x->lot_code)) != 0) return rc > 0 ? KK_ERR(DUP_CODE) : rc;

  struct lot l;
  uint8_t key[36];
  lot_init(&l);
  memcpy(l.owner, b->author, 32);
  memcpy(l.code, x->lot_code, sizeof l.code);
  memcpy(l.material, x->material, sizeof l.material);
  l.model = x->model;
  l.origin_kind = KK_PL_ISSUE;
  l.mass = l.mass_left = x->mass_mg;
  l.post = l.post_left = x->post_mg;
  l.pre = l.pre_left = x->pre_mg;
  lotkey_make(key, id, 0);
  if (!(rc = rules_lot_put(c, key, &l))) rc = code_put(c, b->author, x->lot_code, key);
  lot_free(&l);
  return rc;
}

static int rule_transfer(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_transfer *x = &b->u.transfer;
  uint8_t key[36];
  struct lot l;
  struct member to;
  struct xfer t;
  int rc;
  lot_init(&l);
  xfer_init(&t);
  if ((rc = load_own_lot(c, b, &x->lot, key, &l))) goto done;
  if (x->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
  if (x->mass_mg > l.mass_left) { rc = KK_ERR(OVERSPEND); goto done; }
  if (memcmp(x->to, b->author, 32) == 0) { rc = KK_ERR(SELF_TRANSFER); goto done; }
  rc = rules_member_get(c->txn, c->s, x->to, &to);
  if (rc == MDB_NOTFOUND) {
    /* The registry cannot receive; anyone else may simply not be admitted here yet. */
    rc = memcmp(x->to, c->registry, 32) == 0 ? KK_ERR(UNKNOWN_MEMBER) : rules_wait(c, DEP_ADMIT, x->to);
    goto done;
  }
  if (rc) goto done;
  if (to.roles & KK_ROLE_REGISTRY) { rc = KK_ERR(UNKNOWN_MEMBER); goto done; }

  memcpy(t.from_lot, key, 36);
  memcpy(t.sender, b->author, 32);
  memcpy(t.to, x->to, 32);
  memcpy(t.code, l.code, sizeof t.code);
  memcpy(t.material, l.material, sizeof t.material);
  t.model = l.model;
  t.mass = x->mass_mg;
  spend_carry(&l, x->mass_mg, &t.post, &t.pre);
  t.state = XFER_PENDING;
  l.mass_left -= t.mass;
  l.post_left -= t.post;
  l.pre_left -= t.pre;
  if ((rc = rules_lot_put(c, key, &l)) || (rc = rules_xfer_put(c, id, &t))) goto done;
  rc = spend_put(c, key, b->seq, SPEND_TRANSFER, t.mass, t.post, t.pre);
done:
  lot_free(&l);
  xfer_free(&t);
  return rc;
}

/* Receive and Refuse: close a pending transfer, creating a lot for the recipient
 * (receive) or back for the sender (refuse). The refused lot is created by the
 * recipient's record, so the sender's later spend of it names that record and waits
 * for it: no feed's outcome depends on when another feed's record arrived. */
static int rule_close_transfer(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32],
                               const uint8_t transfer[32], int receive)
{
  struct rules_status st;
  struct xfer t;
  struct lot l;
  uint8_t key[36];
  int rc = evaluated(c, transfer, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, transfer);
  xfer_init(&t);
  lot_init(&l);
  rc = ctx_xfer_get(c, transfer, &t);
  if (rc == MDB_NOTFOUND) { rc = KK_ERR(UNKNOWN_TRANSFER); goto done; }
  if (rc) goto done;
  if (memcmp(t.to, b->author, 32) != 0) { rc = KK_ERR(NOT_RECIPIENT); goto done; }
  if (t.state != XFER_PENDING) { rc = KK_ERR(TRANSFER_CLOSED); goto done; }

  const uint8_t *owner = receive ? b->author : t.sender;
  memcpy(l.owner, owner, 32);
  memcpy(l.code, t.code, sizeof l.code);
  memcpy(l.material, t.material, sizeof l.material);
  l.model = t.model;
  l.origin_kind = receive ? KK_PL_RECEIVE : KK_PL_REFUSE;
  l.mass = l.mass_left = t.mass;
  l.post = l.post_left = t.post;
  l.pre = l.pre_left = t.pre;
  lotkey_make(key, id, 0);
  t.state = receive ? XFER_RECEIVED : XFER_REFUSED;
  memcpy(t.closed_by, id, 32);
  if ((rc = rules_lot_put(c, key, &l)) || (rc = code_put(c, owner, l.code, key))) goto done;
  uint8_t from[STORE_LOTPOS];
  uint64_t xseq;
  if ((rc = ctx_lot_pos(c, t.from_lot, from)) ||
      (rc = ctx_record_by_id(c, transfer, NULL, &xseq, NULL, NULL)) ||
      (rc = made_put(c, b, 0, from, xseq)))
    goto done;
  rc = rules_xfer_put(c, transfer, &t);
done:
  xfer_free(&t);
  lot_free(&l);
  return rc;
}

struct tf_input { uint8_t key[36]; struct lot lot; uint64_t m, post, pre; };

static int rule_transform(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_transform *x = &b->u.transform;
  struct tf_input *in = mem_calloc(CODEC_IO_MAX, sizeof *in);
  uint64_t sum_in = 0, sum_out = 0, sum_post = 0, sum_pre = 0;
  uint32_t out_model = x->model;
  int rc = 0;
  if (!in) return -ENOMEM;

  if ((rc = need_role(c, b, KK_ROLE_PROCESSOR | KK_ROLE_MANUFACTURER))) goto done;
  if (x->model < KK_MODEL_MASS_BALANCE || x->model > KK_MODEL_SEGREGATED) { rc = KK_ERR(MODEL); goto done; }
  if (x->n_inputs == 0 || x->n_outputs == 0) { rc = KK_ERR(FIELD); goto done; }
  if (x->model == KK_MODEL_SEGREGATED && x->n_unledgered) { rc = KK_ERR(SEGREGATED_UNLEDGERED); goto done; }

  for (size_t i = 0; i < x->n_inputs; i++) {
    if ((rc = load_own_lot(c, b, &x->inputs[i].lot, in[i].key, &in[i].lot))) { goto done; }
    for (size_t j = 0; j < i; j++)
      if (memcmp(in[j].key, in[i].key, 36) == 0) { rc = KK_ERR(DUP_INPUT); goto done; }
    in[i].m = x->inputs[i].mass_mg;
    if (in[i].m == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    if (in[i].m > in[i].lot.mass_left) { rc = KK_ERR(OVERSPEND); goto done; }
    spend_carry(&in[i].lot, in[i].m, &in[i].post, &in[i].pre);
    if ((rc = add_u64(sum_in, in[i].m, &sum_in))) { goto done; }
    sum_post += in[i].post; /* cannot overflow: bounded by sum_in */
    sum_pre += in[i].pre;
    if (in[i].lot.model < out_model) out_model = in[i].lot.model;
    /* Mass balance moves credit within one material group (the form may change). */
    if (x->model == KK_MODEL_MASS_BALANCE && !material_same_group(in[i].lot.material, in[0].lot.material)) {
      rc = KK_ERR(MATERIAL_MIX); goto done;
    }
  }
  for (size_t i = 0; i < x->n_unledgered; i++) {
    const struct kk_unledgered *u = &x->unledgered[i];
    if (u->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    if (!u->material[0]) { rc = KK_ERR(FIELD); goto done; }
    if ((rc = material_check(u->material))) goto done;
    if (x->model == KK_MODEL_MASS_BALANCE && !material_same_group(u->material, in[0].lot.material)) {
      rc = KK_ERR(MATERIAL_MIX); goto done;
    }
    if ((rc = rules_check_country(u->origin))) goto done;
    if ((rc = add_u64(sum_in, u->mass_mg, &sum_in))) goto done;
  }
  uint64_t decl_post = 0, decl_pre = 0;
  for (size_t k = 0; k < x->n_outputs; k++) {
    const struct kk_output *o = &x->outputs[k];
    uint64_t r;
    if (!o->lot_code[0] || !o->material[0]) { rc = KK_ERR(FIELD); goto done; }
    if ((rc = material_check(o->material))) goto done;
    if (o->mass_mg == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
    for (size_t j = 0; j < k; j++)
      if (strcmp(x->outputs[j].lot_code, o->lot_code) == 0) { rc = KK_ERR(DUP_CODE); goto done; }
    if ((rc = code_taken(c, b->author, o->lot_code)) != 0) { if (rc > 0) rc = KK_ERR(DUP_CODE); goto done; }
    if ((rc = add_u64(sum_out, o->mass_mg, &sum_out))) goto done;
    if (x->model == KK_MODEL_MASS_BALANCE) {
      if (!material_same_group(o->material, in[0].lot.material)) { rc = KK_ERR(MATERIAL_MIX); goto done; }
      if ((rc = add_u64(o->post_mg, o->pre_mg, &r))) goto done;
      if (r > o->mass_mg) { rc = KK_ERR(RC_EXCEEDS); goto done; }
      if ((rc = add_u64(decl_post, o->post_mg, &decl_post)) || (rc = add_u64(decl_pre, o->pre_mg, &decl_pre))) goto done;
    } else if (o->post_mg || o->pre_mg) {
      rc = KK_ERR(DECLARED_RC);
      goto done;
    }
  }
  if (sum_out > sum_in) { rc = KK_ERR(CONSERVATION); goto done; }
  if (x->model == KK_MODEL_MASS_BALANCE) {
    /* Losses come off first (the yield), then credit is allocated freely, per kind. */
    if (decl_post > mul_div_floor(sum_post, sum_out, sum_in) ||
        decl_pre > mul_div_floor(sum_pre, sum_out, sum_in)) {
      rc = KK_ERR(MB_OVERDRAFT);
      goto done;
    }
  }

  /* Effects: take every input, then create every output. */
  for (size_t i = 0; i < x->n_inputs; i++) {
    struct lot *l = &in[i].lot;
    l->mass_left -= in[i].m;
    l->post_left -= in[i].post;
    l->pre_left -= in[i].pre;
    uint8_t from[STORE_LOTPOS];
    if ((rc = rules_lot_put(c, in[i].key, l)) ||
        (rc = spend_put(c, in[i].key, b->seq, SPEND_TRANSFORM, in[i].m, in[i].post, in[i].pre)) ||
        (rc = ctx_lot_pos(c, in[i].key, from)) || (rc = made_put(c, b, (uint16_t)i, from, b->seq)))
      goto done;
  }
  if (x->n_unledgered && (rc = made_put(c, b, RULES_MADE_UNLEDGERED, NULL, b->seq))) goto done;
  for (size_t k = 0; k < x->n_outputs; k++) {
    const struct kk_output *o = &x->outputs[k];
    struct lot l;
    uint8_t key[36];
    lot_init(&l);
    memcpy(l.owner, b->author, 32);
    memcpy(l.code, o->lot_code, sizeof l.code);
    memcpy(l.material, o->material, sizeof l.material);
    l.model = out_model;
    l.origin_kind = KK_PL_TRANSFORM;
    l.mass = l.mass_left = o->mass_mg;
    if (x->model == KK_MODEL_MASS_BALANCE) {
      l.post = o->post_mg;
      l.pre = o->pre_mg;
    } else {
      /* Proportional: losses never raise the percentage. */
      l.post = mul_div_floor(o->mass_mg, sum_post, sum_in);
      l.pre = mul_div_floor(o->mass_mg, sum_pre, sum_in);
    }
    l.post_left = l.post;
    l.pre_left = l.pre;
    lotkey_make(key, id, (uint32_t)k);
    if (!(rc = rules_lot_put(c, key, &l))) rc = code_put(c, b->author, l.code, key);
    lot_free(&l);
    if (rc) goto done;
  }
done:
  for (size_t i = 0; i < CODEC_IO_MAX; i++) lot_free(&in[i].lot); /* calloc'd: all safe */
  mem_free(in);
  return rc;
}

static int rule_claim(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const struct kk_claim *x = &b->u.claim;
  uint8_t key[36];
  struct lot l;
  int rc;
  lot_init(&l);
  if ((rc = need_role(c, b, KK_ROLE_MANUFACTURER))) goto done;
  if ((rc = load_own_lot(c, b, &x->lot, key, &l))) goto done;
  if (x->share_ppm == 0 || x->share_ppm > PPM) { rc = KK_ERR(SHARE); goto done; }
  if (l.mass_left == 0) { rc = KK_ERR(ZERO_MASS); goto done; }
  /* The claim covers what the owner still holds; rounding up charges the claimant. */
  uint64_t claimed = (uint64_t)(((unsigned __int128)l.mass_left * x->share_ppm + PPM - 1) / PPM);
  uint64_t avail = l.post_left + l.pre_left;
  if (claimed > avail) { rc = KK_ERR(CLAIM_EXCEEDS); goto done; }
  uint64_t post = mul_div_floor(claimed, l.post_left, avail);
  uint64_t pre = claimed - post;
  /* Claimed credit is spent: it never travels downstream to be claimed again. */
  l.post_left -= post;
  l.pre_left -= pre;
  l.claimed += claimed;
  if ((rc = rules_lot_put(c, key, &l)) || (rc = spend_put(c, key, b->seq, SPEND_CLAIM, 0, post, pre))) goto done;

  struct claim_state cs;
  struct buf buf;
  uint8_t ck[44];
  memset(&cs, 0, sizeof cs);
  memcpy(cs.id, id, 32);
  memcpy(cs.author, b->author, 32);
  cs.share_ppm = x->share_ppm;
  cs.claimed = claimed;
  memcpy(cs.scope, x->scope, sizeof cs.scope);
  memcpy(ck, key, 36);
  be64_put(ck + 36, b->seq);
  buf_init(&buf);
  claim_encode(&buf, &cs);
  rc = put_buf(c, c->s->claims, ck, 44, &buf);
done:
  lot_free(&l);
  return rc;
}

static int rule_attest(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  struct rules_status st;
  int rc = need_role(c, b, KK_ROLE_CERTIFIER);
  if (rc) return rc;
  rc = evaluated(c, b->u.attest.record, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, b->u.attest.record);
  if (st.verdict != RULES_VALID) return KK_ERR(UNKNOWN_RECORD);
  uint8_t k[64];
  memcpy(k, b->u.attest.record, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s->attests, k, 64, "", 0);
}

static int rule_revoke(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  const uint8_t *target = b->u.revoke.record;
  struct rules_status st;
  uint8_t target_author[32];
  int rc = evaluated(c, target, &st);
  if (rc < 0) return rc;
  if (rc == 0) return rules_wait(c, DEP_RECORD, target);
  if (st.verdict != RULES_VALID) return KK_ERR(UNKNOWN_RECORD);
  int kind;
  const uint8_t *env;
  size_t len;
  if ((rc = ctx_record_by_id(c, target, target_author, NULL, &env, &len)) || (rc = record_kind(env, len, &kind))) return rc;
  if (kind != KK_PL_ISSUE && kind != KK_PL_ATTEST && kind != KK_PL_CLAIM) return KK_ERR(REVOKE_TARGET);
  if (memcmp(target_author, b->author, 32) != 0 && (rc = need_role(c, b, KK_ROLE_CERTIFIER)))
    return rc == KK_ERR(ROLE) ? KK_ERR(REVOKE_TARGET) : rc;
  /* Revocations form a set: each party that may revoke a record revokes it once, and no
   * revocation replaces another, so the state does not depend on which feed's revocation
   * was evaluated first (a "first revoke wins" table once did). Only this author's own
   * earlier revocation, in its own feed's order, makes this one redundant. */
  uint8_t (*ids)[32] = NULL;
  size_t n = 0;
  if ((rc = rules_revocations(c->txn, c->s, target, &ids, &n))) return rc;
  for (size_t i = 0; i < n && rc == 0; i++) {
    uint8_t by[32];
    if ((rc = ctx_record_by_id(c, ids[i], by, NULL, NULL, NULL))) break;
    if (memcmp(by, b->author, 32) == 0) rc = KK_ERR(ALREADY_REVOKED);
  }
  mem_free(ids);
  if (rc) return rc;
  uint8_t k[64];
  memcpy(k, target, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s->revoked, k, 64, "", 0);
}

int rules_revocations(MDB_txn *txn, struct store *s, const uint8_t target[32], uint8_t (**ids)[32], size_t *n)
{
  MDB_cursor *cur;
  uint8_t (*out)[32] = NULL;
  size_t cnt = 0, cap = 0;
  *ids = NULL;
  *n = 0;
  int rc = mdb_cursor_open(txn, s->revoked, &cur);
  if (rc) return rc;
  MDB_val k = { 32, (void *)target }, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == 64 && memcmp(k.mv_data, target, 32) == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (cnt == cap) {
      cap = cap ? cap * 2 : 2;
      void *p = mem_realloc(out, cap * 32);
      if (!p) { rc = -ENOMEM; break; }
      out = p;
    }
    memcpy(out[cnt++], (const uint8_t *)k.mv_data + 32, 32);
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) { mem_free(out); return rc; }
  *ids = out;
  *n = cnt;
  return 0;
}

int rules_revoked(MDB_txn *txn, struct store *s, const uint8_t target[32])
{
  MDB_cursor *cur;
  int rc = mdb_cursor_open(txn, s->revoked, &cur);
  if (rc) return rc;
  MDB_val k = { 32, (void *)target }, v;
  rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
  int found = rc == 0 && k.mv_size == 64 && memcmp(k.mv_data, target, 32) == 0;
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  return found;
}

/* An incident names anything (a record, a lot by its record, a member): indexed by what
 * it names, so verify and trace find the reports about a lot's provenance. */
static int rule_incident(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  if (!b->u.incident.kind[0]) return KK_ERR(FIELD);
  uint8_t k[64];
  memcpy(k, b->u.incident.about, 32);
  memcpy(k + 32, id, 32);
  return store_put(c->txn, c->s->incidents, k, 64, "", 0);
}

/* ---- the engine -------------------------------------------------------------------- */

/* Evaluates one record: 0 valid (effects applied), RULE_WAIT, a Kiroku rule error
 * (invalid), or another negative code (storage error: abort). */
static int rules_eval(struct rules_ctx *c, const struct kk_body *b, const uint8_t id[32])
{
  int from_registry = c->have_registry && memcmp(b->author, c->registry, 32) == 0;
  if (b->kind == KK_PL_GENESIS) return rule_genesis(c, b);
  if (from_registry) {
    switch (b->kind) {
    case KK_PL_ADMIT: return rule_admit(c, b, id);
    case KK_PL_SUSPEND: return rule_suspend(c, b);
    case KK_PL_ROTATE_KEY: return 0;
    case KK_PL_INCIDENT: return rule_incident(c, b, id);
    default: return KK_ERR(ROLE);
    }
  }
  struct member m;
  int rc = rules_member_get(c->txn, c->s, b->author, &m);
  if (rc == MDB_NOTFOUND) return rules_wait(c, DEP_ADMIT, b->author);
  if (rc) return rc;
  if (m.suspended_from && b->seq >= m.suspended_from) return KK_ERR(SUSPENDED);
  switch (b->kind) {
  case KK_PL_ADMIT: case KK_PL_SUSPEND: return KK_ERR(NOT_REGISTRY);
  case KK_PL_ROTATE_KEY: return 0; /* checked on arrival: the signing key changes */
  case KK_PL_ISSUE: return rule_issue(c, b, id);
  case KK_PL_TRANSFER: return rule_transfer(c, b, id);
  case KK_PL_RECEIVE: return rule_close_transfer(c, b, id, b->u.receive.transfer, 1);
  case KK_PL_REFUSE: return rule_close_transfer(c, b, id, b->u.refuse.transfer, 0);
  case KK_PL_TRANSFORM: return rule_transform(c, b, id);
  case KK_PL_CLAIM: return rule_claim(c, b, id);
  case KK_PL_ATTEST: return rule_attest(c, b, id);
  case KK_PL_REVOKE: return rule_revoke(c, b, id);
  case KK_PL_INCIDENT: return rule_incident(c, b, id);
  default: return KK_ERR(NO_PAYLOAD);
  }
}

/* Wakes every feed waiting on dep: moves them from `pending` to the queue. */
static int rules_wake(struct rules_ctx *c, uint8_t tag, const uint8_t what[32])
{
  uint8_t dep[33];
  dep[0] = tag;
  memcpy(dep + 1, what, 32);
  MDB_cursor *cur;
  size_t first = c->qn;
  int rc = mdb_cursor_open(c->txn, c->s->pending, &cur);
  if (rc) return rc;
  MDB_val k = { 33, dep }, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_SET_RANGE);
       rc == 0 && k.mv_size == 65 && memcmp(k.mv_data, dep, 33) == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if ((rc = rules_push(c, (const uint8_t *)k.mv_data + 33))) break;
  }
  mdb_cursor_close(cur);
  if (rc != 0 && rc != MDB_NOTFOUND) return rc;
  /* Then forget the waits (deleting while iterating is not worth the subtlety). */
  for (size_t i = first; i < c->qn; i++) {
    uint8_t key[65];
    memcpy(key, dep, 33);
    memcpy(key + 33, c->queue[i], 32);
    if ((rc = store_del(c->txn, c->s->pending, key, 65))) return rc;
  }
  return 0;
}

static int rules_cursor_get(struct rules_ctx *c, const uint8_t feed[32], uint64_t *applied)
{
  const void *v;
  size_t n;
  int rc = store_get(c->txn, c->s->cursors, feed, 32, &v, &n);
  if (rc == MDB_NOTFOUND) { *applied = 0; return 0; }
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  *applied = be64_get(v);
  return 0;
}

/* Evaluates feed from its cursor until its head or a wait. */
static int rules_run_feed(struct rules_ctx *c, const uint8_t feed[32])
{
  struct kk_body *b = mem_alloc(sizeof *b);
  if (!b) return -ENOMEM;
  int rc;
  for (;;) {
    struct store_head h;
    uint64_t applied;
    if ((rc = store_head_get(c->txn, c->s, feed, &h))) { if (rc == MDB_NOTFOUND) rc = 0; break; }
    if ((rc = rules_cursor_get(c, feed, &applied))) break;
    /* A feed with evidence of equivocation stops before its fork point. */
    uint64_t frozen;
    if ((rc = store_frozen_at(c->txn, c->s, feed, &frozen))) break;
    if (frozen && h.seq >= frozen) h.seq = frozen - 1;
    if (applied >= h.seq) { rc = 0; break; }
    /* The next record held: applied + 1 in a replica; a proof bundle's store holds
     * only the records a lot's provenance needs, so it skips the gaps. */
    const uint8_t *env;
    size_t len;
    struct kk_envelope_view ev;
    uint8_t id[32];
    uint64_t next;
    if ((rc = store_record_next(c->txn, c->s, feed, applied + 1, &next, &env, &len))) break;
    if (next > h.seq) { rc = 0; break; }
    sig_sha256(id, env, len);
    known_add(c, id, feed, next);
    if ((rc = codec_envelope_split(env, len, &ev)) || (rc = codec_body_decode_stored(ev.body, ev.body_len, b))) {
      if (rc != -ENOMEM) rc = KK_ERR(CORRUPT); /* stored records were checked on arrival */
      break;
    }
    int verdict = rules_eval(c, b, id);
    if (verdict == RULE_WAIT) {
      uint8_t k[65];
      memcpy(k, c->dep, 33);
      memcpy(k + 33, feed, 32);
      rc = store_put(c->txn, c->s->pending, k, 65, "", 0);
      break;
    }
    if (verdict < 0 && !kk_err_is_input(verdict)) { rc = verdict; break; }
    if ((rc = rules_status_put(c, feed, next, verdict, (uint8_t)b->kind))) break;
    uint8_t cv[8];
    be64_put(cv, next);
    if ((rc = store_put(c->txn, c->s->cursors, feed, 32, cv, 8))) break;
    if ((rc = rules_wake(c, DEP_RECORD, id))) break;
    if (verdict == 0 && b->kind == KK_PL_ADMIT && (rc = rules_wake(c, DEP_ADMIT, b->u.admit.member))) break;
  }
  mem_free(b);
  return rc;
}

static int rules_load_registry(struct rules_ctx *c)
{
  const void *v;
  size_t n;
  int rc = store_meta_get(c->txn, c->s, "registry", &v, &n);
  if (rc == MDB_NOTFOUND) return 0;
  if (rc) return rc;
  if (n != 32) return KK_ERR(CORRUPT);
  memcpy(c->registry, v, 32);
  c->have_registry = 1;
  return 0;
}

static int rules_drain(struct rules_ctx *c)
{
  int rc = 0;
  while (c->qn && rc == 0) {
    uint8_t feed[32];
    memcpy(feed, c->queue[--c->qn], 32);
    rc = rules_run_feed(c, feed);
  }
  return rc;
}

static int rules_rebuild_ctx(struct rules_ctx *c)
{
  int rc;
  c->qn = 0;
  c->rebuild = 0;
  if ((rc = store_clear_derived(c->txn, c->s))) return rc;
  /* The registry first, so every suspension is known before any member record. */
  if (c->have_registry && ((rc = rules_push(c, c->registry)) || (rc = rules_drain(c)))) return rc;
  MDB_cursor *cur;
  if ((rc = mdb_cursor_open(c->txn, c->s->heads, &cur))) return rc;
  MDB_val k, v;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    if (k.mv_size == 32 && (rc = rules_push(c, k.mv_data))) break;
  }
  mdb_cursor_close(cur);
  if (rc != MDB_NOTFOUND && rc != 0) return rc;
  if ((rc = rules_drain(c))) return rc;
  return c->rebuild ? KK_ERR(INTERNAL) : 0; /* cannot happen: registry went first */
}

int rules_advance(struct store *s, MDB_txn *txn, const uint8_t (*feeds)[32], size_t n)
{
  struct rules_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.txn = txn;
  int rc = rules_load_registry(&c);
  for (size_t i = 0; i < n && rc == 0; i++) rc = rules_push(&c, feeds[i]);
  if (rc == 0) rc = rules_drain(&c);
  if (rc == 0 && c.rebuild) rc = rules_rebuild_ctx(&c);
  mem_free(c.queue);
  mem_free(c.known);
  return rc;
}

int rules_rebuild(struct store *s, MDB_txn *txn)
{
  struct rules_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.txn = txn;
  int rc = rules_load_registry(&c);
  if (rc == 0) rc = rules_rebuild_ctx(&c);
  mem_free(c.queue);
  mem_free(c.known);
  return rc;
}

static int rules_upgrade_fn(MDB_txn *txn, void *ctx)
{
  struct store *s = ctx;
  uint8_t layout[4];
  be32_put(layout, STORE_LAYOUT);
  int rc = rules_rebuild(s, txn);
  return rc ? rc : store_meta_put(txn, s, "layout", layout, 4);
}

int rules_upgrade(struct store *s)
{
  int rc = store_migrate_log(s, NULL, NULL); /* a log kept by author || seq first */
  if (rc) return rc;
  if (!s->derived_stale) return 0;
  rc = store_write(s, rules_upgrade_fn, s);
  if (rc == 0) s->derived_stale = 0;
  return rc;
}

/* ---- explaining a refusal ---------------------------------------------------------- */

/* The lot lotref names, and its code, for an explanation; 0 when it is readable. */
static int explain_lot(MDB_txn *txn, struct store *s, const struct kk_lotref *ref, struct lot *l)
{
  uint8_t key[36];
  lotkey_make(key, ref->record, ref->index);
  lot_init(l);
  return rules_lot_get(txn, s, key, l);
}

void rules_explain(MDB_txn *txn, struct store *s, const struct kk_body *b, int err, char *buf, size_t n)
{
  char a[QTY_FMT], c[QTY_FMT], d[QTY_FMT], e[QTY_FMT], f[QTY_FMT], g[QTY_FMT];
  struct lot l;
  buf[0] = 0;
  if (err == KK_ERR(OVERSPEND) && b->kind == KK_PL_TRANSFER && explain_lot(txn, s, &b->u.transfer.lot, &l) == 0) {
    snprintf(buf, n, "lot %s has %s left (of %s); the transfer asks for %s", l.code, qty_format_mass(a, l.mass_left),
             qty_format_mass(c, l.mass), qty_format_mass(d, b->u.transfer.mass_mg));
    return;
  }
  if (b->kind == KK_PL_TRANSFORM) {
    const struct kk_transform *x = &b->u.transform;
    uint64_t sum_in = 0, sum_led = 0, sum_unl = 0, sum_out = 0, sum_post = 0, sum_pre = 0, decl_post = 0, decl_pre = 0;
    for (size_t i = 0; i < x->n_inputs; i++) {
      if (explain_lot(txn, s, &x->inputs[i].lot, &l) != 0) return;
      uint64_t m = x->inputs[i].mass_mg;
      if (err == KK_ERR(OVERSPEND) && m > l.mass_left) {
        snprintf(buf, n, "input %s has %s left (of %s); the transform takes %s", l.code, qty_format_mass(a, l.mass_left),
                 qty_format_mass(c, l.mass), qty_format_mass(d, m));
        return;
      }
      if (m > l.mass_left || add_u64(sum_led, m, &sum_led)) return;
      uint64_t post, pre;
      spend_carry(&l, m, &post, &pre);
      sum_post += post;
      sum_pre += pre;
    }
    for (size_t i = 0; i < x->n_unledgered; i++)
      if (add_u64(sum_unl, x->unledgered[i].mass_mg, &sum_unl)) return;
    for (size_t k = 0; k < x->n_outputs; k++)
      if (add_u64(sum_out, x->outputs[k].mass_mg, &sum_out) || add_u64(decl_post, x->outputs[k].post_mg, &decl_post) ||
          add_u64(decl_pre, x->outputs[k].pre_mg, &decl_pre))
        return;
    if (add_u64(sum_led, sum_unl, &sum_in) || sum_in == 0) return;
    if (err == KK_ERR(CONSERVATION))
      snprintf(buf, n, "the outputs total %s, the inputs %s (%s ledgered, %s unledgered): %s too much",
               qty_format_mass(a, sum_out), qty_format_mass(c, sum_in), qty_format_mass(d, sum_led),
               qty_format_mass(e, sum_unl), qty_format_mass(f, sum_out - sum_in));
    else if (err == KK_ERR(MB_OVERDRAFT) && sum_out <= sum_in) {
      char yield[QTY_FMT];
      snprintf(buf, n, "with a yield of %s (%s out of %s in), the mass-balance credit is at most %s post-consumer and %s "
                       "pre-consumer; the outputs declare %s and %s",
               qty_format_ppm(yield, qty_ppm(sum_out, sum_in)), qty_format_mass(a, sum_out), qty_format_mass(c, sum_in),
               qty_format_mass(d, mul_div_floor(sum_post, sum_out, sum_in)), qty_format_mass(e, mul_div_floor(sum_pre, sum_out, sum_in)),
               qty_format_mass(f, decl_post), qty_format_mass(g, decl_pre));
    }
    return;
  }
  if (err == KK_ERR(CLAIM_EXCEEDS) && b->kind == KK_PL_CLAIM && explain_lot(txn, s, &b->u.claim.lot, &l) == 0) {
    uint64_t claimed = (uint64_t)(((unsigned __int128)l.mass_left * b->u.claim.share_ppm + PPM - 1) / PPM);
    snprintf(buf, n, "a claim of %s on the %s held of lot %s charges %s of recycled content; %s of it is unclaimed",
             qty_format_ppm(a, b->u.claim.share_ppm), qty_format_mass(c, l.mass_left), l.code, qty_format_mass(d, claimed),
             qty_format_mass(e, l.post_left + l.pre_left));
    return;
  }
  if (err == KK_ERR(RC_EXCEEDS) && b->kind == KK_PL_ISSUE)
    snprintf(buf, n, "post-consumer %s plus pre-consumer %s exceed the lot's mass %s", qty_format_mass(a, b->u.issue.post_mg),
             qty_format_mass(c, b->u.issue.pre_mg), qty_format_mass(d, b->u.issue.mass_mg));
}

