/*
 * issue, transfer, receive, refuse, transform, claim, attest, revoke, incident — the
 * commands that write a member's records.
 *
 * Each turns its options into the arguments of node/ops (the same names: the HTTP API
 * takes them as JSON keys), which builds and checks the record; cli_append lets the
 * rules judge it and writes it, or nothing is written and the command exits 2 with the
 * rule that was broken. Then it prints what it created.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../node/base/err.h"
#include "../node/ops/ops.h"
#include "../node/ledger/state.h"
#include "../crypto/sig.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SHA-256 of a file, streamed (evidence documents can be large), as hex. */
static int hash_file(const char *path, char hex[65])
{
  int rc;
  FILE *f = cli_open_arg(path, &rc);
  if (!f) return rc;
  crypto_hash_sha256_state st;
  uint8_t chunk[65536], out[32];
  size_t r;
  crypto_hash_sha256_init(&st);
  while ((r = fread(chunk, 1, sizeof chunk, f)) > 0) crypto_hash_sha256_update(&st, chunk, r);
  int err = ferror(f);
  fclose(f);
  if (err) return -EIO;
  crypto_hash_sha256_final(&st, out);
  sig_hex(hex, out, 32);
  return 0;
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

/* The usage line of op k: "usage: kiroku issue --lot CODE ... [--pre-consumer Q] ...". */
static void usage_of(enum op_kind k, char *out, size_t n, const char *extra)
{
  const struct op_spec *sp = op_spec(k);
  size_t at = (size_t)snprintf(out, n, "usage: kiroku %s", sp->name);
  for (const char *const *a = sp->args; *a && at < n; a++) {
    size_t l = strlen(*a);
    char cnt = (*a)[l - 1];
    int opt = cnt == '?' || cnt == '*', rep = cnt == '*' || cnt == '+';
    if (cnt == '?' || cnt == '*' || cnt == '+') l--;
    size_t nl = strcspn(*a, " ");
    int file = nl == 8 && !strncmp(*a, "evidence", 8); /* the command line hashes the file itself */
    at += (size_t)snprintf(out + at, n - at, " %s--%.*s%s%s%s", opt ? "[" : "", (int)(file ? nl : l), *a, file ? " FILE" : "",
                           opt ? "]" : "", rep ? "..." : "");
  }
  if (extra && at < n) snprintf(out + at, n - at, "%s", extra);
}

/* An op's refusal before the rules: the argument at fault, the error, what was meant. */
static int op_fail(enum op_kind k, int rc, const struct op_error *e)
{
  if (rc == KK_ERR(USAGE)) {
    char use[600];
    usage_of(k, use, sizeof use, NULL);
    return cli_usage("%s%s%s\n  %s", e->what, e->hint[0] ? ": " : "", e->hint, use);
  }
  fprintf(stderr, "kiroku: %s: %s\n", e->what[0] ? e->what : op_spec(k)->name, kk_strerror(rc));
  if (e->hint[0]) fprintf(stderr, "  %s\n", e->hint);
  return cli_exit_code(rc);
}

/* Builds op k from args in one read transaction. */
static int plan(struct cli *c, enum op_kind k, const struct op_args *a, struct op_plan *p)
{
  struct store_txn *txn;
  struct op_error e;
  int rc = store_read(c->s, &txn);
  if (rc) return cli_fail(rc, "store");
  rc = op_build(txn, c->s, c->pk, k, a, "--", p, &e);
  store_txn_abort(txn);
  if (rc) return op_fail(k, rc, &e);
  if (p->warning[0]) fprintf(stderr, "kiroku: warning: %s; see kiroku verify\n", p->warning);
  return 0;
}

/* Parses argv by op k's arguments (plus --json, and what `extra` adds) into a. Evidence
 * files are hashed into hex (kept in hexes). Returns 0, or the exit code. */
#define CLI_EVIDENCE_MAX 16
struct parsed {
  struct op_args a;          /* names point into names[], values into argv or hexes[] */
  char names[24][40];
  char hexes[CLI_EVIDENCE_MAX][65];
  size_t n_hex;
  int all;
};

static int parse(enum op_kind k, int argc, char **argv, struct parsed *p, int allow_all)
{
  const struct op_spec *sp = op_spec(k);
  struct option opts[24];
  size_t n = 0;
  memset(p, 0, sizeof *p);
  for (const char *const *a = sp->args; *a && n < 20; a++, n++) {
    snprintf(p->names[n], sizeof p->names[n], "%.*s", (int)strcspn(*a, " "), *a);
    opts[n] = (struct option){ p->names[n], required_argument, 0, (int)(n + 1) };
  }
  opts[n++] = (struct option){ "json", no_argument, 0, 'j' };
  if (allow_all) opts[n++] = (struct option){ "all", no_argument, 0, 'a' };
  opts[n] = (struct option){ 0, 0, 0, 0 };
  char use[600];
  usage_of(k, use, sizeof use, allow_all ? " | --all" : NULL);
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'j') continue;
    if (o == 'a' && allow_all) { p->all = 1; continue; }
    if (o <= 0 || o > 20) return cli_usage("%s", use);
    const char *name = p->names[o - 1], *value = optarg;
    if (!strcmp(name, "evidence")) {
      if (p->n_hex == CLI_EVIDENCE_MAX) return cli_usage("at most %d --evidence files", CLI_EVIDENCE_MAX);
      int rc = hash_file(optarg, p->hexes[p->n_hex]);
      if (rc) return cli_fail(rc, "--evidence %s", optarg);
      value = p->hexes[p->n_hex++];
    }
    if (op_args_add(&p->a, name, value)) return cli_usage("too many options\n  %s", use);
  }
  if (optind < argc) return cli_usage("unexpected argument '%s'\n  %s", argv[optind], use);
  return 0;
}

/* issue, transfer, transform, claim, attest, revoke, incident: one record. */
static int one_record(struct cli *c, enum op_kind k, int argc, char **argv)
{
  struct parsed p;
  struct op_plan pl;
  int rc = parse(k, argc, argv, &p, 0);
  if (rc) return rc;
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK)) || (rc = plan(c, k, &p.a, &pl))) return rc;
  uint8_t id[32];
  char what[300] = "";
  static const char *const named[] = { "lot", "record", "about" }; /* "issue --lot FLAKE-1": what was refused */
  for (size_t i = 0; i < 3 && !what[0]; i++)
    if (op_arg(&p.a, named[i])) snprintf(what, sizeof what, " --%s %.200s", named[i], op_arg(&p.a, named[i]));
  rc = cli_append(c, pl.body, id);
  unsigned lots = pl.lots;
  op_plan_free(&pl);
  if (rc) return cli_refused(c, rc, "%s%s", op_spec(k)->name, what);
  report(c, op_spec(k)->name, id, lots);
  return 0;
}

int cmd_issue(struct cli *c, int argc, char **argv) { return one_record(c, OP_ISSUE, argc, argv); }
int cmd_transfer(struct cli *c, int argc, char **argv) { return one_record(c, OP_TRANSFER, argc, argv); }
int cmd_transform(struct cli *c, int argc, char **argv) { return one_record(c, OP_TRANSFORM, argc, argv); }
int cmd_claim(struct cli *c, int argc, char **argv) { return one_record(c, OP_CLAIM, argc, argv); }
int cmd_attest(struct cli *c, int argc, char **argv) { return one_record(c, OP_ATTEST, argc, argv); }
int cmd_revoke(struct cli *c, int argc, char **argv) { return one_record(c, OP_REVOKE, argc, argv); }
int cmd_incident(struct cli *c, int argc, char **argv) { return one_record(c, OP_INCIDENT, argc, argv); }

/* receive [--transfer ID | --all], refuse --transfer ID [--reason TEXT]: one record a
 * transfer; without --transfer, receive takes every pending one. */
static int close_transfers(struct cli *c, int argc, char **argv, enum op_kind k)
{
  struct parsed p;
  int rc = parse(k, argc, argv, &p, k == OP_RECEIVE), receive = k == OP_RECEIVE;
  if (rc) return rc;
  int given = op_arg(&p.a, "transfer") != NULL;
  if (given && p.all) return cli_usage("--transfer and --all exclude each other\n  usage: kiroku receive [--transfer ID | --all]");
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) return rc;
  uint8_t (*ids)[32] = NULL;
  size_t n = 0;
  if (!given && receive) {
    struct store_txn *txn;
    if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
    rc = op_pending_to(txn, c->s, c->pk, &ids, &n);
    store_txn_abort(txn);
    if (rc) return cli_fail(rc, "store");
  }
  json_t *arr = json_array();
  int ret = 0;
  for (size_t i = 0; i < (given ? 1 : n) && ret == 0; i++) {
    struct op_args one = p.a;
    char tid[65];
    if (!given) op_args_for_transfer(&p.a, ids[i], tid, &one);
    struct op_plan pl;
    if ((ret = plan(c, k, &one, &pl))) break;
    uint8_t id[32];
    const uint8_t *t = receive ? pl.body->u.receive.transfer : pl.body->u.refuse.transfer;
    view_hex(tid, t);
    rc = cli_append(c, pl.body, id);
    op_plan_free(&pl);
    if (rc) { ret = cli_refused(c, rc, "%s transfer %.12s", receive ? "receive" : "refuse", tid); break; }
    char hex[65], ref[64];
    uint8_t lk[36];
    view_hex(hex, id);
    lotkey_make(lk, id, 0);
    view_lotref(ref, sizeof ref, lk);
    if (c->json) json_array_append_new(arr, json_pack("{s:s,s:s,s:s}", "transfer", tid, "record", hex, "lot", ref));
    else printf("%s transfer %.12s: record %.12s  lot %s%s\n", receive ? "received" : "refused", tid, hex, ref,
                receive ? "" : " (back with the sender)");
  }
  if (ret == 0 && !c->json && !given && n == 0) printf("no pending transfers\n");
  if (ret == 0 && c->json) cli_print_json(arr);
  else json_decref(arr);
  mem_free(ids);
  return ret;
}

int cmd_receive(struct cli *c, int argc, char **argv) { return close_transfers(c, argc, argv, OP_RECEIVE); }
int cmd_refuse(struct cli *c, int argc, char **argv) { return close_transfers(c, argc, argv, OP_REFUSE); }
