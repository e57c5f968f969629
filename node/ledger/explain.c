/*
 * explain — why the rules refused a record, with the figures (what a lot has left, the
 * mass-balance limit after the yield, the unclaimed recycled content, the closest
 * codes): the second line of a refusal on the command line (rules_explain).
 */
#include "rules.h"
#include "qty.h"
#include "../base/err.h"

#include <stdio.h>
#include <string.h>

#define PPM 1000000u

/* ---- explaining a refusal ---------------------------------------------------------- */

/* The lot lotref names, and its code, for an explanation; 0 when it is readable. */
static int explain_lot(struct store_txn *txn, struct store *s, const struct kk_lotref *ref, struct lot *l)
{
  uint8_t key[36];
  lotkey_make(key, ref->record, ref->index);
  lot_init(l);
  return rules_lot_get(txn, s, key, l);
}

void rules_explain(struct store_txn *txn, struct store *s, const struct kk_body *b, int err, char *buf, size_t n)
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
      rules_spend_carry(&l, m, &post, &pre);
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


