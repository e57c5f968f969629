/*
 * attest, revoke, incident — statements about other records.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/base/err.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses --A X --B Y into a and b (both required), resolving the record in *ref. */
static int statement(struct cli *c, int argc, char **argv, const char *reflong, const char *textlong,
                     const char *kindlong, const char *use, struct kk_body *b, uint8_t *ref,
                     char *text, size_t textcap, char *kind, size_t kindcap, int must_exist)
{
  struct option opts[] = {
    { reflong, required_argument, 0, 'r' }, { textlong, required_argument, 0, 't' },
    { kindlong ? kindlong : "-", required_argument, 0, 'k' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *r = NULL, *t = NULL, *k = NULL;
  int o, rc;
  (void)b;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'r') r = optarg;
    else if (o == 't') t = optarg;
    else if (o == 'k' && kindlong) k = optarg;
    else if (o != 'j') return cli_usage("%s", use);
  }
  char need_r[40], need_t[40], need_k[40];
  snprintf(need_r, sizeof need_r, "--%s ID", reflong);
  snprintf(need_t, sizeof need_t, "--%s TEXT", textlong);
  snprintf(need_k, sizeof need_k, "--%s K", kindlong ? kindlong : "kind");
  if ((rc = cli_require(use, argc, argv, optind, need_r, r != NULL, need_t, t != NULL, need_k, !kindlong || k != NULL, NULL)))
    return rc;
  if (strlen(t) > textcap) return cli_usage("--%s is longer than %zu bytes", textlong, textcap);
  strcpy(text, t);
  if (kindlong) {
    if (strlen(k) > kindcap) return cli_usage("--%s is too long", kindlong);
    strcpy(kind, k);
  }
  if ((rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK))) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  rc = cli_resolve_record(c, txn, r, ref);
  store_txn_abort(txn);
  /* An incident may concern a record this node has not seen: a full id is enough. */
  if (rc == KK_ERR(UNKNOWN_RECORD) && !must_exist && strlen(r) == 64 && sig_unhex(ref, 32, r) == 0) rc = 0;
  if (rc) return cli_fail(rc, "--%s %s", reflong, r);
  return 0;
}

static int finish(struct cli *c, struct kk_body *b, const char *what)
{
  uint8_t id[32];
  char hex[65];
  int rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_refused(c, rc, "%s", what);
  view_hex(hex, id);
  if (c->json) cli_print_json(json_pack("{s:s,s:s}", "record", hex, "kind", what));
  else printf("%s: record %.12s\n", what, hex);
  return 0;
}

int cmd_attest(struct cli *c, int argc, char **argv)
{
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_ATTEST;
  int rc = statement(c, argc, argv, "record", "statement", NULL, "usage: kiroku attest --record ID --statement TEXT",
                     b, b->u.attest.record, b->u.attest.statement, CODEC_TEXT_MAX, NULL, 0, 1);
  if (rc) { mem_free(b); return rc; }
  return finish(c, b, "attest");
}

int cmd_revoke(struct cli *c, int argc, char **argv)
{
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_REVOKE;
  int rc = statement(c, argc, argv, "record", "reason", NULL, "usage: kiroku revoke --record ID --reason TEXT",
                     b, b->u.revoke.record, b->u.revoke.reason, CODEC_TEXT_MAX, NULL, 0, 1);
  if (rc) { mem_free(b); return rc; }
  return finish(c, b, "revoke");
}

int cmd_incident(struct cli *c, int argc, char **argv)
{
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) return CLI_INTERNAL;
  b->kind = KK_PL_INCIDENT;
  int rc = statement(c, argc, argv, "about", "text", "kind", "usage: kiroku incident --kind K --about ID --text TEXT",
                     b, b->u.incident.about, b->u.incident.text, CODEC_TEXT_MAX, b->u.incident.kind, CODEC_NAME_MAX, 0);
  if (rc) { mem_free(b); return rc; }
  return finish(c, b, "incident");
}
