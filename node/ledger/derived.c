/*
 * derived — the derived state the rules write and everyone reads: statuses, members,
 * lots, spends, transfers, codes, what lots were made from, revocations (the
 * databases of node/ledger/store.h); and the records one evaluation has read,
 * remembered by id.
 */
#include "rules.h"
#include "rules_ctx.h"
#include "posdb.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

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
void derived_known_add(struct rules_ctx *c, const uint8_t id[32], const uint8_t author[32], uint64_t seq)
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
int derived_record_by_id(struct rules_ctx *c, const uint8_t id[32], uint8_t author[32], uint64_t *seq,
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


int derived_put_buf(struct rules_ctx *c, enum store_db db, const void *k, size_t kl, struct buf *b)
{
  int rc = b->err ? b->err : store_put(c->txn, c->s, db, k, kl, b->p, b->len);
  buf_free(b);
  return rc;
}

/* A record is evaluated when its feed's cursor has passed it; `status` holds only the
 * invalid ones (most records are valid: storing a verdict for each cost a B-tree entry
 * per record). status and lots are keyed by the position of the record they are about
 * (store.h), not by its id: the entries a batch writes then fall on a few pages at the
 * right edge of each B-tree (decision 24). A lookup by id goes through `ids` first. */
int rules_status_at(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    struct rules_status *st)
{
  const uint8_t *v;
  size_t n;
  uint8_t k[40];
  int rc = store_get(txn, s, STORE_DB_CURSORS, author, 32, (const void **)&v, &n);
  if (rc) return rc;
  if (n != 8) return KK_ERR(CORRUPT);
  if (seq > be64_get(v)) return STORE_ABSENT; /* not evaluated yet */
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
  rc = store_get(txn, s, STORE_DB_STATUS, k, 40, (const void **)&v, &n);
  if (rc == STORE_ABSENT) {
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
int derived_record_kind(const uint8_t *env, size_t len, int *kind)
{
  struct kk_body *b = mem_alloc(sizeof *b);
  int rc = 0;
  if (!b) return -ENOMEM;
  if ((rc = codec_envelope_body_stored(env, len, b)))
    rc = rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  if (!rc) *kind = b->kind;
  mem_free(b);
  return rc;
}

int rules_record_kind(struct store_txn *txn, struct store *s, const uint8_t id[32], int *kind)
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_by_id(txn, s, id, NULL, NULL, &env, &len);
  return rc ? rc : derived_record_kind(env, len, kind);
}

int rules_status_get(struct store_txn *txn, struct store *s, const uint8_t id[32], struct rules_status *st)
{
  uint8_t author[32];
  uint64_t seq;
  int rc = store_record_by_id(txn, s, id, author, &seq, NULL, NULL);
  return rc ? rc : rules_status_at(txn, s, author, seq, st);
}

/* Records an invalid record's error (a valid one needs no entry: see rules_status_at). */
int derived_status_put(struct rules_ctx *c, const uint8_t author[32], uint64_t seq, int err, uint8_t kind)
{
  uint8_t k[40], v[5];
  uint32_t e = (uint32_t)err;
  if (!err) return 0;
  memcpy(k, author, 32);
  be64_put(k + 32, seq);
  v[0] = (uint8_t)e; v[1] = (uint8_t)(e >> 8); v[2] = (uint8_t)(e >> 16); v[3] = (uint8_t)(e >> 24);
  v[4] = kind;
  return store_put(c->txn, c->s, STORE_DB_STATUS, k, 40, v, 5);
}

struct members_each { rules_member_fn fn; void *arg; };

static int member_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct members_each *e = arg;
  struct member m;
  if (kl != 32 || member_decode(v, vl, &m)) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, &m);
}

int rules_members_each(struct store_txn *txn, struct store *s, rules_member_fn fn, void *arg)
{
  struct members_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_MEMBERS, NULL, 0, member_one, &e);
}

struct incidents_each { rules_incident_fn fn; void *arg; };

static int incident_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct incidents_each *e = arg;
  (void)v;
  (void)vl;
  if (kl != 64) return KK_ERR(CORRUPT);
  return e->fn(e->arg, k, (const uint8_t *)k + 32);
}

int rules_incidents_each(struct store_txn *txn, struct store *s, rules_incident_fn fn, void *arg)
{
  struct incidents_each e = { fn, arg };
  return store_each(txn, s, STORE_DB_INCIDENTS, NULL, 0, incident_one, &e);
}

int rules_flagged_from(struct store_txn *txn, struct store *s, const uint8_t key[32], uint64_t *at)
{
  struct member m;
  int rc = store_frozen_at(txn, s, key, at);
  if (rc || !*at) return rc;
  rc = rules_member_get(txn, s, key, &m);
  if (rc == 0 && m.succeeded) *at = 0; /* the registry has decided: a successor took over */
  return rc == STORE_ABSENT ? 0 : rc;
}

int rules_member_get(struct store_txn *txn, struct store *s, const uint8_t key[32], struct member *m)
{
  const void *v;
  size_t n;
  int rc = store_get(txn, s, STORE_DB_MEMBERS, key, 32, &v, &n);
  return rc ? rc : member_decode(v, n, m);
}

int derived_member_put(struct rules_ctx *c, const uint8_t key[32], const struct member *m)
{
  struct buf b;
  buf_init(&b);
  member_encode(&b, m);
  return derived_put_buf(c, STORE_DB_MEMBERS, key, 32, &b);
}

/* The lots database's key of lot key (record id || index): author || seq || index. */
static int lot_pos_as(struct store_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], int held, uint8_t pos[STORE_LOTPOS])
{
  uint64_t seq;
  int rc = (held ? store_record_by_held_id : store_record_by_id)(txn, s, key, pos, &seq, NULL, NULL);
  if (rc) return rc;
  be64_put(pos + 32, seq);
  memcpy(pos + 40, key + 32, 4);
  return 0;
}

static int lot_pos(struct store_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS])
{
  return lot_pos_as(txn, s, key, 0, pos);
}

/* lot_pos for the rules (derived_record_by_id). */
int derived_lot_pos(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS])
{
  uint64_t seq;
  int rc = derived_record_by_id(c, key, pos, &seq, NULL, NULL);
  if (rc) return rc;
  be64_put(pos + 32, seq);
  memcpy(pos + 40, key + 32, 4);
  return 0;
}

int rules_lot_key(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], uint8_t key[STORE_LOTKEY])
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

int rules_lot_at(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS], struct lot *l)
{
  const void *v;
  size_t n;
  int rc = posdb_get(txn, s, STORE_DB_LOTS, pos, pos + 32, LOT_REST, &v, &n);
  return rc ? rc : lot_decode(v, n, l, pos);
}

int rules_lot_find(struct store_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS],
                   struct lot *l)
{
  int rc = lot_pos(txn, s, key, pos);
  return rc ? rc : rules_lot_at(txn, s, pos, l);
}

int rules_lot_find_held(struct store_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], uint8_t pos[STORE_LOTPOS],
                        struct lot *l)
{
  int rc = lot_pos_as(txn, s, key, 1, pos);
  return rc ? rc : rules_lot_at(txn, s, pos, l);
}

struct lots_each { int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l); void *arg; int made_only; };

static int lots_each_step(void *arg, const uint8_t author[32], const uint8_t *rest, const void *val, size_t vlen)
{
  struct lots_each *e = arg;
  uint8_t pos[STORE_LOTPOS];
  struct lot l;
  if (e->made_only && be32_get(rest + 8) >= RULES_INHERITED) return 0; /* handed on, not made by the record */
  memcpy(pos, author, 32);
  memcpy(pos + 32, rest, LOT_REST);
  lot_init(&l);
  int rc = lot_decode(val, vlen, &l, pos);
  return rc ? rc : e->fn(e->arg, pos, &l);
}

int rules_lots_each(struct store_txn *txn, struct store *s, int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l),
                    void *arg)
{
  struct lots_each e = { fn, arg, 0 };
  return posdb_each(txn, s, STORE_DB_LOTS, LOT_REST, NULL, NULL, 0, lots_each_step, &e);
}

int rules_lots_of(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                  int (*fn)(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l), void *arg)
{
  struct lots_each e = { fn, arg, 1 };
  uint8_t prefix[8];
  be64_put(prefix, seq);
  int rc = posdb_each(txn, s, STORE_DB_LOTS, LOT_REST, author, prefix, 8, lots_each_step, &e);
  return rc == STORE_ABSENT ? 0 : rc;
}

/* spends is a posdb: the lot's author -> the lot's seq || index || the spending
 * record's seq || the spend (node/ledger/state.h). */
#define SPEND_REST (STORE_SPENDKEY - 32)

struct spends_list {
  struct store_txn *txn;
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
  if ((*sl->spends)[*n].kind == SPEND_SUCCESSION) {
    /* Inherited whole by the owner's successor: the succession (the successor's Admit). */
    struct member m, heir;
    if ((rc = rules_member_get(sl->txn, sl->s, sl->owner, &m)) ||
        (rc = m.succeeded ? rules_member_get(sl->txn, sl->s, m.successor, &heir) : KK_ERR(CORRUPT)))
      return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
    memcpy((*sl->ids)[*n], heir.admitted_by, 32);
  } else {
    /* Every other spend of a lot is a record of its owner's feed. */
    if ((rc = store_record_get(sl->txn, sl->s, sl->owner, seq, &env, &len))) return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
    sig_sha256((*sl->ids)[*n], env, len);
  }
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

int rules_spends_at(struct store_txn *txn, struct store *s, const uint8_t pos[STORE_LOTPOS],
                    int (*fn)(void *arg, uint64_t seq, const struct spend *sp), void *arg)
{
  struct spends_at e = { fn, arg };
  return posdb_each(txn, s, STORE_DB_SPENDS, SPEND_REST, pos, pos + 32, LOT_REST, spends_at_one, &e);
}

int rules_lot_spends(struct store_txn *txn, struct store *s, const uint8_t key[36], uint8_t (**ids)[32], uint64_t **seqs,
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
  rc = posdb_each(txn, s, STORE_DB_SPENDS, SPEND_REST, pos, pos + 32, LOT_REST, spends_list_one, &sl);
  if (rc == STORE_ABSENT) rc = 0;
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

int rules_lot_get(struct store_txn *txn, struct store *s, const uint8_t key[STORE_LOTKEY], struct lot *l)
{
  uint8_t pos[STORE_LOTPOS];
  return rules_lot_find(txn, s, key, pos, l);
}

int derived_lot_put(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const struct lot *l)
{
  struct buf b;
  uint8_t pos[STORE_LOTPOS];
  int rc = derived_lot_pos(c, key, pos);
  if (rc) return rc == STORE_ABSENT ? KK_ERR(INTERNAL) : rc; /* its record is stored first */
  buf_init(&b);
  lot_encode(&b, l, pos);
  rc = b.err ? b.err : posdb_put(c->txn, c->s, STORE_DB_LOTS, pos, pos + 32, LOT_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

/* transfers is a posdb: the Transfer record's author (the sender) -> its seq || the
 * transfer (node/ledger/state.h, the sender left out). */
#define XFER_REST 8

static int xfer_find_as(struct store_txn *txn, struct store *s, const uint8_t id[32], int held, struct xfer *x, uint64_t *seq)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t at;
  const void *v;
  size_t n;
  int rc = (held ? store_record_by_held_id : store_record_by_id)(txn, s, id, sender, &at, NULL, NULL);
  if (rc) return rc;
  be64_put(rest, at);
  if ((rc = posdb_get(txn, s, STORE_DB_TRANSFERS, sender, rest, XFER_REST, &v, &n))) return rc;
  if (seq) *seq = at;
  return xfer_decode(v, n, x, sender);
}

/* rules_xfer_get for the rules (derived_record_by_id), with the Transfer's seq. */
int derived_xfer_get(struct rules_ctx *c, const uint8_t id[32], struct xfer *x, uint64_t *seq)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t at;
  const void *v;
  size_t n;
  int rc = derived_record_by_id(c, id, sender, &at, NULL, NULL);
  if (rc) return rc;
  be64_put(rest, at);
  if ((rc = posdb_get(c->txn, c->s, STORE_DB_TRANSFERS, sender, rest, XFER_REST, &v, &n))) return rc;
  if (seq) *seq = at;
  return xfer_decode(v, n, x, sender);
}

int rules_xfer_find_held(struct store_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x, uint64_t *seq)
{
  return xfer_find_as(txn, s, id, 1, x, seq);
}

int rules_xfer_get(struct store_txn *txn, struct store *s, const uint8_t id[32], struct xfer *x)
{
  return xfer_find_as(txn, s, id, 0, x, NULL);
}

int derived_xfer_put(struct rules_ctx *c, const uint8_t id[32], const struct xfer *x)
{
  uint8_t sender[32], rest[XFER_REST];
  uint64_t seq;
  int rc = derived_record_by_id(c, id, sender, &seq, NULL, NULL);
  if (rc) return rc == STORE_ABSENT ? KK_ERR(INTERNAL) : rc; /* its record is stored first */
  if (memcmp(sender, x->sender, 32) != 0) return KK_ERR(INTERNAL);
  be64_put(rest, seq);
  struct buf b;
  buf_init(&b);
  xfer_encode(&b, x);
  rc = b.err ? b.err : posdb_put(c->txn, c->s, STORE_DB_TRANSFERS, sender, rest, XFER_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

struct xfers_each {
  struct store_txn *txn;
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
    return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
  sig_sha256(id, env, len);
  return e->fn(e->arg, id, &x);
}

int rules_xfers_pending_to(struct store_txn *txn, struct store *s, const uint8_t to[32],
                           int (*fn)(void *arg, const uint8_t id[32], const struct xfer *x), void *arg)
{
  struct xfers_each e = { txn, s, to, fn, arg };
  return posdb_each(txn, s, STORE_DB_TRANSFERS, XFER_REST, NULL, NULL, 0, xfers_each_step, &e);
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

int derived_code_put(struct rules_ctx *c, const uint8_t owner[32], const char *code, const uint8_t lotkey[36])
{
  uint8_t h[CODE_HASH], pos[STORE_LOTPOS];
  int rc = derived_lot_pos(c, lotkey, pos);
  if (rc) return rc == STORE_ABSENT ? KK_ERR(INTERNAL) : rc;
  code_hash(h, owner, code);
  if (memcmp(pos, owner, 32) != 0) return store_put(c->txn, c->s, STORE_DB_CODES, h, sizeof h, pos, STORE_LOTPOS);
  uint8_t v[2 * BUF_VARINT_MAX];
  size_t n = buf_varint_encode(v, be64_get(pos + 32));
  n += buf_varint_encode(v + n, be32_get(pos + 40));
  return store_put(c->txn, c->s, STORE_DB_CODES, h, sizeof h, v, n);
}

struct code_walk {
  struct store_txn *txn;
  struct store *s;
  const uint8_t *owner;
  const char *code;
  uint8_t (*keys)[36];
  size_t max, *found;
};

/* One lot under the code's hash (a duplicate of the codes entry): kept when it is the
 * owner's lot with that very code. */
static int code_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct code_walk *w = arg;
  uint8_t pos[STORE_LOTPOS];
  struct lot l;
  int rc;
  (void)k;
  if (kl != CODE_HASH) return KK_ERR(CORRUPT);
  if (vl == STORE_LOTPOS) {
    memcpy(pos, v, STORE_LOTPOS);
  } else {
    struct rd r;
    rd_init(&r, v, vl);
    uint64_t seq = rd_varint(&r), index = rd_varint(&r);
    if (rd_done(&r) || index > UINT32_MAX) return KK_ERR(CORRUPT);
    memcpy(pos, w->owner, 32);
    be64_put(pos + 32, seq);
    be32_put(pos + 40, (uint32_t)index);
  }
  lot_init(&l);
  if ((rc = rules_lot_at(w->txn, w->s, pos, &l))) return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
  if (memcmp(l.owner, w->owner, 32) != 0 || strcmp(l.code, w->code) != 0) return 0; /* another code, same hash */
  if (*w->found < w->max && (rc = rules_lot_key(w->txn, w->s, pos, w->keys[*w->found]))) return rc;
  (*w->found)++;
  return 0;
}

int rules_code_lots(struct store_txn *txn, struct store *s, const uint8_t owner[32], const char *code, uint8_t (*keys)[36],
                    size_t max, size_t *found)
{
  uint8_t h[CODE_HASH];
  *found = 0;
  code_hash(h, owner, code);
  struct code_walk w = { txn, s, owner, code, keys, max, found };
  return store_each(txn, s, STORE_DB_CODES, h, CODE_HASH, code_one, &w);
}

/* 1 when owner already has a lot with this code, 0 when not, negative on error. */
int derived_code_taken(struct rules_ctx *c, const uint8_t owner[32], const char *code)
{
  size_t found;
  int rc = rules_code_lots(c->txn, c->s, owner, code, NULL, 0, &found);
  return rc ? rc : found > 0;
}

/* Records that the record at `seq` of the lot's owner took (mass, post, pre) from it:
 * the spends of a lot, in its owner's order, are what attribution replays (node/ledger/attrib.h). */
int derived_spend_put(struct rules_ctx *c, const uint8_t lotpos[STORE_LOTPOS], uint64_t seq, uint8_t kind,
                      uint64_t mass, uint64_t post, uint64_t pre)
{
  uint8_t k[STORE_SPENDKEY];
  int rc;
  memcpy(k, lotpos, STORE_LOTPOS);
  be64_put(k + STORE_LOTPOS, seq);
  struct spend x = { kind, mass, post, pre };
  struct buf b;
  buf_init(&b);
  spend_encode(&b, &x);
  rc = b.err ? b.err : posdb_put(c->txn, c->s, STORE_DB_SPENDS, k, k + 32, SPEND_REST, b.p, b.len);
  buf_free(&b);
  return rc;
}

/* made is a posdb: the making record's author -> its seq || input(2) || source (see
 * rules_made_each). A source lot's position is stored whole only when its author is not
 * the making record's (a Receive's source is the sender's; a Transform's inputs are
 * mostly lots the transformer made itself, and a refused lot returned is the refuser's):
 * what attribution reads per lot input stays a dozen bytes where it can. */
#define MADE_REST 10

int derived_made_put(struct rules_ctx *c, const struct kk_body *b, uint16_t input, const uint8_t *source,
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
  return posdb_put(c->txn, c->s, STORE_DB_MADE, b->author, rest, MADE_REST, val, n);
}

struct made_each { int (*fn)(void *arg, const struct made_input *in); void *arg; };

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

int rules_made_each(struct store_txn *txn, struct store *s, const uint8_t author[32], uint64_t seq,
                    int (*fn)(void *arg, const struct made_input *in), void *arg)
{
  uint8_t prefix[8];
  struct made_each e = { fn, arg };
  be64_put(prefix, seq);
  int rc = posdb_each(txn, s, STORE_DB_MADE, MADE_REST, author, prefix, 8, made_each_one, &e);
  return rc == STORE_ABSENT ? 0 : rc;
}


/* The revoking records of a target (revoked: target || revoking record), collected. */
struct revokers { uint8_t (*ids)[32]; size_t n, cap; };

static int revoker_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct revokers *r = arg;
  (void)v;
  (void)vl;
  if (kl != 64) return KK_ERR(CORRUPT);
  if (r->n == r->cap) {
    size_t cap = r->cap ? r->cap * 2 : 2;
    void *p = mem_realloc(r->ids, cap * 32);
    if (!p) return -ENOMEM;
    r->ids = p;
    r->cap = cap;
  }
  memcpy(r->ids[r->n++], (const uint8_t *)k + 32, 32);
  return 0;
}

int rules_revocations(struct store_txn *txn, struct store *s, const uint8_t target[32], uint8_t (**ids)[32], size_t *n)
{
  struct revokers r = { NULL, 0, 0 };
  *ids = NULL;
  *n = 0;
  int rc = store_each(txn, s, STORE_DB_REVOKED, target, 32, revoker_one, &r);
  if (rc) { mem_free(r.ids); return rc; }
  *ids = r.ids;
  *n = r.n;
  return 0;
}

/* Stops the scan at the first entry: there is one. */
static int any_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  (void)arg;
  (void)k;
  (void)kl;
  (void)v;
  (void)vl;
  return 1;
}

int rules_revoked(struct store_txn *txn, struct store *s, const uint8_t target[32])
{
  return store_each(txn, s, STORE_DB_REVOKED, target, 32, any_one, NULL);
}

struct attests_each { int (*fn)(void *, const uint8_t *); void *arg; };

static int attest_each_one(void *arg, const void *k, size_t kl, const void *v, size_t vl)
{
  struct attests_each *a = arg;
  (void)v;
  (void)vl;
  if (kl != 64) return KK_ERR(CORRUPT);
  return a->fn(a->arg, (const uint8_t *)k + 32); /* target(32) || attestation(32) */
}

int rules_attestations_each(struct store_txn *txn, struct store *s, const uint8_t target[32],
                            int (*fn)(void *arg, const uint8_t attestation[32]), void *arg)
{
  struct attests_each a = { fn, arg };
  return store_each(txn, s, STORE_DB_ATTESTS, target, 32, attest_each_one, &a);
}

/* An incident names anything (a record, a lot by its record, a member): indexed by what
 * it names, so verify and trace find the reports about a lot's provenance. */
