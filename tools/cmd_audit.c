/*
 * audit — replay every record from genesis into a fresh store and compare.
 *
 * The replay goes through ingest, exactly as records from a peer would: every envelope
 * and body re-checked, every signature verified (on all cores), every chain link and
 * every rule re-evaluated. The replayed derived state's digest must equal the stored
 * one; records the replay rejects outright, or a digest mismatch, fail the audit.
 * Evidence of equivocation the node holds is checked and applied first, so frozen feeds
 * replay frozen (evidence that does not verify fails the audit).
 */
#include "cli.h"
#include "../node/mem.h"
#include "../crypto/sig.h"
#include "../node/buf.h"
#include "../node/err.h"
#include "../node/evidence.h"
#include "../node/ingest.h"
#include "../node/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_BATCH 4096

struct audit_meta { const uint8_t *network, *registry; struct store *s; };

static int audit_meta_fn(MDB_txn *txn, void *arg)
{
  struct audit_meta *m = arg;
  int rc = store_meta_put(txn, m->s, "network", m->network, 32);
  return rc ? rc : store_meta_put(txn, m->s, "registry", m->registry, 32);
}

/* Copies every evidence object of the audited store into the replay, each checked again. */
struct audit_evidence { struct store *from, *to; MDB_txn *rtxn; uint64_t n, bad; };

static int audit_evidence_fn(MDB_txn *txn, void *arg)
{
  struct audit_evidence *a = arg;
  MDB_cursor *cur;
  MDB_val k, v;
  a->n = a->bad = 0;
  int rc = mdb_cursor_open(a->rtxn, a->from->evidence, &cur);
  if (rc) return rc;
  for (rc = mdb_cursor_get(cur, &k, &v, MDB_FIRST); rc == 0; rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    struct evidence_info info;
    int is_new;
    int r = evidence_store(txn, a->to, v.mv_data, v.mv_size, &info, &is_new);
    if (r == 0) a->n++;
    else if (kk_err_is_input(r)) a->bad++;
    else { rc = r; break; }
  }
  mdb_cursor_close(cur);
  return rc == MDB_NOTFOUND ? 0 : rc;
}

static double now_s(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

int cmd_audit(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku audit [--json]");
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;

  char tmpl[4096];
  if (cli_scratch_dir(tmpl, "audit")) return cli_fail(-errno, "cannot create a scratch directory for the replay");
  struct store *fresh = NULL;
  MDB_txn *txn = NULL;
  MDB_cursor *cur = NULL;
  struct ingest_item *items = mem_calloc(AUDIT_BATCH, sizeof *items);
  json_t *rejected = json_array(), *invalid = json_array();
  uint64_t total = 0, done_n = 0, n_rejected = 0;
  uint8_t stored_digest[32], replay_digest[32];
  double t0 = now_s();
  if (!items) { rc = -ENOMEM; goto out; }
  if ((rc = store_open_scratch(&fresh, tmpl))) goto out;
  struct audit_meta am = { c->network, c->registry, fresh };
  if ((rc = store_write(fresh, audit_meta_fn, &am))) goto out;

  if ((rc = store_read(c->s, &txn))) goto out;
  if ((rc = store_digest(txn, c->s, stored_digest)) || (rc = store_count_records(txn, c->s, &total))) goto out;
  struct audit_evidence ae = { c->s, fresh, txn, 0, 0 };
  if ((rc = store_write(fresh, audit_evidence_fn, &ae))) goto out;
  if ((rc = mdb_cursor_open(txn, c->s->records, &cur))) goto out;
  MDB_val k, v;
  int more = mdb_cursor_get(cur, &k, &v, MDB_FIRST) == 0;
  int progress = total > 20000 && !c->json;
  while (more) {
    size_t m = 0;
    while (more && m < AUDIT_BATCH) {
      memset(&items[m], 0, sizeof items[m]);
      items[m].env = v.mv_data; /* valid while txn is open; the replay writes elsewhere */
      items[m].len = v.mv_size;
      m++;
      more = mdb_cursor_get(cur, &k, &v, MDB_NEXT) == 0;
    }
    if ((rc = ingest_batch(fresh, items, m, 0, 0))) goto out;
    for (size_t i = 0; i < m; i++) {
      if (items[i].result >= 0) continue;
      char hex[65];
      sig_hex(hex, items[i].author, 32);
      n_rejected++;
      json_array_append_new(rejected, json_pack("{s:s,s:I,s:s}", "author", hex, "seq", (json_int_t)items[i].seq,
                                                "reason", kk_strerror(items[i].result)));
    }
    done_n += m;
    if (progress) fprintf(stderr, "audit: replayed %llu/%llu records\n", (unsigned long long)done_n, (unsigned long long)total);
  }
  mdb_cursor_close(cur);
  cur = NULL;

  /* Verdicts and digest of the replay. */
  MDB_txn *ftxn;
  uint64_t n_invalid = 0, n_waiting = 0;
  if ((rc = store_read(fresh, &ftxn))) goto out;
  rc = store_digest(ftxn, fresh, replay_digest);
  MDB_cursor *fc;
  if (rc == 0 && (rc = mdb_cursor_open(ftxn, fresh->records, &fc)) == 0) {
    for (int r = mdb_cursor_get(fc, &k, &v, MDB_FIRST); r == 0; r = mdb_cursor_get(fc, &k, &v, MDB_NEXT)) {
      uint8_t id[32];
      struct rules_status st;
      if (k.mv_size != 40 || rules_status_at(ftxn, fresh, k.mv_data, be64_get((const uint8_t *)k.mv_data + 32), &st) != 0) {
        n_waiting++;
        continue;
      }
      if (st.verdict == RULES_VALID) continue;
      sig_sha256(id, v.mv_data, v.mv_size);
      n_invalid++;
      char hex[65], name[CODEC_NAME_MAX + 8];
      cli_hex(hex, id);
      json_array_append_new(invalid, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "id", hex, "author",
                                               cli_member_name(ftxn, fresh, k.mv_data, name, sizeof name), "seq",
                                               (json_int_t)be64_get((const uint8_t *)k.mv_data + 32), "kind",
                                               codec_payload_name(st.kind), "error", kk_errname(st.err), "reason", kk_strerror(st.err)));
    }
    mdb_cursor_close(fc);
  }
  mdb_txn_abort(ftxn);
  if (rc) goto out;

  double secs = now_s() - t0;
  int match = memcmp(stored_digest, replay_digest, 32) == 0;
  int ok = match && n_rejected == 0 && ae.bad == 0;
  char dhex[65], shex[65];
  cli_hex(dhex, replay_digest);
  cli_hex(shex, stored_digest);
  if (c->json) {
    json_t *o = json_pack("{s:I,s:I,s:I,s:I,s:s,s:s,s:b,s:b,s:f}", "records", (json_int_t)total, "invalid", (json_int_t)n_invalid,
                          "rejected", (json_int_t)n_rejected, "waiting", (json_int_t)n_waiting, "digest", dhex,
                          "stored_digest", shex, "match", match, "ok", ok, "seconds", secs);
    json_object_set_new(o, "evidence", json_integer((json_int_t)ae.n));
    json_object_set_new(o, "evidence_invalid", json_integer((json_int_t)ae.bad));
    json_object_set_new(o, "invalid_records", invalid);
    json_object_set_new(o, "rejected_records", rejected);
    invalid = rejected = NULL;
    cli_print_json(o);
  } else {
    printf("audit: %llu records replayed from genesis in %.2f s; every signature, chain link and rule checked\n",
           (unsigned long long)total, secs);
    printf("  invalid (kept, ignored by accounting): %llu\n", (unsigned long long)n_invalid);
    size_t i;
    json_t *e;
    json_array_foreach(invalid, i, e)
      printf("    %.12s %s #%lld %s: %s\n", json_string_value(json_object_get(e, "id")), json_string_value(json_object_get(e, "author")),
             (long long)json_integer_value(json_object_get(e, "seq")), json_string_value(json_object_get(e, "kind")),
             json_string_value(json_object_get(e, "reason")));
    if (ae.n) printf("  evidence of equivocation applied: %llu (feeds frozen at their fork points)\n", (unsigned long long)ae.n);
    if (ae.bad) printf("  EVIDENCE THAT DOES NOT VERIFY: %llu\n", (unsigned long long)ae.bad);
    if (n_waiting) printf("  waiting for records this node lacks: %llu\n", (unsigned long long)n_waiting);
    if (n_rejected) {
      printf("  REJECTED on replay: %llu\n", (unsigned long long)n_rejected);
      json_array_foreach(rejected, i, e)
        printf("    feed %.16s… seq %lld: %s\n", json_string_value(json_object_get(e, "author")),
               (long long)json_integer_value(json_object_get(e, "seq")), json_string_value(json_object_get(e, "reason")));
    }
    printf("  state digest %s\n", dhex);
    if (!match) printf("  MISMATCH: the stored state digest is %s\n", shex);
    printf("%s\n", ok ? "audit passed" : "AUDIT FAILED");
  }
  rc = ok ? 0 : 1;
out:
  if (cur) mdb_cursor_close(cur);
  if (txn) mdb_txn_abort(txn);
  store_close(fresh);
  cli_scratch_remove(tmpl);
  mem_free(items);
  json_decref(rejected);
  json_decref(invalid);
  if (rc == 1) return CLI_FAILED;
  return rc ? cli_fail(rc, "audit") : 0;
}
