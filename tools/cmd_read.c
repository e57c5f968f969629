/*
 * lots, log, show — what this node holds and knows.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/keys.h"
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

/* "TAINTED", "FLAGGED", both or "": what the lists print beside a lot. */
static const char *lot_marks(const struct view_figures *f)
{
  return f->tainted && f->flagged ? "TAINTED FLAGGED" : f->tainted ? "TAINTED" : f->flagged ? "FLAGGED" : "";
}

int cmd_lots(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "all", no_argument, 0, 'a' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  int o, all = 0, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'a') all = 1;
    else if (o != 'j') return cli_usage("usage: kiroku lots [--all] [--json]");
  }
  if (optind != argc) return cli_usage("usage: kiroku lots [--all] [--json]");
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  /* Without an identity there is no "mine": show everything. */
  if (!c->have_key) all = 1;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  /* The lots to show, then their verified figures in one pass over their provenance. */
  uint8_t (*keys)[36] = NULL;
  size_t n = 0;
  rc = view_lot_keys(txn, c->s, all ? NULL : c->pk, &keys, &n);
  struct view_figures *figs = NULL;
  if (rc == 0 && n && !(figs = mem_alloc(n * sizeof *figs))) rc = -ENOMEM;
  if (rc == 0) rc = view_lot_figures(txn, c->s, (const uint8_t(*)[36])keys, n, figs);
  json_t *arr = json_array();
  if (rc == 0 && !c->json)
    printf("%-20s %-16s %-16s %12s %12s %9s %9s  %-19s %s\n", "REF", "CODE", "MATERIAL", "MASS", "AVAILABLE", "RECORDED",
           "VERIFIED", "MODEL", "");
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, c->s, keys[i], &l))) break;
    if (c->json) json_array_append_new(arr, view_lot_json(txn, c->s, keys[i], &l, &figs[i]));
    else {
      char ref[64], m[QTY_FMT], a[QTY_FMT], p[QTY_FMT], q[QTY_FMT];
      view_lotref(ref, sizeof ref, keys[i]);
      printf("%-20s %-16s %-16s %12s %12s %9s %9s  %-19s %s\n", ref, l.code, l.material, qty_format_mass(m, l.mass),
             qty_format_mass(a, l.mass_left), qty_format_ppm(p, qty_ppm(l.post + l.pre, l.mass)),
             qty_format_ppm(q, qty_ppm(figs[i].verified_post + figs[i].verified_pre, l.mass)), codec_model_name(l.model),
             lot_marks(&figs[i]));
    }
  }
  store_txn_abort(txn);
  mem_free(keys);
  mem_free(figs);
  if (rc) { json_decref(arr); return cli_fail(rc, "lots"); }
  if (c->json) cli_print_json(arr);
  else {
    json_decref(arr);
    if (!n) printf("(no lots)\n");
  }
  return 0;
}

struct log_ctx { struct cli *c; struct store_txn *txn; const uint8_t *feed; json_t *arr; };

static int log_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct log_ctx *l = arg;
  uint8_t author[32];
  uint64_t seq;
  int kind;
  (void)arrival;
  if (codec_record_position(env, len, author, &seq, &kind)) return KK_ERR(CORRUPT);
  if (l->feed && memcmp(author, l->feed, 32) != 0) return 0;
  json_t *r = view_record_json(l->txn, l->c->s, env, len, 0);
  if (!r) return 0;
  if (l->c->json) json_array_append_new(l->arr, r);
  else {
    const char *err = json_string_value(json_object_get(r, "reason"));
    printf("%.12s  %-14s #%-5lld %-10s %-7s%s%s\n", json_string_value(json_object_get(r, "id")),
           json_string_value(json_object_get(r, "author_name")), (long long)json_integer_value(json_object_get(r, "seq")),
           json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "verdict")),
           err ? "  " : "", err ? err : "");
    json_decref(r);
  }
  return 0;
}

int cmd_log(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "feed", required_argument, 0, 'f' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *feed = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'f') feed = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku log [--feed NAME|HEX] [--json]");
  }
  if (optind != argc) return cli_usage("usage: kiroku log [--feed NAME|HEX] [--json]");
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  uint8_t fk[32];
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if (feed && (rc = cli_resolve_member(c, txn, feed, fk))) { store_txn_abort(txn); return cli_fail(rc, "--feed %s", feed); }
  struct log_ctx l = { c, txn, feed ? fk : NULL, json_array() };
  rc = store_log_each(txn, c->s, 0, log_fn, &l);
  store_txn_abort(txn);
  if (rc) { json_decref(l.arr); return cli_fail(rc, "log"); }
  if (c->json) cli_print_json(l.arr);
  else json_decref(l.arr);
  return 0;
}

int cmd_show(struct cli *c, int argc, char **argv)
{
  const char *ref = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) continue;
    if (ref || argv[i][0] == '-') return cli_usage("usage: kiroku show ID [--json]");
    ref = argv[i];
  }
  if (!ref) return cli_usage("usage: kiroku show ID [--json]");
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  struct store_txn *txn;
  uint8_t id[32];
  const uint8_t *env;
  size_t len;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  char tmp[80];
  snprintf(tmp, sizeof tmp, "%s", ref);
  char *colon = strchr(tmp, ':'); /* a lot ref names its record */
  if (colon) *colon = 0;
  if ((rc = cli_resolve_record(c, txn, tmp, id)) || (rc = store_record_by_id(txn, c->s, id, NULL, NULL, &env, &len))) {
    store_txn_abort(txn);
    return cli_fail(rc, "show %s", ref);
  }
  json_t *r = NULL;
  rc = view_show_json(txn, c->s, id, env, len, &r);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "show %s", ref);
  if (c->json) { cli_print_json(r); return 0; }
  char *body = json_dumps(json_object_get(r, "payload"), JSON_INDENT(2) | JSON_REAL_PRECISION(10));
  printf("record  %s\nauthor  %s (%s)\nseq     %lld\nkind    %s\nverdict %s%s%s\npayload %s\n",
         json_string_value(json_object_get(r, "id")), json_string_value(json_object_get(r, "author_name")),
         json_string_value(json_object_get(r, "author")), (long long)json_integer_value(json_object_get(r, "seq")),
         json_string_value(json_object_get(r, "kind")), json_string_value(json_object_get(r, "verdict")),
         json_object_get(r, "reason") ? ": " : "",
         json_object_get(r, "reason") ? json_string_value(json_object_get(r, "reason")) : "", body ? body : "");
  mem_free(body);
  size_t i;
  json_t *x;
  json_array_foreach(json_object_get(r, "revoked_by"), i, x) printf("REVOKED by record %.12s\n", json_string_value(x));
  json_array_foreach(json_object_get(r, "lots"), i, x) {
    char m[QTY_FMT], p[QTY_FMT];
    json_t *v = json_object_get(x, "verified");
    printf("lot     %s %s: %s of %s, %s recycled verified%s%s\n", json_string_value(json_object_get(x, "ref")),
           json_string_value(json_object_get(x, "code")),
           qty_format_mass(m, (uint64_t)json_integer_value(json_object_get(x, "mass_mg"))),
           json_string_value(json_object_get(x, "material")),
           qty_format_ppm(p, (uint64_t)json_integer_value(json_object_get(v, "share_ppm"))),
           json_integer_value(json_object_get(x, "tainted_mg")) ? "  TAINTED" : "",
           json_is_true(json_object_get(x, "flagged")) ? "  FLAGGED" : "");
  }
  json_decref(r);
  return 0;
}
