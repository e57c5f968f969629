/*
 * checkpoints, evidence, verify-evidence — what the witnesses signed, and who forked.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/note.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/ledger/ckpt.h"
#include "../node/base/err.h"
#include "../node/ledger/evidence.h"
#include "../node/ledger/rules.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The arguments after the command name other than --json, into pos (at most max);
 * their number, or -1 on an unknown option or too many. */
static int positional(int argc, char **argv, char **pos, int max)
{
  int n = 0;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) continue;
    if ((argv[i][0] == '-' && argv[i][1]) || n == max) return -1;
    pos[n++] = argv[i];
  }
  return n;
}

/* ---- checkpoints ---------------------------------------------------------------------- */

int cmd_checkpoints(struct cli *c, int argc, char **argv)
{
  char *pos[1];
  if (positional(argc, argv, pos, 0) != 0) return cli_usage("usage: kiroku checkpoints [--json]");
  int rc;
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "checkpoints");
  json_t *feeds = NULL;
  rc = view_feeds_json(txn, c->s, &feeds);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "checkpoints");
  if (c->json) {
    cli_print_json(json_pack("{s:o}", "feeds", feeds));
    return CLI_OK;
  }
  size_t i;
  json_t *f;
  json_array_foreach(feeds, i, f) {
    json_t *ck = json_object_get(f, "checkpoint");
    printf("%.16s…  %-14s %6lld records", json_string_value(json_object_get(f, "author")),
           json_string_value(json_object_get(f, "name")), (long long)json_integer_value(json_object_get(f, "records")));
    if (json_is_integer(json_object_get(f, "frozen_at")))
      printf("  FROZEN at seq %lld (equivocation)", (long long)json_integer_value(json_object_get(f, "frozen_at")));
    if (json_is_null(ck)) { printf("  no checkpoint\n"); continue; }
    json_t *by = json_object_get(ck, "cosigned_by");
    printf("  checkpoint %lld  root %.16s…  cosigned by %zu", (long long)json_integer_value(json_object_get(ck, "size")),
           json_string_value(json_object_get(ck, "root")), json_array_size(by));
    size_t k2;
    json_t *w;
    json_array_foreach(by, k2, w) printf("%s%s", k2 ? ", " : ": ", json_string_value(json_object_get(w, "name")));
    printf("\n");
  }
  json_decref(feeds);
  return CLI_OK;
}

/* ---- evidence ---------------------------------------------------------------------------- */

static void evidence_print(const json_t *e)
{
  if (strcmp(json_string_value(json_object_get(e, "kind")), "bad-record") == 0) {
    printf("evidence %.16s…: %s signed a checkpoint over record seq %lld, whose own signature does not verify\n",
           json_string_value(json_object_get(e, "id")),
           json_object_get(e, "name") ? json_string_value(json_object_get(e, "name")) : json_string_value(json_object_get(e, "author")),
           (long long)json_integer_value(json_object_get(e, "seq")));
    printf("  record %s\n  checkpoint root %s\n", json_string_value(json_object_get(e, "record")),
           json_string_value(json_object_get(e, "checkpoint_root")));
    json_t *fz = json_object_get(e, "frozen_at");
    if (json_is_integer(fz)) printf("  feed frozen from seq %lld\n", (long long)json_integer_value(fz));
    return;
  }
  int rec = strcmp(json_string_value(json_object_get(e, "kind")), "records") == 0;
  printf("evidence %.16s…: %s signed two different %s at %s %lld\n", json_string_value(json_object_get(e, "id")),
         json_object_get(e, "name") ? json_string_value(json_object_get(e, "name")) : json_string_value(json_object_get(e, "author")),
         rec ? "records" : "checkpoints", rec ? "seq" : "size",
         (long long)json_integer_value(json_object_get(e, rec ? "seq" : "size")));
  printf("  %s %s\n  %s %s\n", rec ? "record" : "root", json_string_value(json_object_get(e, rec ? "record_a" : "root_a")),
         rec ? "record" : "root", json_string_value(json_object_get(e, rec ? "record_b" : "root_b")));
  json_t *fz = json_object_get(e, "frozen_at");
  if (json_is_integer(fz)) printf("  feed frozen from seq %lld: its records from there on are held, not applied\n", (long long)json_integer_value(fz));
}

/* The evidence whose id starts with the hex prefix: its bytes, and how many match. */
struct evidence_pick { const char *prefix; const uint8_t *want; size_t want_len, matches; };

static int evidence_pick_one(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len)
{
  struct evidence_pick *p = arg;
  char hex[65];
  sig_hex(hex, id, 32);
  if (strncmp(hex, p->prefix, strlen(p->prefix)) != 0) return 0;
  p->matches++;
  p->want = buf;
  p->want_len = len;
  return 0;
}

int cmd_evidence(struct cli *c, int argc, char **argv)
{
  char *pos[1];
  int np = positional(argc, argv, pos, 1);
  if (np < 0) return cli_usage("usage: kiroku evidence [ID > FILE] [--json]");
  if (np == 1 && isatty(STDOUT_FILENO))
    return cli_usage("kiroku evidence ID writes binary evidence: redirect it to a file (kiroku evidence ID > FILE)");
  int rc;
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "evidence");
  if (np == 1) {
    struct evidence_pick p = { pos[0], NULL, 0, 0 };
    if ((rc = evidence_each(txn, c->s, evidence_pick_one, &p))) rc = cli_fail(rc, "evidence");
    else if (p.matches != 1) rc = cli_fail(p.matches ? KK_ERR(AMBIGUOUS) : KK_ERR(UNKNOWN_RECORD), "evidence %s", pos[0]);
    else if (fwrite(p.want, 1, p.want_len, stdout) != p.want_len || fflush(stdout)) rc = cli_fail(-EIO, "evidence: write");
    store_txn_abort(txn);
    return rc;
  }
  json_t *list = NULL;
  rc = view_evidence_list_json(txn, c->s, &list);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "evidence");
  if (c->json) {
    cli_print_json(json_pack("{s:o}", "evidence", list));
    return CLI_OK;
  }
  if (!json_array_size(list)) printf("no evidence of equivocation\n");
  size_t i;
  json_t *e;
  json_array_foreach(list, i, e) evidence_print(e);
  json_decref(list);
  return CLI_OK;
}

int cmd_verify_evidence(struct cli *c, int argc, char **argv)
{
  char *pos[1];
  if (positional(argc, argv, pos, 1) != 1) return cli_usage("usage: kiroku verify-evidence FILE [--json]");
  uint8_t *buf;
  size_t len;
  int rc = cli_read_file(pos[0], CODEC_MAX_EVIDENCE, &buf, &len);
  if (rc) {
    cli_fail(rc, "verify-evidence: %s", pos[0]);
    return CLI_USAGE;
  }
  struct evidence_info in;
  rc = evidence_check(buf, len, NULL, &in);
  mem_free(buf);
  if (rc == KK_ERR(DECODE) || rc == KK_ERR(FIELD) || rc == KK_ERR(TOO_LARGE)) {
    cli_fail(rc, "verify-evidence: %s is not an evidence file", pos[0]);
    return CLI_USAGE;
  }
  if (rc) {
    if (c->json) cli_print_json(json_pack("{s:b,s:s}", "valid", 0, "reason", kk_strerror(rc)));
    else printf("INVALID: %s\n", kk_strerror(rc));
    return CLI_FAILED;
  }
  json_t *j = view_evidence_json(NULL, NULL, &in);
  json_object_set_new(j, "valid", json_true());
  json_object_set_new(j, "network", view_json_hex(in.network, 32));
  if (c->json) { cli_print_json(j); return CLI_OK; }
  printf("VALID: ");
  evidence_print(j);
  json_decref(j);
  return CLI_OK;
}
