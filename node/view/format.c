/*
 * format — the small faces: hex, lot refs, member names, materials, figures
 * (node/view/view.h).
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

void view_hex(char out[65], const uint8_t id[32])
{
  sig_hex(out, id, 32);
}

void view_lotref(char *out, size_t n, const uint8_t lotkey[36])
{
  char hex[65];
  sig_hex(hex, lotkey, 32);
  snprintf(out, n, "%.12s:%u", hex, be32_get(lotkey + 32));
}

const char *view_member_name(struct store_txn *txn, struct store *s, const uint8_t key[32], char *buf, size_t n)
{
  struct member m;
  if (rules_member_get(txn, s, key, &m) == 0) snprintf(buf, n, "%s", m.name);
  else {
    char hex[65];
    sig_hex(hex, key, 32);
    snprintf(buf, n, "%.16s…", hex);
  }
  return buf;
}

/* Can anything in this ledger taint a lot? Only a revocation or a frozen feed can. */
static int taint_possible(struct store_txn *txn, struct store *s)
{
  uint64_t revoked, frozen;
  if (store_entries(txn, s, STORE_N_REVOKED, &revoked) || store_entries(txn, s, STORE_N_FROZEN, &frozen)) return 1;
  return revoked > 0 || frozen > 0;
}

struct figures_ctx { struct view_figures *out; size_t n; };

static int figures_cmp(const void *a, const void *b)
{
  return memcmp(((const struct view_figures *)a)->key, ((const struct view_figures *)b)->key, 36);
}

static int figures_fn(void *arg, const struct verify_report *r)
{
  struct figures_ctx *c = arg;
  struct view_figures probe, *f;
  memcpy(probe.key, r->lotkey, 36);
  if (!(f = bsearch(&probe, c->out, c->n, sizeof *c->out, figures_cmp))) return 0;
  f->verified_post = r->verified_post;
  f->verified_pre = r->verified_pre;
  f->tainted = r->tainted;
  f->equivocation_mass = r->equivocation_mass;
  f->flagged = r->flagged;
  f->passed = r->passed;
  return 0;
}

int view_lot_figures(struct store_txn *txn, struct store *s, const uint8_t (*keys)[36], size_t n, struct view_figures *out)
{
  int rc = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    memset(&out[i], 0, sizeof out[i]);
    memcpy(out[i].key, keys[i], 36);
    if ((rc = rules_lot_get(txn, s, keys[i], &l))) break;
    out[i].verified_post = l.post;
    out[i].verified_pre = l.pre;
    out[i].passed = 1;
  }
  if (rc || !n || !taint_possible(txn, s)) return rc;
  /* Reports come in provenance order: find each lot's slot by key. */
  struct view_figures *sorted = mem_alloc(n * sizeof *sorted);
  if (!sorted) return -ENOMEM;
  memcpy(sorted, out, n * sizeof *sorted);
  qsort(sorted, n, sizeof *sorted, figures_cmp);
  struct figures_ctx fc = { sorted, n };
  rc = verify_lots(txn, s, keys, n, figures_fn, &fc);
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct view_figures *f = bsearch(&out[i], sorted, n, sizeof *sorted, figures_cmp);
    out[i] = *f;
  }
  mem_free(sorted);
  return rc;
}

void view_json_figures(json_t *o, const struct view_figures *f, uint64_t mass)
{
  uint64_t v = f->verified_post + f->verified_pre;
  json_object_set_new(o, "verified", json_pack("{s:I,s:I,s:f,s:I}", "post_consumer_mg", (json_int_t)f->verified_post,
                                                "pre_consumer_mg", (json_int_t)f->verified_pre, "share",
                                                (double)qty_ppm(v, mass) / 1e6, "share_ppm", (json_int_t)qty_ppm(v, mass)));
  json_object_set_new(o, "tainted_mg", json_integer((json_int_t)f->tainted));
  json_object_set_new(o, "flagged", json_boolean(f->flagged));
}

void view_json_material(json_t *o, const char *m)
{
  const char *form = material_form(m);
  json_object_set_new(o, "material", json_string(m));
  json_object_set_new(o, "group", json_stringn(m, material_group_len(m)));
  json_object_set_new(o, "form", *form ? json_string(form) : json_null());
}

json_t *view_json_hex(const uint8_t *p, size_t n)
{
  char hex[2 * 64 + 1];
  if (n > 64) n = 64;
  sig_hex(hex, p, n);
  return json_string(hex);
}
