/*
 * succession — the registry's way back for a member whose feed cannot go on (frozen by
 * evidence of equivocation, or its key lost): an Admit naming `succeeds` admits a new
 * key in the member's place (docs/rules.md, "Succession").
 *
 * The succession voids the old feed from its from_seq (as a Suspend does). Once every
 * record of the old feed before that point is evaluated — its seqs below from_seq, or
 * below the fork point when that is lower — the successor inherits: each lot the old
 * member still holds is spent whole at from_seq and made again for the successor, as the
 * same record's lot at index + RULES_INHERITED (node/ledger/rules.h). Until then the
 * successor's records wait, so none of them is judged before the inheritance, whatever
 * arrives first. Transfers still pending to the old member may be received or refused
 * by its successor. A transfer the old member sent and that is refused later comes back
 * to it and, when its successor has inherited already, goes on at once the way the
 * inheritance would have handed it on: the state is the same whichever came first.
 */
#include "rules_ctx.h"
#include "state.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"

#include <errno.h>
#include <string.h>

/* A chain of successions is at most this long (each successor is a new key, so a chain
 * has no cycle; the bound only keeps a corrupt store from looping). */
#define SUCCESSION_CHAIN_MAX 64

int succession_check(struct rules_ctx *c, const struct kk_admit *a)
{
  struct member old;
  int rc = rules_member_get(c->txn, c->s, a->succeeds, &old);
  if (rc == STORE_ABSENT || (rc == 0 && (old.roles & KK_ROLE_REGISTRY))) return KK_ERR(UNKNOWN_MEMBER);
  if (rc) return rc;
  if (old.succeeded) return KK_ERR(SUCCEEDED);
  return a->from_seq == 0 ? KK_ERR(FIELD) : 0;
}

int succession_apply(struct rules_ctx *c, const struct kk_admit *a)
{
  struct member old, heir;
  int rc = rules_member_get(c->txn, c->s, a->succeeds, &old);
  if (rc || (rc = rules_member_get(c->txn, c->s, a->member, &heir))) return rc;
  heir.inherit = INHERIT_PENDING;
  memcpy(heir.predecessor, a->succeeds, 32);
  old.succeeded = 1;
  memcpy(old.successor, a->member, 32);
  old.succession_from = a->from_seq;
  if (old.suspended_from == 0 || a->from_seq < old.suspended_from) old.suspended_from = a->from_seq;
  if ((rc = derived_member_put(c, a->member, &heir)) || (rc = derived_member_put(c, a->succeeds, &old))) return rc;
  if ((rc = rules_unwait(c, a->succeeds))) return rc;
  /* As with a suspension: records of the old feed from the point on already applied
   * are taken back by a rebuild with the registry's feed first. */
  uint64_t applied;
  if ((rc = rules_cursor_get(c, a->succeeds, &applied))) return rc;
  if (applied >= old.suspended_from) c->rebuild = 1;
  return succession_settle(c, a->succeeds);
}

/* Hands one lot on, whole, from its owner `old` (succeeded) to old's successor: spent at
 * the succession's from_seq and made again, the same record's lot at index +
 * RULES_INHERITED, for the successor; and on again down a chain of successors that
 * have inherited already. */
static int inherit_lot(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const uint8_t pos[STORE_LOTPOS],
                       struct lot *was, const struct member *old)
{
  uint32_t index = be32_get(key + 32);
  if (index >= 0xffu * RULES_INHERITED) return 0; /* handed on 255 times: it stays (docs/rules.md) */
  struct lot now = *was;
  uint8_t nkey[STORE_LOTKEY];
  memcpy(now.owner, old->successor, 32);
  now.origin_kind = KK_PL_ADMIT;
  now.mass = now.mass_left = was->mass_left;
  now.post = now.post_left = was->post_left;
  now.pre = now.pre_left = was->pre_left;
  now.claimed = 0;
  int rc = derived_spend_put(c, pos, old->succession_from, SPEND_SUCCESSION, was->mass_left, was->post_left, was->pre_left);
  if (rc) return rc;
  was->mass_left = was->post_left = was->pre_left = 0;
  memcpy(nkey, key, 32);
  be32_put(nkey + 32, index + RULES_INHERITED);
  if ((rc = derived_lot_put(c, key, was)) || (rc = derived_lot_put(c, nkey, &now)) ||
      (rc = derived_code_put(c, now.owner, now.code, nkey)))
    return rc;
  return succession_pass_on(c, nkey, &now);
}

/* The lots the old member holds, collected before any is rewritten. */
struct held { uint8_t (*pos)[STORE_LOTPOS]; struct lot *lots; size_t n, cap; const uint8_t *owner; };

static int held_one(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct held *h = arg;
  if (memcmp(l->owner, h->owner, 32) != 0 || (!l->mass_left && !l->post_left && !l->pre_left)) return 0;
  if (h->n == h->cap) {
    size_t cap = h->cap ? h->cap * 2 : 8;
    void *p = mem_realloc(h->pos, cap * sizeof *h->pos), *q;
    if (!p) return -ENOMEM;
    h->pos = p;
    if (!(q = mem_realloc(h->lots, cap * sizeof *h->lots))) return -ENOMEM;
    h->lots = q;
    h->cap = cap;
  }
  memcpy(h->pos[h->n], pos, STORE_LOTPOS);
  h->lots[h->n++] = *l;
  return 0;
}

/* Hands every lot the old member still holds to its successor, in position order. Its
 * lots are mostly its own records' but a refund lies under the refusing member's, so
 * every lot is read (successions are rare). */
static int inherit(struct rules_ctx *c, const uint8_t old_key[32], const struct member *old, struct member *heir)
{
  struct held h = { NULL, NULL, 0, 0, old_key };
  int rc = rules_lots_each(c->txn, c->s, held_one, &h);
  heir->inherit = INHERIT_DONE; /* so that a lot handed on goes on down the chain */
  if (!rc) rc = derived_member_put(c, old->successor, heir);
  for (size_t i = 0; i < h.n && rc == 0; i++) {
    uint8_t key[STORE_LOTKEY];
    if (!(rc = rules_lot_key(c->txn, c->s, h.pos[i], key))) rc = inherit_lot(c, key, h.pos[i], &h.lots[i], old);
  }
  mem_free(h.pos);
  mem_free(h.lots);
  return rc ? rc : rules_wake(c, DEP_INHERIT, old->successor);
}

int succession_settle(struct rules_ctx *c, const uint8_t feed[32])
{
  struct member old, heir;
  int rc = rules_member_get(c->txn, c->s, feed, &old);
  if (rc == STORE_ABSENT || (rc == 0 && !old.succeeded)) return 0;
  if (rc || (rc = rules_member_get(c->txn, c->s, old.successor, &heir))) return rc;
  if (heir.inherit != INHERIT_PENDING) return 0;
  /* Everything before the succession point that will ever be evaluated must be. */
  uint64_t applied, frozen, end = old.suspended_from;
  if ((rc = rules_cursor_get(c, feed, &applied)) || (rc = store_frozen_at(c->txn, c->s, feed, &frozen))) return rc;
  if (frozen && frozen < end) end = frozen;
  if (applied + 1 < end) return 0;
  return inherit(c, feed, &old, &heir);
}

int succession_pass_on(struct rules_ctx *c, const uint8_t key[STORE_LOTKEY], const struct lot *l)
{
  struct member m, heir;
  int rc = rules_member_get(c->txn, c->s, l->owner, &m);
  if (rc == STORE_ABSENT || (rc == 0 && !m.succeeded)) return 0;
  if (rc || (rc = rules_member_get(c->txn, c->s, m.successor, &heir))) return rc;
  if (heir.inherit != INHERIT_DONE) return 0; /* its inheritance will find the lot */
  uint8_t pos[STORE_LOTPOS];
  struct lot was = *l;
  if ((rc = derived_lot_pos(c, key, pos))) return rc;
  return inherit_lot(c, key, pos, &was, &m);
}

int succession_is_heir(struct rules_ctx *c, const uint8_t member[32], const uint8_t author[32])
{
  uint8_t k[32];
  memcpy(k, member, 32);
  for (int i = 0; i < SUCCESSION_CHAIN_MAX; i++) {
    struct member m;
    int rc = rules_member_get(c->txn, c->s, k, &m);
    if (rc == STORE_ABSENT || (rc == 0 && !m.succeeded)) return 0;
    if (rc) return rc;
    if (memcmp(m.successor, author, 32) == 0) return 1;
    memcpy(k, m.successor, 32);
  }
  return KK_ERR(CORRUPT);
}
