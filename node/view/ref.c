/*
 * ref — what users type to name a lot, a member or a record (node/view/view.h).
 */
#include "view.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../ledger/material.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int is_hex(const char *s, size_t n)
{
  for (size_t i = 0; i < n; i++)
    if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F')))
      return 0;
  return 1;
}

/* Record ids starting with the hex prefix p[0..n). */
struct prefix_match { uint8_t id[32]; size_t found; };

static int prefix_match_one(void *arg, const uint8_t id[32])
{
  struct prefix_match *m = arg;
  if (m->found++ == 0) memcpy(m->id, id, 32);
  return m->found > 1; /* two are enough to know it is ambiguous */
}

static int prefix_match(struct store_txn *txn, struct store *s, const char *p, size_t n, uint8_t id[32])
{
  uint8_t packed[32] = { 0 };
  if (n < 4 || n > 64 || !is_hex(p, n)) return KK_ERR(UNKNOWN_RECORD);
  for (size_t i = 0; i < n; i++) {
    int d = p[i] <= '9' ? p[i] - '0' : (p[i] | 0x20) - 'a' + 10;
    packed[i / 2] |= (uint8_t)(i % 2 ? d : d << 4);
  }
  struct prefix_match m = { { 0 }, 0 };
  int rc = store_ids_with_prefix(txn, s, packed, (unsigned)n, prefix_match_one, &m);
  if (rc < 0 || rc > 1) return rc;
  if (m.found == 0) return KK_ERR(UNKNOWN_RECORD);
  if (m.found > 1) return KK_ERR(AMBIGUOUS);
  memcpy(id, m.id, 32);
  return 0;
}

int view_resolve_record(struct store_txn *txn, struct store *s, const char *ref, uint8_t id[32])
{
  return prefix_match(txn, s, ref, strlen(ref), id);
}

#define MAX_MATCHES 16

/* Lots with this code: the owner's when owner is given, else every member's (the codes
 * index, once per member: members are few, lots many). Up to MAX_MATCHES keys are
 * kept in keys[]; *found counts them all. */
struct code_match { struct store_txn *txn; struct store *s; const char *code; uint8_t (*keys)[36]; size_t *found; };

static int code_match_one(void *arg, const uint8_t member[32], const struct member *m)
{
  struct code_match *cm = arg;
  size_t n, room = *cm->found < MAX_MATCHES ? MAX_MATCHES - *cm->found : 0;
  (void)m;
  int rc = rules_code_lots(cm->txn, cm->s, member, cm->code, room ? cm->keys + *cm->found : NULL, room, &n);
  if (rc == 0) *cm->found += n;
  return rc;
}

static int code_match(struct store_txn *txn, struct store *s, const uint8_t *owner, const char *code,
                          uint8_t keys[][36], size_t *found)
{
  if (owner) return rules_code_lots(txn, s, owner, code, keys, MAX_MATCHES, found);
  *found = 0;
  struct code_match cm = { txn, s, code, keys, found };
  return rules_members_each(txn, s, code_match_one, &cm);
}

/* Several lots share a code (a received lot keeps its code): the one with mass left
 * wins if it is the only one; otherwise list them so the user can pick a ref. */
static int pick(struct store_txn *txn, struct store *s, const char *code, uint8_t keys[][36], size_t found, uint8_t key[36],
                char *why, size_t whylen)
{
  size_t live = 0, choice = 0, n = found < MAX_MATCHES ? found : MAX_MATCHES;
  for (size_t i = 0; i < n; i++) {
    struct lot l;
    lot_init(&l);
    if (rules_lot_get(txn, s, keys[i], &l) == 0 && l.mass_left > 0) { live++; choice = i; }
    lot_free(&l);
  }
  if (found == 1 || (live == 1 && found <= MAX_MATCHES)) {
    memcpy(key, keys[found == 1 ? 0 : choice], 36);
    return 0;
  }
  size_t at = (size_t)snprintf(why, whylen, "%zu lots have the code '%s'; name one by its ref:", found, code);
  for (size_t i = 0; i < n && at < whylen; i++) {
    char ref[64], owner[CODEC_NAME_MAX + 8];
    struct lot l;
    lot_init(&l);
    if (rules_lot_get(txn, s, keys[i], &l) == 0) {
      view_lotref(ref, sizeof ref, keys[i]);
      at += (size_t)snprintf(why + at, whylen - at, "%s %s (held by %s)", i ? "," : "", ref,
                             view_member_name(txn, s, l.owner, owner, sizeof owner));
    }
    lot_free(&l);
  }
  return KK_ERR(AMBIGUOUS);
}

/* Edit distance of a and b, ASCII case ignored (codes are short: an O(nm) table row). */
static size_t distance(const char *a, const char *b)
{
  size_t na = strlen(a), nb = strlen(b), row[CODEC_CODE_MAX + 2];
  if (nb > CODEC_CODE_MAX) return SIZE_MAX;
  for (size_t j = 0; j <= nb; j++) row[j] = j;
  for (size_t i = 1; i <= na; i++) {
    size_t diag = row[0];
    row[0] = i;
    for (size_t j = 1; j <= nb; j++) {
      size_t up = row[j];
      int same = tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 1]);
      size_t best = diag + !same;
      if (up + 1 < best) best = up + 1;
      if (row[j - 1] + 1 < best) best = row[j - 1] + 1;
      row[j] = best;
      diag = up;
    }
  }
  return row[nb];
}

/* The nearest codes kept while looking for what an unknown ref meant (this member's own, or
 * everybody's without an identity), nearest first — a typo names what was meant. */
enum { SUGGEST = 3 };
struct suggest {
  const uint8_t *me;
  const char *ref;
  size_t limit, n;
  char best[SUGGEST][CODEC_CODE_MAX + 1];
  size_t dist[SUGGEST];
};

/* Keeps code among the SUGGEST nearest to the reference, in distance order. */
static int suggest_fn(void *arg, const uint8_t pos[STORE_LOTPOS], const struct lot *l)
{
  struct suggest *sg = arg;
  (void)pos;
  if (sg->me && memcmp(l->owner, sg->me, 32) != 0) return 0;
  size_t d = distance(sg->ref, l->code), i;
  if (d > sg->limit) return 0;
  for (i = 0; i < sg->n; i++)
    if (strcmp(sg->best[i], l->code) == 0) return 0; /* the same code on several lots */
  size_t at = sg->n;
  while (at > 0 && sg->dist[at - 1] > d) at--;
  if (at == SUGGEST) return 0;
  size_t move = (sg->n < SUGGEST ? sg->n : SUGGEST - 1) - at;
  memmove(&sg->dist[at + 1], &sg->dist[at], move * sizeof sg->dist[0]);
  memmove(sg->best[at + 1], sg->best[at], move * sizeof sg->best[0]);
  sg->dist[at] = d;
  memcpy(sg->best[at], l->code, sizeof sg->best[at]);
  if (sg->n < SUGGEST) sg->n++;
  return 0;
}

/* Into why: the lot codes held closest to the unknown ref (me's own, or everybody's
 * without an identity), nearest first — a typo names what was meant. */
static void suggest_codes(struct store_txn *txn, struct store *s, const uint8_t *me, const char *ref, char *why, size_t n)
{
  struct suggest sg;
  memset(&sg, 0, sizeof sg);
  sg.me = me;
  sg.ref = ref;
  sg.limit = strlen(ref) / 3 + 2;
  why[0] = 0;
  if (rules_lots_each(txn, s, suggest_fn, &sg) || !sg.n) return;
  size_t at = (size_t)snprintf(why, n, "did you mean");
  for (size_t i = 0; i < sg.n && at < n; i++)
    at += (size_t)snprintf(why + at, n - at, "%s %s", i ? (i + 1 == sg.n ? " or" : ",") : "", sg.best[i]);
  if (at < n) snprintf(why + at, n - at, "? (kiroku lots lists the lots held)");
}

static int resolve_lot_ref(struct store_txn *txn, struct store *s, const uint8_t *me, const char *ref, uint8_t key[36],
                           char *why, size_t whylen)
{
  uint8_t keys[MAX_MATCHES][36];
  size_t found = 0;
  int rc;
  if (strlen(ref) <= CODEC_CODE_MAX) {
    if (me && (rc = code_match(txn, s, me, ref, keys, &found))) return rc;
    if (found == 0 && (rc = code_match(txn, s, NULL, ref, keys, &found))) return rc;
    if (found) return pick(txn, s, ref, keys, found, key, why, whylen);
  }
  /* id prefix[:N] */
  const char *colon = strchr(ref, ':');
  size_t n = colon ? (size_t)(colon - ref) : strlen(ref);
  uint32_t index = 0;
  if (colon) {
    char *end;
    unsigned long x = strtoul(colon + 1, &end, 10);
    if (!colon[1] || *end || x > UINT32_MAX) return KK_ERR(UNKNOWN_LOT);
    index = (uint32_t)x;
  }
  uint8_t id[32];
  rc = prefix_match(txn, s, ref, n, id);
  if (rc == KK_ERR(UNKNOWN_RECORD)) return KK_ERR(UNKNOWN_LOT);
  if (rc) return rc;
  lotkey_make(key, id, index);
  struct lot l;
  lot_init(&l);
  if ((rc = rules_lot_get(txn, s, key, &l)) == 0) lot_free(&l);
  return rc == STORE_ABSENT ? KK_ERR(UNKNOWN_LOT) : rc;
}

int view_resolve_lot(struct store_txn *txn, struct store *s, const uint8_t *me, const char *ref, uint8_t key[36],
                     char *why, size_t whylen)
{
  why[0] = 0;
  int rc = resolve_lot_ref(txn, s, me, ref, key, why, whylen);
  if (rc == KK_ERR(UNKNOWN_LOT)) suggest_codes(txn, s, me, ref, why, whylen);
  return rc;
}

struct name_match { const char *name; uint8_t *key; size_t found; };

/* A member succeeded (kiroku succeed) gives its name to its successor; its key still
 * names it. */
static int name_match_one(void *arg, const uint8_t key[32], const struct member *m)
{
  struct name_match *nm = arg;
  if (!m->succeeded && strcmp(m->name, nm->name) == 0 && nm->found++ == 0) memcpy(nm->key, key, 32);
  return 0;
}

int view_resolve_member(struct store_txn *txn, struct store *s, const char *ref, uint8_t key[32])
{
  if (strlen(ref) == 64 && sig_unhex(key, 32, ref) == 0) return 0;
  struct name_match nm = { ref, key, 0 };
  int rc = rules_members_each(txn, s, name_match_one, &nm);
  if (rc) return rc;
  size_t found = nm.found;
  if (found == 0) return KK_ERR(UNKNOWN_MEMBER);
  return found == 1 ? 0 : KK_ERR(AMBIGUOUS);
}
