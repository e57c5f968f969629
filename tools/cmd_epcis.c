/*
 * epcis-hash — the CBV 2.0 event hash of every event of an EPCIS 2.0 JSON-LD document:
 * one ni:///sha-256;…?ver=CBV2.0 line per event, in document order; with --prehash
 * each followed by its canonical pre-hash string. --json: one object per event, with
 * the eventID the document declares and whether it matches.
 *
 * export --epcis [REF] — the ledger (or REF's provenance) as one EPCIS 2.0 document on
 * stdout (docs/epcis.md, "Export").
 *
 * epcis-hash: exit 0 when every event hashes (and no declared ni:/// eventID disagrees), 1 when a
 * declared hash ID differs from the computed one, 2 when the file is not an EPCIS
 * JSON document.
 */
#include "cli.h"
#include "../node/base/err.h"
#include "../node/base/mem.h"
#include "../node/epcis/ehash.h"
#include "../node/epcis/ejson.h"
#include "../node/epcis/export.h"
#include "../node/ledger/bundle.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* EPCIS documents a capture interface accepts are at most this large (docs/epcis.md). */
#define EPCIS_FILE_MAX (64u << 20)

/* Reads and opens an EPCIS document for hashing; CLI_OK or a reported CLI_USAGE. */
static int open_doc(const char *cmd, const char *path, json_t **doc, struct ehash_doc **d)
{
  uint8_t *buf;
  size_t len;
  int rc = cli_read_file(path, EPCIS_FILE_MAX, &buf, &len);
  if (rc) {
    cli_fail(rc, "%s: %s", cmd, path);
    return CLI_USAGE;
  }
  char why[256];
  rc = ejson_load((const char *)buf, len, doc, why, sizeof why);
  mem_free(buf);
  if (rc) {
    fprintf(stderr, "kiroku: %s: %s is not a JSON document: %s\n", cmd, path, rc == -ENOMEM ? kk_strerror(rc) : why);
    return CLI_USAGE;
  }
  if ((rc = ehash_open(*doc, d, why, sizeof why))) {
    fprintf(stderr, "kiroku: %s: %s: %s\n", cmd, path, rc == -ENOMEM ? kk_strerror(rc) : why);
    json_decref(*doc);
    return CLI_USAGE;
  }
  return CLI_OK;
}

int cmd_epcis_hash(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "prehash", no_argument, 0, 'p' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *usage = "usage: kiroku epcis-hash FILE [--prehash] [--json]";
  int prehash = 0, o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'p') prehash = 1;
    else if (o != 'j') return cli_usage("%s", usage);
  }
  if (optind >= argc) return cli_usage("missing FILE (an EPCIS 2.0 JSON-LD document, or - for stdin)\n  %s", usage);
  if (optind + 1 < argc) return cli_usage("one FILE at a time\n  %s", usage);
  json_t *doc;
  struct ehash_doc *d;
  int rc = open_doc("epcis-hash", argv[optind], &doc, &d);
  if (rc) return rc;
  json_t *arr = json_array();
  int mismatch = 0;
  for (size_t i = 0; i < ehash_count(d) && !rc; i++) {
    char *pre;
    if ((rc = ehash_prehash(d, i, &pre))) break;
    char ni[EHASH_NI_LEN];
    ehash_ni(pre, ni);
    const char *declared = ejson_string(json_object_get(ehash_event(d, i), "eventID"));
    int differs = declared && strncmp(declared, "ni:///", 6) == 0 && strcmp(declared, ni) != 0;
    mismatch |= differs;
    if (c->json) {
      json_t *e = json_pack("{s:I,s:s}", "index", (json_int_t)i, "hash", ni);
      if (prehash) json_object_set_new(e, "prehash", json_string(pre));
      if (declared) {
        json_object_set_new(e, "declared_event_id", json_string(declared));
        if (strncmp(declared, "ni:///", 6) == 0) json_object_set_new(e, "matches", json_boolean(!differs));
      }
      json_array_append_new(arr, e);
    } else {
      printf("%s\n", ni);
      if (prehash) printf("%s\n", pre);
      if (differs) fprintf(stderr, "kiroku: epcis-hash: event %zu declares eventID %s, its hash is %s\n", i, declared, ni);
    }
    mem_free(pre);
  }
  ehash_close(d);
  json_decref(doc);
  if (rc) {
    json_decref(arr);
    cli_fail(rc, "epcis-hash");
    return cli_exit_code(rc);
  }
  if (c->json) cli_print_json(json_pack("{s:o}", "events", arr));
  else json_decref(arr);
  return mismatch ? CLI_FAILED : CLI_OK;
}

int cmd_export(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "epcis", no_argument, 0, 'e' }, { 0, 0, 0, 0 } };
  const char *usage = "usage: kiroku export --epcis [REF] > FILE";
  int epcis = 0, o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'e') epcis = 1;
    else return cli_usage("%s", usage);
  }
  if (!epcis) return cli_usage("export needs a format: --epcis (EPCIS 2.0 JSON-LD; records as files: export-records)\n  %s", usage);
  if (optind + 1 < argc) return cli_usage("one REF at a time (a lot code or lot id)\n  %s", usage);
  const char *ref = optind < argc ? argv[optind] : NULL;
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  uint8_t (*ids)[32] = NULL, key[36];
  size_t n = 0, events = 0;
  json_t *doc = NULL;
  if (ref && (rc = cli_resolve_lot(c, txn, ref, key)) == 0) rc = bundle_provenance(txn, c->s, key, &ids, &n);
  if (!rc) rc = epcis_export(txn, c->s, ref ? (const uint8_t(*)[32])ids : NULL, n, &doc, &events);
  store_txn_abort(txn);
  mem_free(ids);
  if (rc == STORE_ABSENT) rc = KK_ERR(UNKNOWN_LOT);
  if (rc) return ref ? cli_refused(c, rc, "export %s", ref) : cli_fail(rc, "export");
  char *text = ejson_dump(doc, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
  json_decref(doc);
  if (!text) return cli_fail(-ENOMEM, "export");
  size_t len = strlen(text);
  int bad = fwrite(text, 1, len, stdout) != len || fputc('\n', stdout) == EOF || fflush(stdout);
  mem_free(text);
  if (bad) return cli_fail(-EIO, "export: write");
  fprintf(stderr, "exported %zu events%s%s\n", events, ref ? " of the provenance of " : "", ref ? ref : "");
  return CLI_OK;
}
