/*
 * passport — one self-contained page a manufacturer hands to a buyer (node/pages): the
 * figures of `verify`, the provenance graph, certificates, attestations, taint and
 * incidents, and the proof bundle (embedded, with its digest) and how to check it
 * offline.
 */
#include "cli.h"
#include "../node/base/err.h"
#include "../node/base/mem.h"
#include "../node/ledger/bundle.h"
#include "../node/ledger/verify.h"
#include "../node/pages/pages.h"
#include "../crypto/sig.h"

#include <errno.h>
#include <getopt.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* data written whole to path (through path.tmp, renamed): never half a file. */
static int write_file(const char *path, const char *data)
{
  char tmp[4200];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) return -errno;
  int bad = fputs(data, f) == EOF || fflush(f) || fsync(fileno(f));
  if (fclose(f)) bad = 1;
  if (!bad && rename(tmp, path)) bad = 1;
  if (bad) { int e = errno ? errno : EIO; remove(tmp); return -e; }
  return 0;
}

int cmd_passport(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "html", required_argument, 0, 'o' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  static const char *use = "usage: kiroku passport REF --html FILE [--json]";
  const char *file = NULL;
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'o') file = optarg;
    else if (o != 'j') return cli_usage("%s", use);
  }
  if ((rc = cli_require(use, argc, argv, optind + 1, "REF", optind < argc, "--html FILE", file != NULL, NULL))) return rc;
  const char *ref = argv[optind];
  if ((rc = cli_open(c, CLI_KEY | CLI_NETWORK))) return rc;
  struct store_txn *txn;
  uint8_t key[36], *bundle = NULL;
  size_t blen = 0;
  struct bundle_info info;
  char why[320] = "", *page = NULL;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if ((rc = cli_resolve_lot(c, txn, ref, key))) { store_txn_abort(txn); return cli_refused(c, rc, "passport %s", ref); }
  int proved = bundle_prove(txn, c->s, key, c->pk, c->sk, &bundle, &blen, &info, why, sizeof why);
  struct page_lot_opts po = { 1, proved ? NULL : bundle, proved ? 0 : blen, "", proved ? why : NULL };
  struct verify_report r;
  int passed = 0;
  rc = verify_lot(txn, c->s, key, 0, &r);
  if (rc == 0) { passed = r.passed; verify_report_free(&r); rc = page_lot(txn, c->s, key, &po, &page); }
  store_txn_abort(txn);
  if (rc) { mem_free(bundle); return cli_fail(rc, "passport %s", ref); }
  rc = write_file(file, page);
  mem_free(page);
  char digest[65] = "";
  if (!proved) {
    uint8_t h[32];
    crypto_hash_sha256(h, bundle, blen);
    sig_hex(digest, h, 32);
  }
  mem_free(bundle);
  if (rc) return cli_fail(rc, "passport: writing %s", file);
  if (c->json)
    cli_print_json(json_pack("{s:s,s:s,s:b,s:o}", "file", file, "lot", ref, "ok", passed, "bundle_sha256",
                             proved ? json_null() : json_string(digest)));
  else {
    printf("wrote %s: the passport of %s (%s)\n", file, ref, passed ? "verified: OK" : "FAILED verification");
    if (proved) fprintf(stderr, "kiroku: passport: no proof bundle in it yet: %s\n", why);
    else printf("  proof bundle inside it, SHA-256 %s\n", digest);
  }
  return passed ? CLI_OK : CLI_FAILED;
}
