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

struct cosig_list { struct store_txn *txn; struct store *s; const char *note; size_t len; json_t *arr; };

static int list_cosig(void *arg, const char *name, size_t nl, const char *line, size_t ll)
{
  struct cosig_list *l = arg;
  uint8_t pk[32];
  uint64_t t;
  char nm[CKPT_WITNESS_NAME_MAX], who[CODEC_NAME_MAX + 1];
  (void)line;
  (void)ll;
  if (ckpt_witness_key(name, nl, pk)) return 0;
  memcpy(nm, name, nl);
  nm[nl] = 0;
  uint8_t key[32]; /* the witness's key now: its feed id, or the key it rotated to */
  if (store_key_now(l->txn, l->s, pk, key, NULL) || note_verify_cosignature(l->note, l->len, nm, key, &t)) return 0;
  json_array_append_new(l->arr, json_pack("{s:o,s:s,s:I}", "key", cli_json_hex(pk, 32), "name",
                                          cli_member_name(l->txn, l->s, pk, who, sizeof who), "time", (json_int_t)t));
  return 0;
}

/* One feed's newest checkpoint as JSON; NULL when it has none. */
static json_t *checkpoint_json(struct store_txn *txn, struct store *s, const uint8_t author[32])
{
  char *note;
  size_t len;
  uint64_t size;
  if (ckpt_get(txn, s, author, 0, &note, &len, &size)) return NULL;
  struct ckpt_view v;
  if (ckpt_parse(note, len, &v)) { mem_free(note); return NULL; }
  struct cosig_list l = { txn, s, note, len, json_array() };
  note_each_line(note, len, list_cosig, &l);
  json_t *j = json_pack("{s:I,s:o,s:s,s:o}", "size", (json_int_t)size, "root", cli_json_hex(v.root, 32), "note", note,
                        "cosigned_by", l.arr);
  mem_free(note);
  return j;
}

struct feeds_list { struct cli *c; struct store_txn *txn; json_t *feeds; };

static int feeds_list_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct feeds_list *fl = arg;
  char who[CODEC_NAME_MAX + 1];
  uint64_t frozen = 0;
  store_frozen_at(fl->txn, fl->c->s, author, &frozen);
  json_t *f = json_pack("{s:o,s:s,s:I}", "author", cli_json_hex(author, 32), "name",
                        cli_member_name(fl->txn, fl->c->s, author, who, sizeof who), "records", (json_int_t)h->seq);
  json_t *ck = checkpoint_json(fl->txn, fl->c->s, author);
  json_object_set_new(f, "checkpoint", ck ? ck : json_null());
  json_object_set_new(f, "frozen_at", frozen ? json_integer((json_int_t)frozen) : json_null());
  json_array_append_new(fl->feeds, f);
  return 0;
}

int cmd_checkpoints(struct cli *c, int argc, char **argv)
{
  char *pos[1];
  if (positional(argc, argv, pos, 0) != 0) return cli_usage("usage: kiroku checkpoints [--json]");
  int rc;
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "checkpoints");
  json_t *feeds = json_array();
  struct feeds_list fl = { c, txn, feeds };
  rc = store_heads_each(txn, c->s, feeds_list_one, &fl);
  store_txn_abort(txn);
  if (rc) { json_decref(feeds); return cli_fail(rc, "checkpoints"); }
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

static json_t *evidence_json(struct store_txn *txn, struct store *s, const struct evidence_info *in)
{
  char who[CODEC_NAME_MAX + 1];
  int rec = in->kind == EVIDENCE_RECORDS, bad = in->kind == EVIDENCE_BAD_RECORD;
  json_t *j = json_pack("{s:o,s:s,s:o,s:I,s:o,s:o}", "id", cli_json_hex(in->id, 32), "kind",
                        bad ? "bad-record" : rec ? "records" : "checkpoints", "author", cli_json_hex(in->author, 32),
                        rec || bad ? "seq" : "size", (json_int_t)in->seq, bad ? "record" : rec ? "record_a" : "root_a",
                        cli_json_hex(in->a, 32), bad ? "checkpoint_root" : rec ? "record_b" : "root_b", cli_json_hex(in->b, 32));
  if (txn) {
    uint64_t frozen = 0;
    store_frozen_at(txn, s, in->author, &frozen);
    json_object_set_new(j, "name", json_string(cli_member_name(txn, s, in->author, who, sizeof who)));
    json_object_set_new(j, "frozen_at", frozen ? json_integer((json_int_t)frozen) : json_null());
  }
  return j;
}

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

struct evidence_list {
  struct cli *c;
  struct store_txn *txn;
  const char *prefix;           /* one asked for by its id's hex prefix, or NULL: all */
  json_t *list;
  const uint8_t *want;          /* the match's bytes */
  size_t want_len, matches;
};

static int evidence_list_one(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len)
{
  struct evidence_list *el = arg;
  struct evidence_info in;
  struct kk_equivocation e;
  if (codec_equivocation_decode(buf, len, &e)) return 0;
  /* Stored evidence was checked on arrival, maybe against a rotated key: list it even
   * when the author's own key does not verify it. */
  if (evidence_check(buf, len, NULL, &in)) {
    memset(&in, 0, sizeof in);
    memcpy(in.id, id, 32);
    memcpy(in.author, e.author, 32);
  }
  codec_equivocation_free(&e);
  if (el->prefix) {
    char hex[65];
    sig_hex(hex, id, 32);
    if (strncmp(hex, el->prefix, strlen(el->prefix)) != 0) return 0;
    el->matches++;
    el->want = buf;
    el->want_len = len;
  }
  json_array_append_new(el->list, evidence_json(el->txn, el->c->s, &in));
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
  json_t *list = json_array();
  const uint8_t *want = NULL;
  size_t want_len = 0, matches = 0;
  struct evidence_list el = { c, txn, np == 1 ? pos[0] : NULL, list, NULL, 0, 0 };
  rc = evidence_each(txn, c->s, evidence_list_one, &el);
  want = el.want;
  want_len = el.want_len;
  matches = el.matches;
  if (rc) { store_txn_abort(txn); json_decref(list); return cli_fail(rc, "evidence"); }
  if (np == 1) {
    rc = CLI_OK;
    if (matches != 1) rc = cli_fail(matches ? KK_ERR(AMBIGUOUS) : KK_ERR(UNKNOWN_RECORD), "evidence %s", pos[0]);
    else if (fwrite(want, 1, want_len, stdout) != want_len || fflush(stdout)) rc = cli_fail(-EIO, "evidence: write");
    store_txn_abort(txn);
    json_decref(list);
    return rc;
  }
  store_txn_abort(txn);
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
  json_t *j = evidence_json(NULL, NULL, &in);
  json_object_set_new(j, "valid", json_true());
  json_object_set_new(j, "network", cli_json_hex(in.network, 32));
  if (c->json) { cli_print_json(j); return CLI_OK; }
  printf("VALID: ");
  evidence_print(j);
  json_decref(j);
  return CLI_OK;
}
