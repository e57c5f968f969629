/*
 * attrib — attribution on demand: discover the provenance, order it, replay it.
 *
 * 1. Discovery. From the lots asked about, every lot they were made from, transitively:
 *    each lot (a node, known by its position) has a maker — its Issue, the transfer its
 *    Receive or Refuse closed, or its Transform (shared by the transform's outputs) —
 *    and each maker names the takes it was made of: (source lot, seq of the spending
 *    record), read from what the rules recorded when they made the lot (`made`,
 *    rules_made_each). Those become the source's needs. Nothing is looked up by id:
 *    only an Issue's record (and a Transform's with unledgered inputs) is read, for
 *    what it says and the id its source is ranked by.
 * 2. Order. A post-order walk over "made from" edges: every lot after its sources.
 * 3. Replay. In that order, a lot's vector as created comes from its maker (the takes
 *    its sources delivered, a transform's pool drawn output by output); then its spends
 *    are replayed from the store, in seq order, delivering each needed take to its
 *    maker. A lot's vectors are dropped as soon as it is replayed and reported.
 */
#include "attrib.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "rules.h"
#include "../../crypto/sig.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

enum { MAKER_ISSUE = 1, MAKER_XFER, MAKER_TRANSFORM };

struct need { uint64_t seq; size_t maker, input; };   /* a take a lot owes a maker */

struct anode {
  uint8_t pos[STORE_LOTPOS];
  uint8_t key[STORE_LOTKEY];    /* lots asked about only: the key they were asked by */
  struct lot *asked;            /* lots asked about only: the whole lot */
  uint8_t owner[32];            /* of every lot, what the walk needs */
  uint8_t origin_kind;
  uint64_t mass, post, pre;
  size_t maker;                 /* index in makers */
  int requested, visit;         /* visit: 0 new, 1 on the walk's stack, 2 ordered */
  int through_frozen;           /* it or a lot it came from has a frozen owner (not issues) */
  int has_created;
  struct attr created;
  struct need *needs;
  size_t n_needs, cap_needs;
};

struct unledgered { char country[3]; uint64_t mass; uint32_t src; /* rank in sources */ };

struct amaker {
  int kind;
  uint8_t id[32];               /* issue: the certificate (its record); transform with
                                 * unledgered inputs: its record (what they are ranked by) */
  uint8_t pos[40];              /* transform: its record's position (author || seq) */
  uint64_t spend_seq;           /* transfer: the Transfer's seq in the sender's feed */
  char country[3];              /* issue: the origin */
  struct attr_source *cert;     /* issue: the rest of what the certificate's source says */
  uint32_t src;                 /* issue: the certificate's rank in sources */
  size_t n_in;
  size_t *in_node;              /* the lots it took from */
  struct attr *parts;           /* what each gave, once delivered */
  size_t n_unl;
  struct unledgered *unl;
  size_t n_out;
  uint64_t (*out_amt)[3];       /* transform: each output's mass, post, pre as created */
  long *out_node;               /* transform: the node of each output in the walk, or -1 */
  int done;
};

#define ATTRIB_FROZEN_MEMO 64
struct frozen_memo { uint8_t member[32]; uint64_t at; int known; };

struct attrib_walk {
  struct store_txn *txn;
  struct store *s;
  struct kk_body *body;
  struct anode *nodes;
  size_t n_nodes, cap_nodes;
  struct amaker *makers;
  size_t n_makers, cap_makers;
  /* open addressing: lot position -> node + 1; transform position -> maker + 1 */
  size_t *node_tab, *tf_tab;
  size_t node_cap, tf_cap;
  size_t *frontier;             /* nodes discovered, not yet expanded */
  size_t n_frontier, cap_frontier;
  struct attr_scratch scratch;  /* attr_take's working memory, for the whole call */
  struct attr_source *sources;  /* every certificate and unledgered input found, by (id, idx) */
  size_t n_sources;
  struct frozen_memo frozen[ATTRIB_FROZEN_MEMO];
};

/* Room for `need` elements, doubling; the first allocation is exactly `need` (most
 * lots owe a single take: thousands of small arrays must stay small). */
static int grow(void **p, size_t *cap, size_t need, size_t size)
{
  if (need <= *cap) return 0;
  size_t cap2 = *cap ? *cap * 2 : need;
  while (cap2 < need) cap2 *= 2;
  void *q = mem_realloc(*p, cap2 * size);
  if (!q) return -ENOMEM;
  *p = q;
  *cap = cap2;
  return 0;
}

/* ---- the two hash tables ------------------------------------------------------------ */

/* A position: author(32) || seq(8) || [index(4)]. The author's bytes spread (a key);
 * the seq and index are mixed in, so that one author's lots spread too. */
static uint64_t hash_bytes(const uint8_t *k, size_t n)
{
  uint64_t h;
  memcpy(&h, k, 8);
  h ^= be64_get(k + 32) * 0x9e3779b97f4a7c15ull;
  if (n > 40) h ^= (uint64_t)be32_get(k + 40) * 0xc2b2ae3d27d4eb4full;
  return h ^ (h >> 29);
}

typedef const uint8_t *(*tab_key_fn)(const struct attrib_walk *c, size_t v);
static const uint8_t *node_key(const struct attrib_walk *c, size_t v) { return c->nodes[v].pos; }
static const uint8_t *maker_key(const struct attrib_walk *c, size_t v) { return c->makers[v].pos; }

/* The value stored for key k (a node or maker index), or SIZE_MAX. */
static size_t tab_find(const struct attrib_walk *c, const size_t *tab, size_t cap, const uint8_t *k, size_t kn, tab_key_fn key)
{
  if (!cap) return SIZE_MAX;
  for (size_t i = hash_bytes(k, kn) & (cap - 1);; i = (i + 1) & (cap - 1)) {
    if (!tab[i]) return SIZE_MAX;
    if (memcmp(key(c, tab[i] - 1), k, kn) == 0) return tab[i] - 1;
  }
}

static int tab_put(struct attrib_walk *c, size_t **tab, size_t *cap, size_t count, const uint8_t *k, size_t kn, size_t v,
                   tab_key_fn key)
{
  if ((count + 1) * 2 > *cap) { /* rebuild at twice the size */
    size_t ncap = *cap ? *cap * 2 : 64, *nt = mem_calloc(ncap, sizeof *nt);
    if (!nt) return -ENOMEM;
    for (size_t i = 0; i < *cap; i++) {
      if (!(*tab)[i]) continue;
      size_t j = hash_bytes(key(c, (*tab)[i] - 1), kn) & (ncap - 1);
      while (nt[j]) j = (j + 1) & (ncap - 1);
      nt[j] = (*tab)[i];
    }
    mem_free(*tab);
    *tab = nt;
    *cap = ncap;
  }
  size_t j = hash_bytes(k, kn) & (*cap - 1);
  while ((*tab)[j]) j = (j + 1) & (*cap - 1);
  (*tab)[j] = v + 1;
  return 0;
}

/* ---- discovery ------------------------------------------------------------------------ */

/* The node of the lot at pos, added (and queued for expansion) if new. */
static int node_get(struct attrib_walk *c, const uint8_t pos[STORE_LOTPOS], size_t *out)
{
  size_t v = tab_find(c, c->node_tab, c->node_cap, pos, STORE_LOTPOS, node_key);
  if (v != SIZE_MAX) { *out = v; return 0; }
  int rc;
  if ((rc = grow((void **)&c->nodes, &c->cap_nodes, c->n_nodes + 1, sizeof *c->nodes)) ||
      (rc = grow((void **)&c->frontier, &c->cap_frontier, c->n_frontier + 1, sizeof *c->frontier)))
    return rc;
  struct anode *n = &c->nodes[c->n_nodes];
  memset(n, 0, sizeof *n);
  memcpy(n->pos, pos, STORE_LOTPOS);
  n->maker = SIZE_MAX;
  if ((rc = tab_put(c, &c->node_tab, &c->node_cap, c->n_nodes, pos, STORE_LOTPOS, c->n_nodes, node_key))) return rc;
  *out = c->n_nodes++;
  c->frontier[c->n_frontier++] = *out;
  return 0;
}

static int maker_new(struct attrib_walk *c, int kind, size_t n_in, size_t *out)
{
  int rc = grow((void **)&c->makers, &c->cap_makers, c->n_makers + 1, sizeof *c->makers);
  if (rc) return rc;
  struct amaker *m = &c->makers[c->n_makers];
  memset(m, 0, sizeof *m);
  m->kind = kind;
  m->n_in = n_in;
  if (n_in && (!(m->in_node = mem_calloc(n_in, sizeof *m->in_node)) || !(m->parts = mem_calloc(n_in, sizeof *m->parts)))) {
    mem_free(m->in_node);
    return -ENOMEM;
  }
  *out = c->n_makers++;
  return 0;
}

/* Source lot `src` owes maker m its input `input`: the take of its owner's record `seq`. */
static int need_take(struct attrib_walk *c, size_t src, uint64_t seq, size_t m, size_t input)
{
  struct anode *n = &c->nodes[src];
  int rc = grow((void **)&n->needs, &n->cap_needs, n->n_needs + 1, sizeof *n->needs);
  if (rc) return rc;
  n->needs[n->n_needs++] = (struct need){ seq, m, input };
  c->makers[m].in_node[input] = src;
  return 0;
}

/* The record at position pos (its author and seq) into c->body, and its id. */
static int load_record(struct attrib_walk *c, const uint8_t pos[40], uint8_t id[32])
{
  const uint8_t *env;
  size_t len;
  int rc = store_record_get(c->txn, c->s, pos, be64_get(pos + 32), &env, &len);
  if (rc) return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc; /* a lot's record is held */
  sig_sha256(id, env, len);
  if ((rc = codec_envelope_body_stored(env, len, c->body)))
    return rc == -ENOMEM ? rc : KK_ERR(CORRUPT);
  return 0;
}

/* The seq member's feed is flagged from (rules_flagged_from; 0: not), remembered for the call: lots of one
 * owner are many, owners few. The cache is direct-mapped by the key's first byte. */
static int frozen_at(struct attrib_walk *c, const uint8_t member[32], uint64_t *at)
{
  struct frozen_memo *f = &c->frozen[member[0] % ATTRIB_FROZEN_MEMO];
  if (f->known && memcmp(f->member, member, 32) == 0) { *at = f->at; return 0; }
  int rc = rules_flagged_from(c->txn, c->s, member, at);
  if (rc) return rc;
  memcpy(f->member, member, 32);
  f->at = *at;
  f->known = 1;
  return 0;
}

/* A transform's outputs, in index order: each one's amounts as created. */
struct outputs_ctx { struct amaker *m; size_t cap; };

static int output_one(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct outputs_ctx *o = arg;
  struct amaker *m = o->m;
  if (be32_get(pos + 40) != m->n_out) return KK_ERR(CORRUPT); /* outputs are made 0, 1, ... */
  if (grow((void **)&m->out_amt, &o->cap, m->n_out + 1, sizeof *m->out_amt)) return -ENOMEM;
  m->out_amt[m->n_out][0] = l->mass;
  m->out_amt[m->n_out][1] = l->post;
  m->out_amt[m->n_out][2] = l->pre;
  m->n_out++;
  return 0;
}

/* What made_each reports of a maker: its inputs, in order. */
struct inputs_ctx { size_t n, cap; struct made_input *in; int unledgered; };

static int input_one(void *arg, const struct made_input *in)
{
  struct inputs_ctx *x = arg;
  if (in->unledgered) { x->unledgered = 1; return 0; }
  if (in->input != x->n) return KK_ERR(CORRUPT);
  if (grow((void **)&x->in, &x->cap, x->n + 1, sizeof *x->in)) return -ENOMEM;
  x->in[x->n++] = *in;
  return 0;
}

static int expand_transform(struct attrib_walk *c, size_t v)
{
  uint8_t tpos[40];
  memcpy(tpos, c->nodes[v].pos, 40);
  size_t m = tab_find(c, c->tf_tab, c->tf_cap, tpos, 40, maker_key);
  int rc = 0;
  if (m == SIZE_MAX) {
    struct inputs_ctx x = { 0, 0, NULL, 0 };
    if ((rc = rules_made_each(c->txn, c->s, tpos, be64_get(tpos + 32), input_one, &x)) || !x.n ||
        (rc = maker_new(c, MAKER_TRANSFORM, x.n, &m))) {
      mem_free(x.in);
      return rc ? rc : KK_ERR(CORRUPT);
    }
    struct amaker *mk = &c->makers[m];
    memcpy(mk->pos, tpos, 40);
    if (x.unledgered) {
      /* Unledgered inputs are in the record only; their sources are ranked by its id. */
      const struct kk_transform *t = &c->body->u.transform;
      if (!(rc = load_record(c, tpos, mk->id)) && c->body->kind != KK_PL_TRANSFORM) rc = KK_ERR(CORRUPT);
      if (!rc && !(mk->unl = mem_calloc(t->n_unledgered ? t->n_unledgered : 1, sizeof *mk->unl))) rc = -ENOMEM;
      for (size_t i = 0; !rc && i < t->n_unledgered; i++) {
        memcpy(mk->unl[i].country, t->unledgered[i].origin, 3);
        mk->unl[i].mass = t->unledgered[i].mass_mg;
      }
      if (!rc) mk->n_unl = t->n_unledgered;
    }
    /* Every output's amounts, also of outputs nobody asked about: the pool is drawn
     * output by output, in order. */
    struct outputs_ctx o = { mk, 0 };
    if (!rc) rc = rules_lots_of(c->txn, c->s, tpos, be64_get(tpos + 32), output_one, &o);
    if (!rc && !mk->n_out) rc = KK_ERR(CORRUPT);
    if (!rc && !(mk->out_node = mem_alloc(mk->n_out * sizeof *mk->out_node))) rc = -ENOMEM;
    for (size_t j = 0; !rc && j < mk->n_out; j++) mk->out_node[j] = -1;
    if (!rc) rc = tab_put(c, &c->tf_tab, &c->tf_cap, c->n_makers - 1, mk->pos, 40, m, maker_key);
    /* Every input was spent by the transform itself: the take of its seq. */
    for (size_t i = 0; !rc && i < x.n; i++) {
      size_t src;
      if (!(rc = node_get(c, x.in[i].source, &src))) rc = need_take(c, src, x.in[i].spend_seq, m, i);
    }
    mem_free(x.in);
    if (rc) return rc;
  }
  uint32_t out = be32_get(c->nodes[v].pos + 40);
  if (out >= c->makers[m].n_out) return KK_ERR(CORRUPT);
  c->makers[m].out_node[out] = (long)v;
  c->nodes[v].maker = m;
  return 0;
}

/* A lot a successor inherited (node/ledger/succession.c): all that was left of the lot
 * beside it, index - RULES_INHERITED, spent at the succession's from_seq. */
static int expand_inherited(struct attrib_walk *c, size_t v)
{
  uint8_t from[STORE_LOTPOS];
  struct lot l;
  struct member m;
  size_t src, mk;
  memcpy(from, c->nodes[v].pos, STORE_LOTPOS);
  uint32_t index = be32_get(from + 40);
  if (index < RULES_INHERITED) return KK_ERR(CORRUPT);
  be32_put(from + 40, index - RULES_INHERITED);
  int rc = rules_lot_at(c->txn, c->s, from, &l);
  if (rc == 0) rc = rules_member_get(c->txn, c->s, l.owner, &m);
  if (rc == 0 && !m.succeeded) rc = KK_ERR(CORRUPT);
  if (rc) return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
  if ((rc = maker_new(c, MAKER_XFER, 1, &mk))) return rc;
  c->makers[mk].spend_seq = m.succession_from;
  c->nodes[v].maker = mk;
  if ((rc = node_get(c, from, &src))) return rc;
  return need_take(c, src, m.succession_from, mk, 0);
}

static int expand(struct attrib_walk *c, size_t v)
{
  int rc;
  size_t m;
  struct anode *n = &c->nodes[v];
  struct lot l;
  lot_init(&l);
  if ((rc = rules_lot_at(c->txn, c->s, n->pos, &l))) return rc == STORE_ABSENT ? KK_ERR(CORRUPT) : rc;
  memcpy(n->owner, l.owner, 32);
  n->origin_kind = l.origin_kind;
  n->mass = l.mass;
  n->post = l.post;
  n->pre = l.pre;
  uint64_t frozen;
  if ((rc = frozen_at(c, n->owner, &frozen))) return rc;
  n->through_frozen = frozen && n->origin_kind != KK_PL_ISSUE;
  switch (n->origin_kind) {
  case KK_PL_ISSUE: {
    uint8_t id[32];
    if ((rc = load_record(c, n->pos, id))) return rc;
    const struct kk_body *b = c->body;
    if (b->kind != KK_PL_ISSUE || (rc = maker_new(c, MAKER_ISSUE, 0, &m))) return rc ? rc : KK_ERR(CORRUPT);
    n = &c->nodes[v];
    struct amaker *mk = &c->makers[m];
    if (!(mk->cert = mem_calloc(1, sizeof *mk->cert))) return -ENOMEM;
    memcpy(mk->id, id, 32);
    memcpy(mk->country, b->u.issue.origin, 3);
    memcpy(mk->cert->issuer, n->owner, 32);
    mk->cert->issuer_frozen_at = frozen;
    memcpy(mk->cert->scheme, b->u.issue.scheme, sizeof mk->cert->scheme);
    memcpy(mk->cert->certificate, b->u.issue.certificate, sizeof mk->cert->certificate);
    memcpy(mk->cert->facility, b->u.issue.facility, sizeof mk->cert->facility);
    n->maker = m;
    return 0;
  }
  case KK_PL_ADMIT:
    return expand_inherited(c, v);
  case KK_PL_RECEIVE:
  case KK_PL_REFUSE: {
    struct inputs_ctx x = { 0, 0, NULL, 0 };
    size_t src;
    rc = rules_made_each(c->txn, c->s, n->pos, be64_get(n->pos + 32), input_one, &x);
    if (!rc && (x.n != 1 || x.unledgered)) rc = KK_ERR(CORRUPT);
    if (!rc && !(rc = maker_new(c, MAKER_XFER, 1, &m))) {
      c->makers[m].spend_seq = x.in[0].spend_seq;
      c->nodes[v].maker = m;
      if (!(rc = node_get(c, x.in[0].source, &src))) rc = need_take(c, src, x.in[0].spend_seq, m, 0);
    }
    mem_free(x.in);
    return rc;
  }
  case KK_PL_TRANSFORM:
    return expand_transform(c, v);
  default:
    return KK_ERR(CORRUPT);
  }
}

/* ---- order ---------------------------------------------------------------------------- */

/* Appends to order every node reachable from `from` (sources first), iteratively: a
 * chain of blends can be far deeper than the C stack. */
static int walk(struct attrib_walk *c, size_t from, size_t *order, size_t *n_order, size_t *stack, size_t *child)
{
  size_t depth = 0;
  if (c->nodes[from].visit) return 0;
  stack[depth] = from;
  child[depth++] = 0;
  c->nodes[from].visit = 1;
  while (depth) {
    size_t v = stack[depth - 1];
    const struct amaker *m = &c->makers[c->nodes[v].maker];
    if (child[depth - 1] < m->n_in) {
      size_t u = m->in_node[child[depth - 1]++];
      if (c->nodes[u].visit == 1) return KK_ERR(CORRUPT); /* a lot made from itself */
      if (c->nodes[u].visit == 0) {
        c->nodes[u].visit = 1;
        stack[depth] = u;
        child[depth++] = 0;
      }
      continue;
    }
    for (size_t i = 0; i < m->n_in; i++) c->nodes[v].through_frozen |= c->nodes[m->in_node[i]].through_frozen;
    c->nodes[v].visit = 2;
    order[(*n_order)++] = v;
    depth--;
  }
  return 0;
}

/* ---- replay --------------------------------------------------------------------------- */

static int need_cmp(const void *a, const void *b)
{
  const struct need *x = a, *y = b;
  return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* pool += part, leaving part empty (the first part simply becomes the pool). */
static int pool_add(struct attr *pool, struct attr *part)
{
  if (pool->n == 0) {
    attr_free(pool);
    *pool = *part;
    attr_init(part);
    return 0;
  }
  int rc = attr_merge(pool, part);
  attr_free(part);
  return rc;
}

/* Node v's vector as created, from its maker. */
static int make(struct attrib_walk *c, size_t v)
{
  struct anode *n = &c->nodes[v];
  struct amaker *m = &c->makers[n->maker];
  int rc = 0;
  if (n->has_created) return 0;
  if (m->kind == MAKER_ISSUE) {
    struct attr_entry e;
    memset(&e, 0, sizeof e);
    e.src = m->src;
    e.mass = n->mass;
    e.post = n->post;
    e.pre = n->pre;
    attr_init(&n->created);
    if ((rc = attr_add(&n->created, &e))) return rc;
  } else if (m->kind == MAKER_XFER) {
    n->created = m->parts[0];
    attr_init(&m->parts[0]);
  } else {
    /* The transform's pool: every input's part, then the unledgered inputs; each
     * output drawn from it in turn. Outputs asked about keep their vector. */
    struct attr pool, out;
    attr_init(&pool);
    attr_init(&out);
    for (size_t i = 0; i < m->n_in && !rc; i++) rc = pool_add(&pool, &m->parts[i]);
    for (size_t i = 0; i < m->n_unl && !rc; i++) {
      struct attr_entry e;
      memset(&e, 0, sizeof e);
      e.src = m->unl[i].src;
      e.mass = m->unl[i].mass;
      rc = attr_add(&pool, &e);
    }
    for (size_t j = 0; j < m->n_out && !rc; j++) {
      /* the pool is not needed after the last output: its rest (the loss) is dropped */
      if ((rc = (j + 1 < m->n_out ? attr_take_in : attr_take_last)(&c->scratch, &pool, m->out_amt[j][0],
                                                                   m->out_amt[j][1], m->out_amt[j][2], &out)))
        break;
      if (m->out_node[j] >= 0) {
        struct anode *o = &c->nodes[m->out_node[j]];
        o->created = out;
        o->has_created = 1;
        attr_init(&out);
      }
    }
    attr_free(&out);
    attr_free(&pool);
    m->done = 1;
    if (rc) return rc;
  }
  n->has_created = 1;
  return 0;
}

struct replay_ctx {
  struct attrib_walk *c;
  struct anode *n;
  int all;
  struct attr *left;
  size_t next;       /* the next take asked for (n->needs, in seq order) */
  struct attr part;
};

/* One spend replayed: taken from what is left; handed to the maker that asked for it. */
static int replay_spend(void *arg, uint64_t seq, const struct spend *sp)
{
  struct replay_ctx *r = arg;
  struct anode *n = r->n;
  if (r->next == n->n_needs && !r->all) return 1; /* nothing more asked for */
  int rc = attr_take_in(&r->c->scratch, r->left, sp->mass, sp->post, sp->pre, &r->part);
  if (rc) return rc;
  if (r->next < n->n_needs && n->needs[r->next].seq == seq) {
    struct amaker *m = &r->c->makers[n->needs[r->next].maker];
    attr_free(&m->parts[n->needs[r->next].input]);
    m->parts[n->needs[r->next].input] = r->part;
    attr_init(&r->part);
    r->next++;
  }
  return 0;
}

/* Replays node v's spends in its owner's order from its vector as created, delivering
 * each take a maker needs; *left is what remains after the last spend replayed (all of
 * them when `all`). */
static int replay(struct attrib_walk *c, size_t v, int all, struct attr *left)
{
  struct anode *n = &c->nodes[v];
  int rc = 0;
  /* A lot nobody asked about is only replayed for its takes: its vector as created
   * becomes what is left, with no copy. */
  if (all) rc = attr_copy(left, &n->created);
  else {
    *left = n->created;
    attr_init(&n->created);
  }
  if (rc || (!n->n_needs && !all)) return rc;
  if (n->n_needs > 1) qsort(n->needs, n->n_needs, sizeof *n->needs, need_cmp);
  struct replay_ctx r = { .c = c, .n = n, .all = all, .left = left };
  attr_init(&r.part);
  rc = rules_spends_at(c->txn, c->s, n->pos, replay_spend, &r);
  attr_free(&r.part);
  if (rc == 1) rc = 0; /* every take asked for was found */
  if (!rc && r.next < n->n_needs) rc = KK_ERR(CORRUPT); /* a spend the rules recorded is missing */
  return rc;
}

/* ---- the provenance, for what is asked about it -------------------------------------- */

void attrib_prov_init(struct attrib_prov *p)
{
  idset_init(&p->owners);
  p->walk = NULL;
}

void attrib_prov_free(struct attrib_prov *p)
{
  idset_free(&p->owners);
  p->walk = NULL;
}

/* The record at (author, seq) made a lot of the walk: an Issue's, Receive's or Refuse's
 * lot is its output 0; a Transform is a maker (whichever of its outputs were reached). */
int attrib_prov_has_record(const struct attrib_prov *p, const uint8_t author[32], uint64_t seq)
{
  const struct attrib_walk *c = p->walk;
  uint8_t pos[STORE_LOTPOS];
  if (!c) return 0;
  memcpy(pos, author, 32);
  be64_put(pos + 32, seq);
  be32_put(pos + 40, 0);
  return tab_find(c, c->node_tab, c->node_cap, pos, STORE_LOTPOS, node_key) != SIZE_MAX ||
         tab_find(c, c->tf_tab, c->tf_cap, pos, 40, maker_key) != SIZE_MAX;
}

int attrib_prov_has_owner(const struct attrib_prov *p, const uint8_t key[32]) { return idset_has(&p->owners, key); }

static int prov_fill(struct attrib_walk *c, struct attrib_prov *p)
{
  int rc = 0;
  for (size_t v = 0; v < c->n_nodes && rc >= 0; v++) rc = idset_add(&p->owners, c->nodes[v].owner);
  p->walk = c;
  return rc < 0 ? rc : 0;
}

static void actx_free(struct attrib_walk *c)
{
  attr_scratch_free(&c->scratch);
  mem_free(c->sources);
  for (size_t i = 0; i < c->n_nodes; i++) {
    mem_free(c->nodes[i].asked);
    attr_free(&c->nodes[i].created);
    mem_free(c->nodes[i].needs);
  }
  for (size_t i = 0; i < c->n_makers; i++) {
    struct amaker *m = &c->makers[i];
    for (size_t j = 0; m->parts && j < m->n_in; j++) attr_free(&m->parts[j]);
    mem_free(m->parts);
    mem_free(m->in_node);
    mem_free(m->unl);
    mem_free(m->cert);
    mem_free(m->out_amt);
    mem_free(m->out_node);
  }
  mem_free(c->nodes);
  mem_free(c->makers);
  mem_free(c->node_tab);
  mem_free(c->tf_tab);
  mem_free(c->frontier);
  mem_free(c->body);
}

/* The table of sources, once the provenance is known: every certificate and unledgered
 * input, sorted by (id, idx), and each maker told its sources' ranks. */
/* A source to rank: sorted by (id, idx) as attr_source_cmp would, without moving the
 * sources themselves (a certificate's carries its names: hundreds of bytes). */
struct ranked { const uint8_t *id; uint32_t idx; size_t maker, unl; /* unl: SIZE_MAX for a certificate */ };

static int ranked_cmp(const void *a, const void *b)
{
  const struct ranked *x = a, *y = b;
  int c = memcmp(x->id, y->id, 32);
  if (c) return c;
  return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static int rank_sources(struct attrib_walk *c)
{
  size_t n = 0;
  for (size_t m = 0; m < c->n_makers; m++) n += c->makers[m].kind == MAKER_ISSUE ? 1 : c->makers[m].n_unl;
  if (n > UINT32_MAX) return KK_ERR(OVERFLOW);
  struct ranked *r = mem_alloc((n ? n : 1) * sizeof *r);
  if (!r || !(c->sources = mem_alloc((n ? n : 1) * sizeof *c->sources))) {
    mem_free(r);
    return -ENOMEM;
  }
  size_t k = 0;
  for (size_t m = 0; m < c->n_makers; m++) {
    const struct amaker *mk = &c->makers[m];
    if (mk->kind == MAKER_ISSUE) r[k++] = (struct ranked){ mk->id, 0, m, SIZE_MAX };
    else
      for (size_t i = 0; i < mk->n_unl; i++) r[k++] = (struct ranked){ mk->id, (uint32_t)i + 1, m, i };
  }
  qsort(r, n, sizeof *r, ranked_cmp);
  for (size_t i = 0; i < n; i++) {
    struct amaker *mk = &c->makers[r[i].maker];
    struct attr_source *src = &c->sources[i];
    if (r[i].unl == SIZE_MAX) {
      mk->src = (uint32_t)i;
      *src = *mk->cert;
      src->kind = ATTR_CERTIFICATE;
      memcpy(src->country, mk->country, 3);
    } else {
      mk->unl[r[i].unl].src = (uint32_t)i;
      memset(src, 0, sizeof *src);
      src->idx = r[i].idx;
      src->kind = ATTR_UNLEDGERED;
      memcpy(src->country, mk->unl[r[i].unl].country, 3);
    }
    memcpy(src->id, mk->id, 32);
  }
  c->n_sources = n;
  mem_free(r);
  return 0;
}

int attrib_lots(struct store_txn *txn, struct store *s, const uint8_t (*keys)[STORE_LOTKEY], size_t n, attrib_fn fn,
                void *arg, struct attrib_prov *prov)
{
  struct attrib_walk c;
  size_t *order = NULL, *stack = NULL, *child = NULL, n_order = 0;
  struct attr left;
  int rc = 0;
  memset(&c, 0, sizeof c);
  attr_init(&left);
  c.txn = txn;
  c.s = s;
  if (!(c.body = mem_alloc(sizeof *c.body))) return -ENOMEM;
  for (size_t i = 0; i < n && !rc; i++) {
    size_t v;
    uint8_t pos[STORE_LOTPOS];
    struct lot l;
    /* What was asked for is found by its key (checked in full); everything it was made
     * from, by the positions the rules recorded. */
    lot_init(&l);
    if ((rc = rules_lot_find(txn, s, keys[i], pos, &l)) || (rc = node_get(&c, pos, &v))) break;
    if (c.nodes[v].requested) continue; /* asked twice */
    if (!(c.nodes[v].asked = mem_alloc(sizeof l))) { rc = -ENOMEM; break; }
    *c.nodes[v].asked = l;
    c.nodes[v].requested = 1;
    memcpy(c.nodes[v].key, keys[i], STORE_LOTKEY);
    while (c.n_frontier && !rc) rc = expand(&c, c.frontier[--c.n_frontier]);
  }
  if (rc) goto done;
  if (prov && (rc = prov_fill(&c, prov))) goto done;
  if ((rc = rank_sources(&c))) goto done;
  if (!(order = mem_alloc(c.n_nodes * sizeof *order)) || !(stack = mem_alloc(c.n_nodes * sizeof *stack)) ||
      !(child = mem_alloc(c.n_nodes * sizeof *child))) {
    rc = -ENOMEM;
    goto done;
  }
  for (size_t v = 0; v < c.n_nodes && !rc; v++)
    if (c.nodes[v].requested) rc = walk(&c, v, order, &n_order, stack, child);
  for (size_t i = 0; i < n_order && !rc; i++) {
    size_t v = order[i];
    if ((rc = make(&c, v)) || (rc = replay(&c, v, c.nodes[v].requested, &left))) break;
    if (c.nodes[v].requested)
      rc = fn(arg, c.sources, c.nodes[v].key, c.nodes[v].asked, &c.nodes[v].created, &left, c.nodes[v].through_frozen);
    attr_free(&c.nodes[v].created); /* every lot made from it has its take now */
    attr_free(&left);
  }
done:
  if (prov) prov->walk = NULL; /* the walk's tables go now */
  attr_free(&left);
  mem_free(order);
  mem_free(stack);
  mem_free(child);
  actx_free(&c);
  return rc;
}
