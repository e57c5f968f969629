/*
 * epcis-hash — the CBV 2.0 event hash of every event of an EPCIS 2.0 JSON-LD document:
 * one ni:///sha-256;…?ver=CBV2.0 line per event, in document order; with --prehash
 * each followed by its canonical pre-hash string. --json: one object per event, with
 * the eventID the document declares and whether it matches.
 *
 * export --epcis [REF] — the ledger (or REF's provenance) as one EPCIS 2.0 document on
 * stdout (docs/epcis.md, "Export").
 *
 * import --epcis FILE [--dry-run] — a document's events as this member's records, all or
 * nothing (docs/epcis.md, "Import").
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
#include "../node/epcis/capture.h"
#include "../node/epcis/masterdata.h"
#include "../node/client/ctl.h"
#include "../node/ledger/bundle.h"
#include "../node/ledger/ingest.h"
#include "../node/ledger/qty.h"
#include "../crypto/sig.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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

/* ---- master data ----------------------------------------------------------------------- */


/* The member's master data (DIR/masterdata.csv; none yet is empty): 0, a negative error,
 * or a CLI exit code already reported. */
static int masterdata_open(struct cli *c, struct epcis_masterdata *md)
{
  char why[320];
  int rc = epcis_masterdata_load(md, c->dir, why, sizeof why);
  if (rc == KK_ERR(USAGE)) {
    fprintf(stderr, "kiroku: %s/%s: %s (load master data again with kiroku masterdata load)\n", c->dir,
            EPCIS_MASTERDATA_FILE, why);
    return CLI_INTERNAL;
  }
  return rc;
}

int cmd_masterdata(struct cli *c, int argc, char **argv)
{
  const char *usage = "usage: kiroku masterdata load FILE | kiroku masterdata list [--json]";
  int o;
  static const struct option opts[] = { { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1)
    if (o != 'j') return cli_usage("%s", usage);
  const char *what = optind < argc ? argv[optind] : NULL;
  int load = what && strcmp(what, "load") == 0, list = what && strcmp(what, "list") == 0;
  if (!load && !list) return cli_usage("masterdata: load FILE or list\n  %s", usage);
  if (load && optind + 2 != argc) return cli_usage("masterdata load: one FILE (EPCIS master data JSON, or CSV class,net_mass)\n  %s", usage);
  if (list && optind + 1 != argc) return cli_usage("%s", usage);
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  struct epcis_masterdata md = { NULL, 0, 0 };
  if ((rc = masterdata_open(c, &md))) return rc > 0 ? rc : cli_fail(rc, "masterdata");
  if (list) {
    json_t *arr = json_array();
    for (size_t i = 0; i < md.n; i++) {
      char m[QTY_FMT];
      if (c->json) json_array_append_new(arr, json_pack("{s:s,s:I}", "class", md.e[i].cls, "net_mass_mg", (json_int_t)md.e[i].mg));
      else printf("%-60s %s\n", md.e[i].cls, qty_format_mass(m, md.e[i].mg));
    }
    if (c->json) cli_print_json(json_pack("{s:o}", "classes", arr));
    else json_decref(arr);
    epcis_masterdata_free(&md);
    return CLI_OK;
  }
  uint8_t *buf;
  size_t len, added;
  char why[320];
  const char *file = argv[optind + 1];
  if ((rc = cli_read_file(file, EPCIS_FILE_MAX, &buf, &len))) { epcis_masterdata_free(&md); cli_fail(rc, "masterdata load: %s", file); return CLI_USAGE; }
  rc = epcis_masterdata_read(&md, (const char *)buf, len, &added, why, sizeof why);
  mem_free(buf);
  if (rc) {
    epcis_masterdata_free(&md);
    if (rc == KK_ERR(USAGE)) { fprintf(stderr, "kiroku: masterdata load: %s: %s; nothing was loaded\n", file, why); return CLI_USAGE; }
    return cli_fail(rc, "masterdata load");
  }
  /* written whole, then renamed over the old file: never half a file */
  char *csv = epcis_masterdata_csv(&md), path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/%s", c->dir, EPCIS_MASTERDATA_FILE);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = csv ? fopen(tmp, "w") : NULL;
  int bad = !f || fputs(csv, f) == EOF || fflush(f) || fsync(fileno(f));
  if (f && fclose(f)) bad = 1;
  if (!bad && rename(tmp, path)) bad = 1;
  mem_free(csv);
  size_t total = md.n;
  epcis_masterdata_free(&md);
  if (bad) { remove(tmp); return cli_fail(-EIO, "masterdata load: writing %s", path); }
  printf("loaded the net mass of %zu class%s (%zu in all)\n", added, added == 1 ? "" : "es", total);
  return CLI_OK;
}

/* ---- import ----------------------------------------------------------------------------- */

static int dry_run_hook(struct store_txn *txn, void *ctx, const uint8_t (*feeds)[32], size_t n)
{
  (void)txn;
  (void)ctx;
  (void)feeds;
  (void)n;
  return KK_ERR(NOTHING_NEW); /* everything was judged valid: now write nothing */
}

/* Where an import's batch goes: the running node (over the control socket), this
 * process's own ingest, or — a dry run — the rules alone, writing nothing. */
enum import_to { TO_NODE, TO_STORE, TO_NOWHERE };
struct import_writer { struct cli *c; enum import_to to; };

static int import_write(void *arg, const uint8_t *const *envs, const size_t *lens, size_t n, size_t *failed)
{
  struct import_writer *w = arg;
  int rc;
  *failed = n;
  if (w->to == TO_NODE) {
    int fd = ctl_client_connect(w->c->dir);
    if (fd < 0) return fd;
    int r = ctl_client_append_batch(fd, envs, lens, n, &rc, failed);
    close(fd);
    return r ? r : rc;
  }
  struct ingest_item *items = mem_calloc(n ? n : 1, sizeof *items);
  if (!items) return -ENOMEM;
  for (size_t i = 0; i < n; i++) { items[i].env = envs[i]; items[i].len = lens[i]; }
  if (w->to == TO_NOWHERE) {
    struct ingest_hook hook = { dry_run_hook, NULL };
    rc = ingest_batch_hook(w->c->s, items, n, INGEST_LOCAL | INGEST_SIGNED_HERE, 1, &hook);
    if (rc == KK_ERR(NOTHING_NEW)) rc = 0;
  } else rc = cli_ingest(w->c, items, n, INGEST_LOCAL | INGEST_SIGNED_HERE, 1);
  for (size_t i = 0; rc && i < n; i++)
    if (items[i].result && items[i].result != INGEST_DUPLICATE) { *failed = i; break; }
  mem_free(items);
  return rc;
}

int cmd_import(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "epcis", no_argument, 0, 'e' }, { "dry-run", no_argument, 0, 'n' },
                                        { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *usage = "usage: kiroku import --epcis FILE [--dry-run] [--json]";
  int epcis = 0, dry = 0, o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'e') epcis = 1;
    else if (o == 'n') dry = 1;
    else if (o != 'j') return cli_usage("%s", usage);
  }
  if (!epcis) return cli_usage("import needs a format: --epcis (EPCIS 2.0 JSON-LD; records files: import-records)\n  %s", usage);
  if (optind >= argc) return cli_usage("missing FILE (an EPCIS 2.0 JSON-LD document, or - for stdin)\n  %s", usage);
  if (optind + 1 < argc) return cli_usage("one FILE at a time\n  %s", usage);
  const char *path = argv[optind];
  int rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK);
  if (rc) return rc;
  /* With a node running, it owns the writes: the batch goes to it (a dry run stays here,
   * writing nothing). */
  struct import_writer w = { c, dry ? TO_NOWHERE : TO_STORE };
  if (!dry) {
    int fd = ctl_client_connect(c->dir);
    if (fd >= 0) { close(fd); w.to = TO_NODE; }
    else if (fd != -ENOENT && fd != -ECONNREFUSED) return cli_fail(fd, "import: the node's control socket");
  }
  json_t *doc;
  uint8_t *buf;
  size_t len;
  char why[320];
  if ((rc = cli_read_file(path, EPCIS_FILE_MAX, &buf, &len))) { cli_fail(rc, "import: %s", path); return CLI_USAGE; }
  rc = ejson_load((const char *)buf, len, &doc, why, sizeof why);
  mem_free(buf);
  if (rc) {
    fprintf(stderr, "kiroku: import: %s is not a JSON document: %s\n", path, rc == -ENOMEM ? kk_strerror(rc) : why);
    return CLI_USAGE;
  }
  struct epcis_masterdata md = { NULL, 0, 0 };
  if ((rc = masterdata_open(c, &md))) { json_decref(doc); return rc > 0 ? rc : cli_fail(rc, "import: master data"); }
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  struct epcis_member me = { c->pk, c->sk, c->network };
  struct epcis_import im;
  int ingest_rc;
  rc = epcis_capture(c->s, &me, doc, &md, (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000, import_write,
                     &w, &im, &ingest_rc, why, sizeof why);
  epcis_masterdata_free(&md);
  json_decref(doc);
  if (rc == KK_ERR(USAGE)) { fprintf(stderr, "kiroku: import: %s: %s\n", path, why); rc = CLI_USAGE; goto out; }
  if (rc) { rc = cli_fail(rc, "import"); goto out; }
  if (ingest_rc == KK_ERR(TOO_LARGE) && w.to == TO_NODE) {
    rc = cli_fail(ingest_rc, "import: %zu records do not fit in one batch to the node: stop the node to import this document", im.records);
    goto out;
  }
  if (ingest_rc && !im.refused) { rc = cli_fail(ingest_rc, "import"); goto out; }
  int written = !im.refused && !dry;
  if (c->json) {
    cli_print_json(json_pack("{s:o,s:I,s:b,s:b}", "events", epcis_capture_json(&im), "records",
                             (json_int_t)(im.refused ? 0 : im.records), "written", written && im.records, "dry_run", dry));
  } else {
    for (size_t i = 0; i < im.n; i++) {
      struct epcis_import_event *e = &im.ev[i];
      char hex[65] = "";
      if (e->what == EI_RECORD) view_hex(hex, e->id);
      const char *eid = e->event_id + 14;
      switch (e->what) {
      case EI_RECORD:
        printf("event %zu (%.12s…): %s %s, record %.12s\n", e->index, eid, dry || im.refused ? "would write" : "wrote",
               codec_payload_name(e->body->kind), hex);
        break;
      case EI_HELD: printf("event %zu (%.12s…): held already (%s)\n", e->index, eid, e->why); break;
      case EI_OTHER_PARTY: printf("event %zu (%.12s…): skipped, %s\n", e->index, eid, e->why); break;
      case EI_UNMAPPED: printf("event %zu (%.12s…): skipped, %s\n", e->index, eid, e->why); break;
      default: fprintf(stderr, "kiroku: import: event %zu (%s): %s\n", e->index, e->event_id, e->why);
      }
    }
    if (im.refused)
      fprintf(stderr, "kiroku: import: nothing was written: %zu event%s cannot become records (above)\n", im.refused, im.refused == 1 ? "" : "s");
    else if (dry) printf("dry run: %zu record%s would be written; nothing was\n", im.records, im.records == 1 ? "" : "s");
    else printf("imported %zu record%s from %zu events\n", im.records, im.records == 1 ? "" : "s", im.n);
  }
  rc = im.refused ? CLI_USAGE : CLI_OK;
out:
  epcis_import_free(&im);
  return rc;
}
