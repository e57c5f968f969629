/*
 * prove, verify-bundle — a lot's verification as a file anyone can check offline.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/ledger/bundle.h"
#include "../node/base/err.h"
#include "../node/ledger/verify.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_prove(struct cli *c, int argc, char **argv)
{
  if (argc != 2 || argv[1][0] == '-') return cli_usage("usage: kiroku prove REF > FILE");
  if (isatty(STDOUT_FILENO)) return cli_usage("kiroku prove writes a binary bundle: redirect it to a file (kiroku prove REF > FILE)");
  int rc = cli_open(c, CLI_KEY | CLI_NETWORK);
  if (rc) return rc;
  struct store_txn *txn;
  uint8_t key[36], *out = NULL;
  size_t len = 0;
  struct bundle_info info;
  char why[300] = "";
  double t0 = now_s();
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if ((rc = cli_resolve_lot(c, txn, argv[1], key)) == 0)
    rc = bundle_prove(txn, c->s, key, c->pk, c->sk, &out, &len, &info, why, sizeof why);
  store_txn_abort(txn);
  if (rc == STORE_ABSENT) rc = KK_ERR(UNKNOWN_LOT);
  if (rc == KK_ERR(BUNDLE)) return cli_fail(rc, "prove %s: %s", argv[1], why);
  if (rc) return cli_refused(c, rc, "prove %s", argv[1]);
  if (fwrite(out, 1, len, stdout) != len || fflush(stdout)) {
    mem_free(out);
    return cli_fail(-EIO, "prove: write");
  }
  mem_free(out);
  fprintf(stderr, "bundle: %zu records of %zu feeds, checkpoints with at least %zu cosignatures, %zu bytes, %.3f s\n",
          info.records, info.feeds, info.min_cosigs, len, now_s() - t0);
  return CLI_OK;
}

int cmd_verify_bundle(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "genesis", required_argument, 0, 'g' },
                                        { "witnesses", required_argument, 0, 'w' },
                                        { "json", no_argument, 0, 'j' },
                                        { 0, 0, 0, 0 } };
  const char *usage = "usage: kiroku verify-bundle FILE --genesis GENESIS [--witnesses K] [--json]";
  const char *genesis = NULL;
  unsigned long witnesses = 1;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'g') genesis = optarg;
    else if (o == 'w') {
      char *end;
      errno = 0;
      witnesses = strtoul(optarg, &end, 10);
      if (errno || *end || !*optarg || optarg[0] == '-' || witnesses > 1000) return cli_usage("%s", usage);
    } else if (o != 'j') return cli_usage("%s", usage);
  }
  if (optind >= argc) return cli_usage("missing FILE (the bundle)\n  %s", usage);
  int rc = cli_require(usage, argc, argv, optind + 1, "--genesis GENESIS", genesis != NULL, NULL);
  if (rc) return rc;
  const char *path = argv[optind];
  uint8_t *buf = NULL, *gen = NULL;
  size_t len, glen;
  if ((rc = cli_read_file(path, BUNDLE_MAX, &buf, &len))) { cli_fail(rc, "verify-bundle: %s", path); return CLI_USAGE; }
  if ((rc = cli_read_file(genesis, CODEC_MAX_RECORD, &gen, &glen))) {
    mem_free(buf);
    cli_fail(rc, "verify-bundle: --genesis %s", genesis);
    return CLI_USAGE;
  }
  char dir[4096], why[300] = "";
  struct store *scratch = NULL;
  struct bundle_info info;
  uint8_t lotkey[36];
  double t0 = now_s();
  if (cli_scratch_dir(dir, "bundle")) {
    mem_free(buf);
    mem_free(gen);
    return cli_fail(-errno, "cannot create a scratch directory");
  }
  if ((rc = store_open_scratch(&scratch, dir)) == 0)
    rc = bundle_verify(buf, len, gen, glen, (unsigned)witnesses, scratch, lotkey, &info, why, sizeof why);
  mem_free(buf);
  mem_free(gen);
  int exit_code = CLI_OK;
  if (rc == KK_ERR(BUNDLE)) {
    if (c->json) cli_print_json(json_pack("{s:b,s:s}", "valid", 0, "reason", why));
    else fprintf(stderr, "kiroku: verify-bundle: INVALID: %s\n", why);
    exit_code = CLI_UNPROVEN;
  } else if (rc) {
    exit_code = cli_fail(rc, "verify-bundle");
  } else {
    struct store_txn *txn;
    struct verify_report r;
    if ((rc = store_read(scratch, &txn)) == 0) {
      rc = verify_lot(txn, scratch, lotkey, 0, &r);
      store_txn_abort(txn);
    }
    if (rc) exit_code = cli_fail(rc, "verify-bundle: evaluating the lot");
    else {
      char prover[65];
      sig_hex(prover, info.prover, 32);
      if (c->json) {
        json_t *j = view_verify_json(&r);
        json_object_set_new(j, "bundle", json_pack("{s:b,s:I,s:I,s:I,s:s,s:f}", "valid", 1, "records", (json_int_t)info.records,
                                                   "feeds", (json_int_t)info.feeds, "min_cosignatures",
                                                   (json_int_t)info.min_cosigs, "prover", prover, "seconds", now_s() - t0));
        cli_print_json(j);
      } else {
        printf("bundle verified offline: %zu records of %zu feeds, every one signed, included in a checkpoint "
               "cosigned by at least %zu witness%s, and valid under the rules (prover %.16s…)\n",
               info.records, info.feeds, info.min_cosigs, info.min_cosigs == 1 ? "" : "es", prover);
        cli_verify_text(&r);
      }
      exit_code = r.passed ? CLI_OK : CLI_FAILED;
      verify_report_free(&r);
    }
  }
  store_close(scratch);
  cli_scratch_remove(dir);
  return exit_code;
}
