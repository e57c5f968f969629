/*
 * issue, transfer, receive, refuse, transform, claim — the commands that move mass.
 *
 * Each builds one record, lets the rules judge it (cli_append), and prints what it
 * created. A record the rules refuse is never written: the command exits 2 with the
 * rule that was broken.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/ledger/qty.h"
#include "../node/ledger/rules.h"
#include "../node/ledger/verify.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set_text(char *dst, size_t cap, const char *src, const char *what)
{
  if (strlen(src) > cap) return cli_usage("%s is longer than %zu bytes", what, cap);
  strcpy(dst, src);
  return 0;
}

static int parse_mass(const char *what, const char *s, uint64_t *mg)
{
  int rc = qty_parse_mass(s, mg);
  return rc ? cli_fail(rc, "%s '%s'", what, s) : 0;
}

/* SHA-256 of a file, streamed: evidence documents can be large. */
static int hash_file(const char *path, uint8_t out[32])
{
  int rc;
  FILE *f = cli_open_arg(path, &rc);
  if (!f) return rc;
  crypto_hash_sha256_state st;
  uint8_t chunk[65536];
  size_t r;
  crypto_hash_sha256_init(&st);
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) crypto_hash_sha256_update(&st, chunk, r);
  int err = ferror(f);
  fclose(f);
  if (err) return -EIO;
  crypto_hash_sha256_final(&st, out);
  return 0;
}

/* Warns on stderr when lot key is tainted or flagged — what it carries is not what it
 * says — naming why; `what` says which lot ("lot FLAKE-1", "the lot being received"). */
static void warn_if_tainted(struct cli *c, struct store_txn *txn, const uint8_t key[36], const char *what)
{
  struct verify_report r;
  char a[QTY_FMT], b[QTY_FMT];
  if (verify_lot(txn, c->s, key, 0, &r)) return;
  if (r.tainted)
    fprintf(stderr, "kiroku: warning: %s is tainted: %s of its recorded %s of recycled content does not count "
                    "(%s from revoked certificates, the rest from an issuer proven to have equivocated); see kiroku verify\n",
            what, qty_format_mass(a, r.tainted), qty_format_mass(b, r.lot.post + r.lot.pre),
            qty_format_mass(b, r.tainted_revoked));
  if (r.flagged)
    fprintf(stderr, "kiroku: warning: %s is flagged: %s of it came through a participant proven to have "
                    "equivocated; see kiroku verify\n", what, qty_format_mass(a, r.equivocation_mass));
  verify_report_free(&r);
}

/* Prints the record id and the lots it created. */
static void report(struct cli *c, const char *what, const uint8_t id[32], unsigned nlots)
{
  char hex[65], ref[64];
  view_hex(hex, id);
  if (c->json) {
    json_t *lots = json_array();
    for (unsigned i = 0; i < nlots; i++) {
      uint8_t k[36];
      lotkey_make(k, id, i);
      view_lotref(ref, sizeof ref, k);
      json_array_append_new(lots, json_string(ref));
    }
    cli_print_json(json_pack("{s:s,s:s,s:o}", "record", hex, "kind", what, "lots", lots));
    return;
  }
  printf("%s: record %.12s", what, hex);
  for (unsigned i = 0; i < nlots; i++) {
    uint8_t k[36];
    lotkey_make(k, id, i);
    view_lotref(ref, sizeof ref, k);
    printf("%s%s", i ? ", " : "  lot ", ref);
  }
  printf("\n");
}

int cmd_issue(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "lot", required_argument, 0, 'l' }, { "material", required_argument, 0, 'm' },
    { "mass", required_argument, 0, 'q' }, { "post-consumer", required_argument, 0, 'p' },
    { "pre-consumer", required_argument, 0, 'r' }, { "origin", required_argument, 0, 'o' },
    { "scheme", required_argument, 0, 's' }, { "certificate", required_argument, 0, 'c' },
    { "evidence", required_argument, 0, 'e' }, { "facility", required_argument, 0, 'f' },
    { "model", required_argument, 0, 'M' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  static const char *use = "usage: kiroku issue --lot CODE --material M --mass Q --post-consumer Q [--pre-consumer Q] --origin CC --scheme S --certificate ID [--evidence FILE]... [--facility F] [--model segregated|identity-preserved|controlled-blending|mass-balance]";
  struct kk_body *b = mem_calloc(1, sizeof *b);
  struct kk_issue *x = &b->u.issue;
  int o, rc = 0, have_mass = 0, have_post = 0;
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_ISSUE;
  x->model = KK_MODEL_SEGREGATED;
  optind = 1;
  while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'l': rc = set_text(x->lot_code, CODEC_CODE_MAX, optarg, "--lot"); break;
    case 'm': rc = set_text(x->material, CODEC_MATERIAL_MAX, optarg, "--material"); break;
    case 'q': rc = parse_mass("--mass", optarg, &x->mass_mg); have_mass = 1; break;
    case 'p': rc = parse_mass("--post-consumer", optarg, &x->post_mg); have_post = 1; break;
    case 'r': rc = parse_mass("--pre-consumer", optarg, &x->pre_mg); break;
    case 'o':
      if (strlen(optarg) > 2) { /* a name for a code: say which code */
        char why[300];
        cli_check_country(optarg, why, sizeof why);
        rc = cli_fail(KK_ERR(COUNTRY), "--origin %s", optarg);
        fprintf(stderr, "  %s\n", why);
      } else strcpy(x->origin, optarg);
      break;
    case 's': rc = set_text(x->scheme, CODEC_SCHEME_MAX, optarg, "--scheme"); break;
    case 'c': rc = set_text(x->certificate, CODEC_CERT_MAX, optarg, "--certificate"); break;
    case 'f': rc = set_text(x->facility, CODEC_NAME_MAX, optarg, "--facility"); break;
    case 'M': if (codec_model_parse(optarg, &x->model)) rc = cli_usage("--model: segregated, identity-preserved, controlled-blending or mass-balance"); break;
    case 'e':
      if (x->n_evidence == CODEC_EVIDENCE_MAX) { rc = cli_usage("at most %d --evidence files", CODEC_EVIDENCE_MAX); break; }
      if ((rc = hash_file(optarg, x->evidence[x->n_evidence]))) rc = cli_fail(rc, "--evidence %s", optarg);
      else x->n_evidence++;
      break;
    case 'j': break;
    default: rc = cli_usage("%s", use);
    }
  }
  if (rc) { mem_free(b); return rc; }
  if ((rc = cli_require(use, argc, argv, optind, "--lot CODE", x->lot_code[0] != 0, "--material M", x->material[0] != 0,
                        "--mass Q", have_mass, "--post-consumer Q", have_post, "--origin CC", x->origin[0] != 0,
                        "--scheme S", x->scheme[0] != 0, "--certificate ID", x->certificate[0] != 0, NULL))) {
    mem_free(b);
    return rc;
  }
  char why[300];
  if ((rc = cli_check_country(x->origin, why, sizeof why))) {
    rc = cli_fail(rc, "--origin %s", x->origin);
    fprintf(stderr, "  %s\n", why);
    mem_free(b);
    return rc;
  }
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) { mem_free(b); return rc; }
  uint8_t id[32];
  char code[CODEC_CODE_MAX + 1];
  strcpy(code, x->lot_code);
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "issue %s", code);
  report(c, "issue", id, 1);
  return 0;
}

int cmd_transfer(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "lot", required_argument, 0, 'l' }, { "mass", required_argument, 0, 'q' },
    { "to", required_argument, 0, 't' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *lot = NULL, *to = NULL, *mass = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'l') lot = optarg;
    else if (o == 'q') mass = optarg;
    else if (o == 't') to = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku transfer --lot REF --mass Q --to NAME|HEX");
  }
  if ((rc = cli_require("usage: kiroku transfer --lot REF --mass Q --to NAME|HEX", argc, argv, optind, "--lot REF",
                        lot != NULL, "--mass Q", mass != NULL, "--to NAME|HEX", to != NULL, NULL)))
    return rc;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_TRANSFER;
  if ((rc = parse_mass("--mass", mass, &b->u.transfer.mass_mg)) || (rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) { mem_free(b); return rc; }
  struct store_txn *txn;
  uint8_t key[36];
  if ((rc = store_read(c->s, &txn))) { mem_free(b); return cli_fail(rc, "store"); }
  int r1 = cli_resolve_lot(c, txn, lot, key), r2 = r1 ? 0 : cli_resolve_member(c, txn, to, b->u.transfer.to);
  store_txn_abort(txn);
  if (r1) { mem_free(b); return cli_refused(c, r1, "--lot %s", lot); }
  if (r2) { mem_free(b); return cli_fail(r2, "--to %s", to); }
  memcpy(b->u.transfer.lot.record, key, 32);
  b->u.transfer.lot.index = be32_get(key + 32);
  if (store_read(c->s, &txn) == 0) {
    char what[CODEC_CODE_MAX + 8];
    struct lot l;
    lot_init(&l);
    snprintf(what, sizeof what, "lot %s", rules_lot_get(txn, c->s, key, &l) == 0 ? l.code : lot);
    warn_if_tainted(c, txn, key, what);
    store_txn_abort(txn);
  }
  uint8_t id[32];
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "transfer %s %s to %s", mass, lot, to);
  report(c, "transfer", id, 0);
  return 0;
}

/* Pending transfers addressed to this member. */
struct pending { uint8_t (*ids)[32]; size_t n, cap; };

static int pending_one(void *arg, const uint8_t id[32], const struct xfer *x)
{
  struct pending *p = arg;
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

static int pending_to_me(struct cli *c, uint8_t (**ids)[32], size_t *n)
{
  struct store_txn *txn;
  struct pending p = { NULL, 0, 0 };
  int rc = store_read(c->s, &txn);
  *ids = NULL;
  *n = 0;
  if (rc) return rc;
  rc = rules_xfers_pending_to(txn, c->s, c->pk, pending_one, &p);
  store_txn_abort(txn);
  if (rc) { mem_free(p.ids); return rc; }
  *ids = p.ids;
  *n = p.n;
  return 0;
}

static int close_transfers(struct cli *c, int argc, char **argv, int receive)
{
  static const struct option opts[] = {
    { "transfer", required_argument, 0, 't' }, { "all", no_argument, 0, 'a' },
    { "reason", required_argument, 0, 'r' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *tref = NULL, *reason = "";
  const char *use = receive ? "usage: kiroku receive [--transfer ID | --all]" : "usage: kiroku refuse --transfer ID [--reason TEXT]";
  int o, rc, all = 0;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 't') tref = optarg;
    else if (o == 'a' && receive) all = 1;
    else if (o == 'r' && !receive) reason = optarg;
    else if (o != 'j') return cli_usage("%s", use);
  }
  if ((rc = cli_require(use, argc, argv, optind, "--transfer ID", receive || tref, NULL))) return rc;
  if (tref && all) return cli_usage("--transfer and --all exclude each other\n  %s", use);
  if (strlen(reason) > CODEC_TEXT_MAX) return cli_usage("--reason is too long");
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) return rc;
  uint8_t (*ids)[32] = NULL;
  size_t n = 0;
  if (tref) {
    struct store_txn *txn;
    ids = mem_alloc(32);
    if (!ids) return CLI_INTERNAL;
    if ((rc = store_read(c->s, &txn))) { mem_free(ids); return cli_fail(rc, "store"); }
    rc = cli_resolve_record(c, txn, tref, ids[0]);
    store_txn_abort(txn);
    if (rc) { mem_free(ids); return cli_fail(rc == KK_ERR(UNKNOWN_RECORD) ? KK_ERR(UNKNOWN_TRANSFER) : rc, "--transfer %s", tref); }
    n = 1;
  } else if ((rc = pending_to_me(c, &ids, &n))) {
    return cli_fail(rc, "store");
  }
  json_t *arr = json_array();
  int ret = 0;
  for (size_t i = 0; i < n; i++) {
    struct kk_body *b = mem_calloc(1, sizeof *b);
    uint8_t id[32];
    char hex[65], tid[65];
    if (!b) { ret = CLI_INTERNAL; break; }
    b->kind = receive ? KK_PL_RECEIVE : KK_PL_REFUSE;
    memcpy(receive ? b->u.receive.transfer : b->u.refuse.transfer, ids[i], 32);
    struct store_txn *txn;
    if (receive && store_read(c->s, &txn) == 0) {
      struct xfer x;
      xfer_init(&x);
      if (rules_xfer_get(txn, c->s, ids[i], &x) == 0) {
        char what[CODEC_CODE_MAX + 32];
        snprintf(what, sizeof what, "the lot being received (%s)", x.code);
        warn_if_tainted(c, txn, x.from_lot, what);
      }
      store_txn_abort(txn);
    }
    if (!receive) strcpy(b->u.refuse.reason, reason);
    rc = cli_append(c, b, id);
    mem_free(b);
    view_hex(tid, ids[i]);
    if (rc) { ret = cli_refused(c, rc, "%s transfer %.12s", receive ? "receive" : "refuse", tid); break; }
    view_hex(hex, id);
    uint8_t k[36];
    char ref[64];
    lotkey_make(k, id, 0);
    view_lotref(ref, sizeof ref, k);
    if (c->json) json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "transfer", tid, "record", hex, "lot", ref));
    else printf("%s transfer %.12s: record %.12s  lot %s%s\n", receive ? "received" : "refused", tid, hex, ref,
                receive ? "" : " (back with the sender)");
  }
  if (!c->json && n == 0) printf("no pending transfers\n");
  if (c->json) cli_print_json(arr);
  else json_decref(arr);
  mem_free(ids);
  return ret;
}

int cmd_receive(struct cli *c, int argc, char **argv) { return close_transfers(c, argc, argv, 1); }
int cmd_refuse(struct cli *c, int argc, char **argv) { return close_transfers(c, argc, argv, 0); }

/* --in REF=Q */
static int parse_in(struct cli *c, struct store_txn *txn, const char *arg, struct kk_input *in)
{
  const char *eq = strrchr(arg, '=');
  char ref[256];
  uint8_t key[36];
  if (!eq || eq == arg || (size_t)(eq - arg) >= sizeof ref) return cli_usage("--in takes REF=QUANTITY, e.g. --in FLAKE-1=20t");
  memcpy(ref, arg, (size_t)(eq - arg));
  ref[eq - arg] = 0;
  int rc = parse_mass("--in", eq + 1, &in->mass_mg);
  if (rc) return rc;
  if ((rc = cli_resolve_lot(c, txn, ref, key))) return cli_refused(c, rc, "--in %s", ref);
  memcpy(in->lot.record, key, 32);
  in->lot.index = be32_get(key + 32);
  return 0;
}

/* --unledgered MATERIAL=Q@CC */
static int parse_unledgered(const char *arg, struct kk_unledgered *u)
{
  const char *eq = strchr(arg, '='), *at = strrchr(arg, '@');
  char q[64];
  if (!eq || !at || at < eq || eq == arg || (size_t)(eq - arg) > CODEC_MATERIAL_MAX || (size_t)(at - eq - 1) >= sizeof q)
    return cli_usage("--unledgered takes MATERIAL=QUANTITY@COUNTRY, e.g. --unledgered PET=30t@DE");
  memcpy(u->material, arg, (size_t)(eq - arg));
  u->material[eq - arg] = 0;
  memcpy(q, eq + 1, (size_t)(at - eq - 1));
  q[at - eq - 1] = 0;
  int rc = parse_mass("--unledgered", q, &u->mass_mg);
  if (rc) return rc;
  char why[300];
  if (cli_check_country(at + 1, why, sizeof why)) {
    rc = cli_fail(KK_ERR(COUNTRY), "--unledgered %s", arg);
    fprintf(stderr, "  %s\n", why);
    return rc;
  }
  strcpy(u->origin, at + 1);
  return 0;
}

/* --out CODE:MATERIAL=Q[,post=Q][,pre=Q] */
static int parse_out(const char *arg, struct kk_output *o)
{
  const char *colon = strchr(arg, ':'), *eq = colon ? strchr(colon, '=') : NULL;
  static const char *use = "--out takes CODE:MATERIAL=QUANTITY[,post=Q][,pre=Q], e.g. --out SHEET-1:PET=47.5t";
  if (!colon || !eq || colon == arg || eq == colon + 1) return cli_usage("%s", use);
  if ((size_t)(colon - arg) > CODEC_CODE_MAX || (size_t)(eq - colon - 1) > CODEC_MATERIAL_MAX) return cli_usage("%s", use);
  memcpy(o->lot_code, arg, (size_t)(colon - arg));
  o->lot_code[colon - arg] = 0;
  memcpy(o->material, colon + 1, (size_t)(eq - colon - 1));
  o->material[eq - colon - 1] = 0;
  char rest[256];
  snprintf(rest, sizeof rest, "%s", eq + 1);
  int first = 1, rc;
  for (char *tok = strtok(rest, ","); tok; tok = strtok(NULL, ","), first = 0) {
    if (first) { if ((rc = parse_mass("--out", tok, &o->mass_mg))) return rc; }
    else if (strncmp(tok, "post=", 5) == 0) { if ((rc = parse_mass("--out post=", tok + 5, &o->post_mg))) return rc; }
    else if (strncmp(tok, "pre=", 4) == 0) { if ((rc = parse_mass("--out pre=", tok + 4, &o->pre_mg))) return rc; }
    else return cli_usage("%s", use);
  }
  return first ? cli_usage("%s", use) : 0;
}

int cmd_transform(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "model", required_argument, 0, 'm' }, { "in", required_argument, 0, 'i' },
    { "unledgered", required_argument, 0, 'u' }, { "out", required_argument, 0, 'o' },
    { "process", required_argument, 0, 'p' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  static const char *use = "usage: kiroku transform --model segregated|controlled-blending|mass-balance --in REF=Q... [--unledgered MATERIAL=Q@CC]... --out CODE:MATERIAL=Q[,post=Q][,pre=Q]... [--process TEXT]";
  int o, rc = 0;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  struct kk_transform *t = &b->u.transform;
  b->kind = KK_PL_TRANSFORM;
  /* The store is needed to resolve --in references: open it first. */
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) { mem_free(b); return rc; }
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) { mem_free(b); return cli_fail(rc, "store"); }
  optind = 1;
  while (rc == 0 && (o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    switch (o) {
    case 'm': if (codec_model_parse(optarg, &t->model) || t->model > KK_MODEL_SEGREGATED) rc = cli_usage("--model: segregated, controlled-blending or mass-balance"); break;
    case 'i': if (t->n_inputs == CODEC_IO_MAX) rc = cli_usage("at most %d --in", CODEC_IO_MAX); else rc = parse_in(c, txn, optarg, &t->inputs[t->n_inputs++]); break;
    case 'u': if (t->n_unledgered == CODEC_UNLEDGERED_MAX) rc = cli_usage("at most %d --unledgered", CODEC_UNLEDGERED_MAX); else rc = parse_unledgered(optarg, &t->unledgered[t->n_unledgered++]); break;
    case 'o': if (t->n_outputs == CODEC_IO_MAX) rc = cli_usage("at most %d --out", CODEC_IO_MAX); else rc = parse_out(optarg, &t->outputs[t->n_outputs++]); break;
    case 'p': rc = set_text(t->process, CODEC_NAME_MAX, optarg, "--process"); break;
    case 'j': break;
    default: rc = cli_usage("%s", use);
    }
  }
  store_txn_abort(txn);
  if (rc == 0)
    rc = cli_require(use, argc, argv, optind, "--model M", t->model != 0, "--in REF=Q", t->n_inputs > 0,
                     "--out CODE:MATERIAL=Q", t->n_outputs > 0, NULL);
  if (rc) { mem_free(b); return rc; }
  uint8_t id[32];
  unsigned nout = (unsigned)t->n_outputs;
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "transform");
  report(c, "transform", id, nout);
  return 0;
}

int cmd_claim(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = {
    { "lot", required_argument, 0, 'l' }, { "recycled", required_argument, 0, 'r' },
    { "scope", required_argument, 0, 's' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *lot = NULL, *share = NULL, *scope = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'l') lot = optarg;
    else if (o == 'r') share = optarg;
    else if (o == 's') scope = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku claim --lot REF --recycled P --scope TEXT");
  }
  if ((rc = cli_require("usage: kiroku claim --lot REF --recycled P --scope TEXT", argc, argv, optind, "--lot REF",
                        lot != NULL, "--recycled P", share != NULL, "--scope TEXT", scope != NULL, NULL)))
    return rc;
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_CLAIM;
  if ((rc = qty_parse_share(share, &b->u.claim.share_ppm))) { mem_free(b); return cli_fail(rc, "--recycled %s", share); }
  if ((rc = set_text(b->u.claim.scope, CODEC_TEXT_MAX, scope, "--scope"))) { mem_free(b); return rc; }
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) { mem_free(b); return rc; }
  struct store_txn *txn;
  uint8_t key[36];
  if ((rc = store_read(c->s, &txn))) { mem_free(b); return cli_fail(rc, "store"); }
  rc = cli_resolve_lot(c, txn, lot, key);
  /* The rules know the recorded content only (a revocation may arrive after a claim, in
   * any order); a member does not sign a claim on content known to be tainted. */
  struct verify_report r;
  if (rc == 0 && verify_lot(txn, c->s, key, b->u.claim.share_ppm, &r) == 0) {
    if (r.lot.mass_left > 0 && !r.extra_claim_holds) {
      char a[QTY_FMT], q[QTY_FMT], p[QTY_FMT], t[QTY_FMT], h[QTY_FMT];
      fprintf(stderr, "kiroku: claim %s recycled on %s: refused: it would charge %s of recycled content, but only %s "
                      "(%s of the %s held) is verified and unclaimed", share, lot, qty_format_mass(a, r.extra_claim_mass),
              qty_format_mass(q, r.unclaimed_verified), qty_format_ppm(p, qty_ppm(r.unclaimed_verified, r.lot.mass_left)),
              qty_format_mass(h, r.lot.mass_left));
      if (r.tainted) fprintf(stderr, "; %s of the lot's recycled content is tainted", qty_format_mass(t, r.tainted));
      fprintf(stderr, " (see kiroku verify %s)\n", lot);
      verify_report_free(&r);
      store_txn_abort(txn);
      mem_free(b);
      return CLI_USAGE;
    }
    verify_report_free(&r);
  }
  store_txn_abort(txn);
  if (rc) { mem_free(b); return cli_refused(c, rc, "--lot %s", lot); }
  memcpy(b->u.claim.lot.record, key, 32);
  b->u.claim.lot.index = be32_get(key + 32);
  uint8_t id[32];
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "claim %s recycled on %s", share, lot);
  report(c, "claim", id, 0);
  return 0;
}
