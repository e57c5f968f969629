/*
 * ops — a member's commands as the records they mean (ops.h).
 */
#include "ops.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/qty.h"
#include "../ledger/rules.h"
#include "../ledger/verify.h"
#include "../view/view.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Each argument: "name METAVAR" and how often: none once, '?' at most once, '*' any
 * number of times, '+' at least once. */
static const char *const issue_args[] = { "lot CODE", "material M", "mass Q", "post-consumer Q", "pre-consumer Q?",
                                          "origin CC", "scheme S", "certificate ID", "evidence SHA256*", "facility F?",
                                          "model M?", NULL };
static const char *const transfer_args[] = { "lot REF", "mass Q", "to NAME|HEX", NULL };
static const char *const receive_args[] = { "transfer ID", NULL };
static const char *const refuse_args[] = { "transfer ID", "reason TEXT?", NULL };
static const char *const transform_args[] = { "model M", "in REF=Q+", "unledgered MATERIAL=Q@CC*",
                                              "out CODE:MATERIAL=Q[,post=Q][,pre=Q]+", "process TEXT?", NULL };
static const char *const claim_args[] = { "lot REF", "recycled P", "scope TEXT", NULL };
static const char *const attest_args[] = { "record ID", "statement TEXT", NULL };
static const char *const revoke_args[] = { "record ID", "reason TEXT", NULL };
static const char *const incident_args[] = { "kind K", "about ID", "text TEXT", NULL };

static const struct op_spec specs[OP_COUNT] = {
  [OP_ISSUE] = { "issue", issue_args },       [OP_TRANSFER] = { "transfer", transfer_args },
  [OP_RECEIVE] = { "receive", receive_args }, [OP_REFUSE] = { "refuse", refuse_args },
  [OP_TRANSFORM] = { "transform", transform_args }, [OP_CLAIM] = { "claim", claim_args },
  [OP_ATTEST] = { "attest", attest_args },    [OP_REVOKE] = { "revoke", revoke_args },
  [OP_INCIDENT] = { "incident", incident_args },
};

const struct op_spec *op_spec(enum op_kind k) { return k < OP_COUNT ? &specs[k] : NULL; }

int op_find(const char *name)
{
  for (int k = 0; k < OP_COUNT; k++)
    if (!strcmp(specs[k].name, name)) return k;
  return -1;
}

int op_args_add(struct op_args *a, const char *name, const char *value)
{
  if (a->n == OP_ARGS_MAX) return KK_ERR(USAGE);
  a->name[a->n] = name;
  a->value[a->n] = value;
  a->n++;
  return 0;
}

const char *op_arg(const struct op_args *a, const char *name)
{
  for (size_t i = 0; i < a->n; i++)
    if (!strcmp(a->name[i], name)) return a->value[i];
  return NULL;
}

void op_args_for_transfer(const struct op_args *a, const uint8_t id[32], char hex[65], struct op_args *one)
{
  const char *reason = op_arg(a, "reason");
  sig_hex(hex, id, 32);
  memset(one, 0, sizeof *one);
  op_args_add(one, "transfer", hex);
  if (reason) op_args_add(one, "reason", reason);
}

void op_plan_free(struct op_plan *p)
{
  mem_free(p->body);
  p->body = NULL;
}

/* ---- arguments --------------------------------------------------------------------------- */

struct ctx {
  struct store_txn *txn;
  struct store *s;
  const uint8_t *me;
  const struct op_args *a;
  const char *dash;
  struct op_error *err;
};

/* Sets the error: what = "<dash><name> <value>", hint from fmt; returns rc. */
static int fail(struct ctx *c, int rc, const char *name, const char *value, const char *fmt, ...)
{
  if (!*name) name = "(an argument with no name)";
  snprintf(c->err->what, sizeof c->err->what, "%s%s%s%.200s", *name == '(' ? "" : c->dash, name, value ? " " : "",
           value ? value : "");
  c->err->hint[0] = 0;
  if (fmt) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->err->hint, sizeof c->err->hint, fmt, ap);
    va_end(ap);
  }
  return rc;
}

static size_t spec_name_len(const char *spec) { return strcspn(spec, " "); }
static char spec_count(const char *spec) { char e = spec[strlen(spec) - 1]; return e == '?' || e == '*' || e == '+' ? e : 0; }

/* Every argument is one the op takes, as often as it takes it; every required one is
 * there. */
static int check_args(struct ctx *c, enum op_kind k)
{
  const char *const *args = specs[k].args;
  for (size_t i = 0; i < c->a->n; i++) {
    const char *nm = c->a->name[i];
    const char *const *sp;
    /* every value ends up as text of a record, which must be UTF-8 without control
     * characters: say so here, naming the argument */
    if (codec_check_text(nm, strlen(nm))) return fail(c, KK_ERR(UTF8), "(an argument whose name is not text)", NULL, NULL);
    if (codec_check_text(c->a->value[i], strlen(c->a->value[i]))) return fail(c, KK_ERR(UTF8), nm, NULL, NULL);
    for (sp = args; *sp; sp++)
      if (spec_name_len(*sp) == strlen(nm) && !strncmp(*sp, nm, strlen(nm))) break;
    if (!*sp) {
      char list[400] = "";
      for (const char *const *q = args; *q; q++)
        snprintf(list + strlen(list), sizeof list - strlen(list), "%s%s%.*s", *q == *args ? "" : ", ", c->dash,
                 (int)spec_name_len(*q), *q);
      return fail(c, KK_ERR(USAGE), nm, NULL, "%s takes %s", specs[k].name, list);
    }
    char cnt = spec_count(*sp);
    if (cnt != '*' && cnt != '+')
      for (size_t j = 0; j < i; j++)
        if (!strcmp(c->a->name[j], nm)) return fail(c, KK_ERR(USAGE), nm, NULL, "given twice: give it once");
  }
  for (const char *const *sp = args; *sp; sp++) {
    char cnt = spec_count(*sp);
    if (cnt == '?' || cnt == '*') continue;
    size_t l = spec_name_len(*sp), i;
    for (i = 0; i < c->a->n; i++)
      if (strlen(c->a->name[i]) == l && !strncmp(c->a->name[i], *sp, l)) break;
    if (i == c->a->n) {
      int ml = (int)(strlen(*sp) - l - 1 - (cnt != 0));
      snprintf(c->err->what, sizeof c->err->what, "missing %s%.*s %.*s", c->dash, (int)l, *sp, ml, *sp + l + 1);
      c->err->hint[0] = 0;
      return KK_ERR(USAGE);
    }
  }
  return 0;
}

/* The value of a single argument, or NULL. */
static const char *arg(const struct ctx *c, const char *name) { return op_arg(c->a, name); }

static int text(struct ctx *c, char *dst, size_t cap, const char *name)
{
  const char *v = arg(c, name);
  if (!v) { dst[0] = 0; return 0; }
  if (strlen(v) > cap) return fail(c, KK_ERR(USAGE), name, NULL, "is longer than %zu bytes", cap);
  strcpy(dst, v);
  return 0;
}

static int mass(struct ctx *c, const char *name, const char *v, uint64_t *mg)
{
  int rc = qty_parse_mass(v, mg);
  return rc ? fail(c, rc, name, v, NULL) : 0;
}

static int country(struct ctx *c, const char *name, const char *v, char out[3])
{
  char why[300];
  if (op_check_country(v, why, sizeof why)) return fail(c, KK_ERR(COUNTRY), name, v, "%s", why);
  strcpy(out, v);
  return 0;
}

static int lot(struct ctx *c, const char *name, const char *ref, uint8_t key[36])
{
  char why[1024];
  int rc = view_resolve_lot(c->txn, c->s, c->me, ref, key, why, sizeof why);
  return rc ? fail(c, rc, name, ref, "%s", why) : 0;
}

static int record(struct ctx *c, const char *name, const char *ref, uint8_t id[32], int rc_unknown, int may_be_absent)
{
  int rc = view_resolve_record(c->txn, c->s, ref, id);
  /* An incident may concern a record this node has not seen: a full id is enough. */
  if (rc == KK_ERR(UNKNOWN_RECORD) && may_be_absent && strlen(ref) == 64 && sig_unhex(id, 32, ref) == 0) return 0;
  if (rc == KK_ERR(UNKNOWN_RECORD)) rc = rc_unknown;
  return rc ? fail(c, rc, name, ref, NULL) : 0;
}

/* The warning of a lot that is tainted or flagged: what it carries is not what it says. */
static void taint_warning(struct ctx *c, const uint8_t key[36], const char *what, char *out, size_t n)
{
  struct verify_report r;
  char a[QTY_FMT], b[QTY_FMT], d[QTY_FMT];
  out[0] = 0;
  if (verify_lot(c->txn, c->s, key, 0, &r)) return;
  size_t at = 0;
  if (r.tainted)
    at += (size_t)snprintf(out, n, "%s is tainted: %s of its recorded %s of recycled content does not count (%s from "
                                   "revoked certificates, the rest from an issuer proven to have equivocated)",
                           what, qty_format_mass(a, r.tainted), qty_format_mass(b, r.lot.post + r.lot.pre),
                           qty_format_mass(d, r.tainted_revoked));
  if (r.flagged && at < n)
    snprintf(out + at, n - at, "%s%s is flagged: %s of it came through a participant proven to have equivocated",
             at ? "; " : "", what, qty_format_mass(a, r.equivocation_mass));
  verify_report_free(&r);
}

/* ---- the ops ----------------------------------------------------------------------------- */

static int build_issue(struct ctx *c, struct kk_body *b, struct op_plan *p)
{
  struct kk_issue *x = &b->u.issue;
  const char *v;
  int rc;
  b->kind = KK_PL_ISSUE;
  x->model = KK_MODEL_SEGREGATED;
  p->lots = 1;
  if ((rc = text(c, x->lot_code, CODEC_CODE_MAX, "lot")) || (rc = text(c, x->material, CODEC_MATERIAL_MAX, "material")) ||
      (rc = text(c, x->scheme, CODEC_SCHEME_MAX, "scheme")) ||
      (rc = text(c, x->certificate, CODEC_CERT_MAX, "certificate")) ||
      (rc = text(c, x->facility, CODEC_NAME_MAX, "facility")))
    return rc;
  if ((rc = mass(c, "mass", arg(c, "mass"), &x->mass_mg)) || (rc = mass(c, "post-consumer", arg(c, "post-consumer"), &x->post_mg)))
    return rc;
  if ((v = arg(c, "pre-consumer")) && (rc = mass(c, "pre-consumer", v, &x->pre_mg))) return rc;
  if ((rc = country(c, "origin", arg(c, "origin"), x->origin))) return rc;
  if ((v = arg(c, "model")) && codec_model_parse(v, &x->model))
    return fail(c, KK_ERR(MODEL), "model", v, "segregated, identity-preserved, controlled-blending or mass-balance");
  for (size_t i = 0; i < c->a->n; i++) {
    if (strcmp(c->a->name[i], "evidence")) continue;
    if (x->n_evidence == CODEC_EVIDENCE_MAX)
      return fail(c, KK_ERR(TOO_LARGE), "evidence", NULL, "at most %d evidence documents", CODEC_EVIDENCE_MAX);
    v = c->a->value[i];
    if (strlen(v) != 64 || sig_unhex(x->evidence[x->n_evidence], 32, v))
      return fail(c, KK_ERR(USAGE), "evidence", v, "an evidence document is named by its SHA-256 (64 hex digits)");
    x->n_evidence++;
  }
  return 0;
}

static int build_transfer(struct ctx *c, struct kk_body *b, struct op_plan *p)
{
  uint8_t key[36];
  int rc;
  b->kind = KK_PL_TRANSFER;
  if ((rc = mass(c, "mass", arg(c, "mass"), &b->u.transfer.mass_mg)) || (rc = lot(c, "lot", arg(c, "lot"), key))) return rc;
  if ((rc = view_resolve_member(c->txn, c->s, arg(c, "to"), b->u.transfer.to)))
    return fail(c, rc, "to", arg(c, "to"), rc == KK_ERR(UNKNOWN_MEMBER) ? "kiroku members lists the members" : NULL);
  memcpy(b->u.transfer.lot.record, key, 32);
  b->u.transfer.lot.index = be32_get(key + 32);
  struct lot l;
  char what[CODEC_CODE_MAX + 8];
  lot_init(&l);
  snprintf(what, sizeof what, "lot %s", rules_lot_get(c->txn, c->s, key, &l) == 0 ? l.code : arg(c, "lot"));
  lot_free(&l);
  taint_warning(c, key, what, p->warning, sizeof p->warning);
  return 0;
}

static int build_close(struct ctx *c, struct kk_body *b, struct op_plan *p, int receive)
{
  uint8_t *tid = receive ? b->u.receive.transfer : b->u.refuse.transfer;
  int rc;
  b->kind = receive ? KK_PL_RECEIVE : KK_PL_REFUSE;
  p->lots = 1;
  if ((rc = record(c, "transfer", arg(c, "transfer"), tid, KK_ERR(UNKNOWN_TRANSFER), 0))) return rc;
  if (!receive) return text(c, b->u.refuse.reason, CODEC_TEXT_MAX, "reason");
  struct xfer x;
  xfer_init(&x);
  if (rules_xfer_get(c->txn, c->s, tid, &x) == 0) {
    char what[CODEC_CODE_MAX + 32];
    snprintf(what, sizeof what, "the lot being received (%s)", x.code);
    taint_warning(c, x.from_lot, what, p->warning, sizeof p->warning);
  }
  xfer_free(&x);
  return 0;
}

/* in: REF=Q */
static int parse_in(struct ctx *c, const char *v, struct kk_input *in)
{
  const char *eq = strrchr(v, '=');
  char ref[256];
  uint8_t key[36];
  if (!eq || eq == v || (size_t)(eq - v) >= sizeof ref)
    return fail(c, KK_ERR(USAGE), "in", v, "takes REF=QUANTITY, e.g. FLAKE-1=20t");
  memcpy(ref, v, (size_t)(eq - v));
  ref[eq - v] = 0;
  int rc = qty_parse_mass(eq + 1, &in->mass_mg);
  if (rc) return fail(c, rc, "in", v, NULL);
  if ((rc = lot(c, "in", ref, key))) return rc;
  memcpy(in->lot.record, key, 32);
  in->lot.index = be32_get(key + 32);
  return 0;
}

/* unledgered: MATERIAL=Q@CC */
static int parse_unledgered(struct ctx *c, const char *v, struct kk_unledgered *u)
{
  const char *eq = strchr(v, '='), *at = strrchr(v, '@');
  char q[64];
  if (!eq || !at || at < eq || eq == v || (size_t)(eq - v) > CODEC_MATERIAL_MAX || (size_t)(at - eq - 1) >= sizeof q)
    return fail(c, KK_ERR(USAGE), "unledgered", v, "takes MATERIAL=QUANTITY@COUNTRY, e.g. PET=30t@DE");
  memcpy(u->material, v, (size_t)(eq - v));
  u->material[eq - v] = 0;
  memcpy(q, eq + 1, (size_t)(at - eq - 1));
  q[at - eq - 1] = 0;
  int rc = qty_parse_mass(q, &u->mass_mg);
  if (rc) return fail(c, rc, "unledgered", v, NULL);
  return country(c, "unledgered", at + 1, u->origin);
}

/* out: CODE:MATERIAL=Q[,post=Q][,pre=Q] */
static int parse_out(struct ctx *c, const char *v, struct kk_output *o)
{
  const char *colon = strchr(v, ':'), *eq = colon ? strchr(colon, '=') : NULL;
  static const char *use = "takes CODE:MATERIAL=QUANTITY[,post=Q][,pre=Q], e.g. SHEET-1:PET=47.5t";
  if (!colon || !eq || colon == v || eq == colon + 1 || (size_t)(colon - v) > CODEC_CODE_MAX ||
      (size_t)(eq - colon - 1) > CODEC_MATERIAL_MAX)
    return fail(c, KK_ERR(USAGE), "out", v, "%s", use);
  memcpy(o->lot_code, v, (size_t)(colon - v));
  o->lot_code[colon - v] = 0;
  memcpy(o->material, colon + 1, (size_t)(eq - colon - 1));
  o->material[eq - colon - 1] = 0;
  char rest[256];
  snprintf(rest, sizeof rest, "%s", eq + 1);
  int first = 1, rc = 0;
  char *save = NULL;
  for (char *tok = strtok_r(rest, ",", &save); tok && rc == 0; tok = strtok_r(NULL, ",", &save), first = 0) {
    if (first) rc = qty_parse_mass(tok, &o->mass_mg);
    else if (!strncmp(tok, "post=", 5)) rc = qty_parse_mass(tok + 5, &o->post_mg);
    else if (!strncmp(tok, "pre=", 4)) rc = qty_parse_mass(tok + 4, &o->pre_mg);
    else return fail(c, KK_ERR(USAGE), "out", v, "%s", use);
  }
  if (rc) return fail(c, rc, "out", v, NULL);
  return first ? fail(c, KK_ERR(USAGE), "out", v, "%s", use) : 0;
}

static int build_transform(struct ctx *c, struct kk_body *b, struct op_plan *p)
{
  struct kk_transform *t = &b->u.transform;
  const char *v = arg(c, "model");
  int rc = 0;
  b->kind = KK_PL_TRANSFORM;
  if (codec_model_parse(v, &t->model) || t->model > KK_MODEL_SEGREGATED)
    return fail(c, KK_ERR(MODEL), "model", v, "segregated, controlled-blending or mass-balance");
  for (size_t i = 0; i < c->a->n && rc == 0; i++) {
    const char *nm = c->a->name[i];
    v = c->a->value[i];
    if (!strcmp(nm, "in")) {
      if (t->n_inputs == CODEC_IO_MAX) return fail(c, KK_ERR(TOO_LARGE), "in", NULL, "at most %d inputs", CODEC_IO_MAX);
      rc = parse_in(c, v, &t->inputs[t->n_inputs++]);
    } else if (!strcmp(nm, "unledgered")) {
      if (t->n_unledgered == CODEC_UNLEDGERED_MAX)
        return fail(c, KK_ERR(TOO_LARGE), "unledgered", NULL, "at most %d unledgered inputs", CODEC_UNLEDGERED_MAX);
      rc = parse_unledgered(c, v, &t->unledgered[t->n_unledgered++]);
    } else if (!strcmp(nm, "out")) {
      if (t->n_outputs == CODEC_IO_MAX) return fail(c, KK_ERR(TOO_LARGE), "out", NULL, "at most %d outputs", CODEC_IO_MAX);
      rc = parse_out(c, v, &t->outputs[t->n_outputs++]);
    }
  }
  if (rc == 0) rc = text(c, t->process, CODEC_NAME_MAX, "process");
  p->lots = (unsigned)t->n_outputs;
  return rc;
}

static int build_claim(struct ctx *c, struct kk_body *b, struct op_plan *p)
{
  const char *ref = arg(c, "lot"), *share = arg(c, "recycled");
  uint8_t key[36];
  int rc;
  (void)p;
  b->kind = KK_PL_CLAIM;
  if ((rc = qty_parse_share(share, &b->u.claim.share_ppm))) return fail(c, rc, "recycled", share, NULL);
  if ((rc = text(c, b->u.claim.scope, CODEC_TEXT_MAX, "scope")) || (rc = lot(c, "lot", ref, key))) return rc;
  memcpy(b->u.claim.lot.record, key, 32);
  b->u.claim.lot.index = be32_get(key + 32);
  /* The rules know the recorded content only (a revocation may arrive after a claim, in
   * any order); a member does not sign a claim on content known to be tainted. */
  struct verify_report r;
  if ((rc = verify_lot(c->txn, c->s, key, b->u.claim.share_ppm, &r))) return rc;
  if (r.lot.mass_left > 0 && !r.extra_claim_holds) {
    char a[QTY_FMT], q[QTY_FMT], pp[QTY_FMT], t[QTY_FMT], h[QTY_FMT], taint[120] = "";
    if (r.tainted) snprintf(taint, sizeof taint, "; %s of the lot's recycled content is tainted", qty_format_mass(t, r.tainted));
    fail(c, KK_ERR(CLAIM_EXCEEDS), "recycled", share,
         "a claim of %s on %s would charge %s of recycled content, but only %s (%s of the %s held) is verified and "
         "unclaimed%s (see kiroku verify %s)", share, ref, qty_format_mass(a, r.extra_claim_mass),
         qty_format_mass(q, r.unclaimed_verified), qty_format_ppm(pp, qty_ppm(r.unclaimed_verified, r.lot.mass_left)),
         qty_format_mass(h, r.lot.mass_left), taint, ref);
    rc = KK_ERR(CLAIM_EXCEEDS);
  }
  verify_report_free(&r);
  return rc;
}

static int build_statement(struct ctx *c, struct kk_body *b, enum op_kind k)
{
  int rc;
  switch (k) {
  case OP_ATTEST:
    b->kind = KK_PL_ATTEST;
    if ((rc = text(c, b->u.attest.statement, CODEC_TEXT_MAX, "statement"))) return rc;
    return record(c, "record", arg(c, "record"), b->u.attest.record, KK_ERR(UNKNOWN_RECORD), 0);
  case OP_REVOKE:
    b->kind = KK_PL_REVOKE;
    if ((rc = text(c, b->u.revoke.reason, CODEC_TEXT_MAX, "reason"))) return rc;
    return record(c, "record", arg(c, "record"), b->u.revoke.record, KK_ERR(UNKNOWN_RECORD), 0);
  default:
    b->kind = KK_PL_INCIDENT;
    if ((rc = text(c, b->u.incident.text, CODEC_TEXT_MAX, "text")) || (rc = text(c, b->u.incident.kind, CODEC_NAME_MAX, "kind")))
      return rc;
    return record(c, "about", arg(c, "about"), b->u.incident.about, KK_ERR(UNKNOWN_RECORD), 1);
  }
}

int op_build(struct store_txn *txn, struct store *s, const uint8_t me[32], enum op_kind k, const struct op_args *a,
             const char *dash, struct op_plan *out, struct op_error *err)
{
  struct ctx c = { txn, s, me, a, dash, err };
  memset(out, 0, sizeof *out);
  err->what[0] = err->hint[0] = 0;
  if (k >= OP_COUNT) return KK_ERR(USAGE);
  int rc = check_args(&c, k);
  if (rc) return rc;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return -ENOMEM;
  switch (k) {
  case OP_ISSUE: rc = build_issue(&c, b, out); break;
  case OP_TRANSFER: rc = build_transfer(&c, b, out); break;
  case OP_RECEIVE: rc = build_close(&c, b, out, 1); break;
  case OP_REFUSE: rc = build_close(&c, b, out, 0); break;
  case OP_TRANSFORM: rc = build_transform(&c, b, out); break;
  case OP_CLAIM: rc = build_claim(&c, b, out); break;
  default: rc = build_statement(&c, b, k); break;
  }
  if (rc) { mem_free(b); out->warning[0] = 0; out->lots = 0; return rc; }
  out->body = b;
  return 0;
}

/* ---- pending transfers ------------------------------------------------------------------- */

struct pending { uint8_t (*ids)[32]; size_t n, cap; };

static int pending_one(void *arg_, const uint8_t id[32], const struct xfer *x)
{
  struct pending *p = arg_;
  (void)x;
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 8;
    void *a = mem_realloc(p->ids, cap * 32);
    if (!a) return -ENOMEM;
    p->ids = a;
    p->cap = cap;
  }
  memcpy(p->ids[p->n++], id, 32);
  return 0;
}

int op_pending_to(struct store_txn *txn, struct store *s, const uint8_t me[32], uint8_t (**ids)[32], size_t *n)
{
  struct pending p = { NULL, 0, 0 };
  int rc = rules_xfers_pending_to(txn, s, me, pending_one, &p);
  if (rc) { mem_free(p.ids); return rc; }
  *ids = p.ids;
  *n = p.n;
  return 0;
}
