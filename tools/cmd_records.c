/*
 * export-records, import-records — records as files: the offline path between nodes,
 * and what an auditor is handed.
 *
 * File format: node/ledger/recfile.h. Records are written in this node's arrival order; an
 * importer accepts them in any order.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/ledger/ingest.h"
#include "../node/ledger/recfile.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define IMPORT_BATCH 512

struct export_ctx { const uint8_t *feed; uint64_t n, last; };

static int export_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct export_ctx *x = arg;
  uint8_t author[32], hdr[4];
  uint64_t seq;
  int kind;
  x->last = arrival;
  if (x->feed && (codec_record_position(env, len, author, &seq, &kind) || memcmp(author, x->feed, 32) != 0)) return 0;
  be32_put(hdr, (uint32_t)len);
  if (fwrite(hdr, 1, 4, stdout) != 4 || fwrite(env, 1, len, stdout) != len) return -EIO;
  x->n++;
  return 0;
}

int cmd_export_records(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "since", required_argument, 0, 's' }, { "feed", required_argument, 0, 'f' }, { 0, 0, 0, 0 } };
  uint64_t since = 0;
  const char *feed = NULL;
  uint8_t fk[32];
  int o, rc;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 's') {
      char *end;
      since = strtoull(optarg, &end, 10);
      if (!*optarg || *end) return cli_usage("--since takes an arrival number (printed by the previous export)");
    } else if (o == 'f') feed = optarg;
    else return cli_usage("usage: kiroku export-records [--since N] [--feed NAME|HEX] > FILE");
  }
  if (optind != argc) return cli_usage("usage: kiroku export-records [--since N] [--feed NAME|HEX] > FILE");
  if (isatty(STDOUT_FILENO)) return cli_usage("export-records writes binary records: redirect it to a file");
  if ((rc = cli_open(c, CLI_NETWORK))) return rc;
  struct store_txn *txn;
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  if (feed && (rc = cli_resolve_member(c, txn, feed, fk))) { store_txn_abort(txn); return cli_fail(rc, "--feed %s", feed); }
  fwrite(RECFILE_MAGIC, 1, RECFILE_MAGIC_LEN, stdout);
  struct export_ctx x = { feed ? fk : NULL, 0, since };
  rc = store_log_each(txn, c->s, since, export_fn, &x);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "export-records");
  if (fflush(stdout) != 0) return cli_fail(-errno, "export-records: write");
  fprintf(stderr, "exported %llu records; next time: --since %llu\n", (unsigned long long)x.n, (unsigned long long)x.last);
  return 0;
}

/* Reads the whole file and splits it into records. Nothing is ingested on a bad file. */
static int read_records(const char *path, uint8_t **data, struct ingest_item **items, size_t *n)
{
  size_t len;
  int rc = cli_read_file(path, SIZE_MAX / 2, data, &len);
  if (rc) return rc;
  if ((rc = recfile_split(*data, len, items, n))) { mem_free(*data); *data = NULL; }
  return rc;
}

/* Import order: each feed's records in seq order, so any file order works, yet in the
 * places the file gave that feed's records, so the feeds stay interleaved as the file
 * has them. A file exported from a ledger is in an order the records can be evaluated
 * in; each batch then evaluates about what it brings, instead of one feed waiting for
 * another until a last batch evaluates everything in one transaction. Records that do
 * not decode keep their places and are rejected by ingest with their own error. */
struct import_key { uint8_t author[32]; uint64_t seq; size_t index; };

static int import_key_cmp(const void *a, const void *b)
{
  const struct import_key *x = a, *y = b;
  int c = memcmp(x->author, y->author, 32);
  if (c) return c;
  if (x->seq != y->seq) return x->seq < y->seq ? -1 : 1;
  return x->index < y->index ? -1 : x->index > y->index;
}

static int size_cmp(const void *a, const void *b)
{
  size_t x = *(const size_t *)a, y = *(const size_t *)b;
  return x < y ? -1 : x > y;
}

/* A record of the file that forks a feed held here: says so. */
static void report_fork(const struct ingest_item *it)
{
  char hex[65], ev[65];
  sig_hex(hex, it->author, 32);
  sig_hex(ev, it->evidence_id, 32);
  if (it->evidence_held)
    fprintf(stderr, "kiroku: import-records: feed %.16s… seq %llu: a second record for a position already held; "
                    "evidence %.16s… %s, the feed is frozen there\n", hex, (unsigned long long)it->seq, ev,
            it->evidence_new ? "stored" : "was already held");
  else
    fprintf(stderr, "kiroku: import-records: feed %.16s… seq %llu: a second record for a position already held "
                    "(not kept: the pair does not make valid evidence)\n", hex, (unsigned long long)it->seq);
}

/* After a refused batch: keeps the evidence of the forks among its records alone (as a
 * node does with a peer's records), and says so. Returns how many forks there were. */
static size_t keep_fork_evidence(struct cli *c, struct ingest_item *items, size_t n)
{
  size_t nf = 0;
  for (size_t i = 0; i < n; i++) nf += items[i].result == KK_ERR(FORK);
  struct ingest_item *forks = nf ? mem_calloc(nf, sizeof *forks) : NULL;
  if (!forks) return nf;
  nf = 0;
  for (size_t i = 0; i < n; i++)
    if (items[i].result == KK_ERR(FORK)) { forks[nf].env = items[i].env; forks[nf].len = items[i].len; nf++; }
  int rc = cli_ingest(c, forks, nf, 0, 0);
  for (size_t i = 0; i < nf; i++) {
    if (rc) forks[i].evidence_held = 0;
    if (rc || forks[i].result == KK_ERR(FORK)) report_fork(&forks[i]);
  }
  mem_free(forks);
  return nf;
}

int cmd_import_records(struct cli *c, int argc, char **argv)
{
  const char *path = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--json") == 0) continue;
    if (path) return cli_usage("usage: kiroku import-records FILE");
    path = argv[i];
  }
  if (!path) return cli_usage("usage: kiroku import-records FILE");
  uint8_t *data = NULL;
  struct ingest_item *items = NULL, *sorted = NULL;
  size_t n = 0, *slots = NULL;
  int rc = read_records(path, &data, &items, &n);
  if (rc) return cli_fail(rc, "%s", path);
  if ((rc = cli_open(c, CLI_WRITE | CLI_NETWORK))) { mem_free(data); mem_free(items); return rc; }

  struct import_key *keys = mem_calloc(n ? n : 1, sizeof *keys);
  struct kk_body *b = mem_alloc(sizeof *b);
  sorted = mem_calloc(n ? n : 1, sizeof *sorted);
  if (!keys || !b || !sorted) { rc = -ENOMEM; goto done; }
  for (size_t i = 0; i < n; i++) {
    struct kk_envelope_view ev;
    keys[i].index = i;
    if (codec_envelope_split(items[i].env, items[i].len, &ev) == 0 && codec_body_decode(ev.body, ev.body_len, b) == 0) {
      memcpy(keys[i].author, b->author, 32);
      keys[i].seq = b->seq;
    }
  }
  qsort(keys, n, sizeof *keys, import_key_cmp);
  if (!(slots = mem_alloc((n ? n : 1) * sizeof *slots))) { rc = -ENOMEM; goto done; }
  for (size_t g = 0, e; g < n; g = e) {
    for (e = g + 1; e < n && memcmp(keys[e].author, keys[g].author, 32) == 0; e++) {}
    for (size_t i = g; i < e; i++) slots[i - g] = keys[i].index;
    qsort(slots, e - g, sizeof *slots, size_cmp);
    for (size_t i = g; i < e; i++) sorted[slots[i - g]] = items[keys[i].index];
  }

  size_t stored = 0, dups = 0, forks = 0;
  int progress = n > IMPORT_BATCH && !c->json;
  for (size_t at = 0; at < n; at += IMPORT_BATCH) {
    size_t m = n - at < IMPORT_BATCH ? n - at : IMPORT_BATCH;
    rc = cli_ingest(c, sorted + at, m, INGEST_ALL_OR_NOTHING, 0);
    if (rc) {
      /* The batch is refused; a fork it revealed is still evidence worth keeping. */
      forks += keep_fork_evidence(c, sorted + at, m);
      for (size_t i = at; i < at + m; i++) {
        if (sorted[i].result != 0 && sorted[i].result != INGEST_DUPLICATE && sorted[i].result != KK_ERR(FORK)) {
          char hex[65];
          sig_hex(hex, sorted[i].author, 32);
          fprintf(stderr, "kiroku: import-records: record of feed %.16s… seq %llu rejected\n", hex,
                  (unsigned long long)sorted[i].seq);
          rc = sorted[i].result;
          break;
        }
      }
      if (stored) fprintf(stderr, "kiroku: the %zu records before it were imported; nothing after it was\n", stored);
      goto done;
    }
    for (size_t i = at; i < at + m; i++) {
      if (sorted[i].result == 0) stored++;
      else if (sorted[i].result == INGEST_DUPLICATE) dups++;
      else if (sorted[i].result == KK_ERR(FORK)) { report_fork(&sorted[i]); forks++; }
    }
    /* Committed: these records are durable now, so say so. */
    if (progress) fprintf(stderr, "imported %zu/%zu records\n", at + m, n);
  }
  if (c->json)
    cli_print_json(json_pack("{s:I,s:I,s:I,s:I}", "records", (json_int_t)n, "stored", (json_int_t)stored, "duplicates",
                             (json_int_t)dups, "equivocations", (json_int_t)forks));
  else printf("imported %zu records (%zu new, %zu already held)\n", n, stored, dups);
done:
  mem_free(keys);
  mem_free(slots);
  mem_free(b);
  mem_free(sorted);
  mem_free(items);
  mem_free(data);
  if (rc) return cli_fail(rc, "import-records %s", path);
  if (forks) {
    fprintf(stderr, "kiroku: import-records: the file holds %zu record(s) signed for feed positions already held "
                    "by other records: the author equivocated; see `kiroku evidence`\n", forks);
    return 1; /* verification failed: what the file says contradicts the ledger */
  }
  return 0;
}
