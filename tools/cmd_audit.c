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
#include "../node/base/mem.h"
#include "../crypto/sig.h"
#include "../node/base/buf.h"
#include "../node/base/err.h"
#include "../node/ledger/evidence.h"
#include "../node/ledger/ingest.h"
#include "../node/ledger/rules.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define AUDIT_BATCH 4096

struct audit_meta { const uint8_t *network, *registry; struct store *s; };

static int audit_meta_fn(struct store_txn *txn, void *arg)
{
  struct audit_meta *m = arg;
  int rc = store_meta_put(txn, m->s, "network", m->network, 32);
  return rc ? rc : store_meta_put(txn, m->s, "registry", m->registry, 32);
}

/* Copies every evidence object of the audited store into the replay, each checked again. */
struct audit_evidence { struct store *from, *to; struct store_txn *rtxn; uint64_t n, bad; };

struct audit_evidence_copy { struct audit_evidence *a; struct store_txn *txn; };

static int audit_evidence_one(void *arg, const uint8_t id[32], const uint8_t *buf, size_t len)
{
  struct audit_evidence_copy *x = arg;
  struct evidence_info info;
  int is_new;
  (void)id;
  int r = evidence_store(x->txn, x->a->to, buf, len, &info, &is_new);
  if (r == 0) x->a->n++;
  else if (kk_err_is_input(r)) x->a->bad++;
  else return r;
  return 0;
}

static int audit_evidence_fn(struct store_txn *txn, void *arg)
{
  struct audit_evidence *a = arg;
  struct audit_evidence_copy x = { a, txn };
  a->n = a->bad = 0;
  return evidence_each(a->rtxn, a->from, audit_evidence_one, &x);
}

/* The replay: the log in arrival order (every feed in seq order), in batches. */
struct replay {
  struct store *fresh;
  struct ingest_item *items;
  size_t m;
  uint64_t done, total, rejected;
  int progress;
  json_t *rejected_list;
};

static int replay_flush(struct replay *r)
{
  if (!r->m) return 0;
  int rc = ingest_batch(r->fresh, r->items, r->m, 0, 0);
  if (rc) return rc;
  for (size_t i = 0; i < r->m; i++) {
    if (r->items[i].result == 0 || r->items[i].result == INGEST_DUPLICATE) continue;
    char hex[65];
    sig_hex(hex, r->items[i].author, 32);
    r->rejected++;
    json_array_append_new(r->rejected_list, json_pack("{s:s,s:I,s:s}", "author", hex, "seq", (json_int_t)r->items[i].seq,
                                                      "reason", kk_strerror(r->items[i].result)));
  }
  r->done += r->m;
  r->m = 0;
  if (r->progress) fprintf(stderr, "audit: replayed %llu/%llu records\n", (unsigned long long)r->done, (unsigned long long)r->total);
  return 0;
}

static int replay_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct replay *r = arg;
  (void)arrival;
  memset(&r->items[r->m], 0, sizeof r->items[r->m]);
  r->items[r->m].env = env; /* valid while the read transaction is open; the replay writes elsewhere */
  r->items[r->m].len = len;
  return ++r->m == AUDIT_BATCH ? replay_flush(r) : 0;
}

/* The replay's verdicts: invalid records listed, waiting ones counted. */
struct verdicts { struct store_txn *txn; struct store *s; uint64_t invalid, waiting; json_t *list; };

static int verdicts_fn(void *arg, uint64_t arrival, const uint8_t *env, size_t len)
{
  struct verdicts *vd = arg;
  uint8_t author[32], id[32];
  uint64_t seq;
  int kind;
  struct rules_status st;
  (void)arrival;
  if (codec_record_position(env, len, author, &seq, &kind)) return KK_ERR(CORRUPT);
  if (rules_status_at(vd->txn, vd->s, author, seq, &st) != 0) { vd->waiting++; return 0; }
  if (st.verdict == RULES_VALID) return 0;
  sig_sha256(id, env, len);
  vd->invalid++;
  char hex[65], name[CODEC_NAME_MAX + 8];
  view_hex(hex, id);
  json_array_append_new(vd->list, json_pack("{s:s,s:s,s:I,s:s,s:s,s:s}", "id", hex, "author",
                                            view_member_name(vd->txn, vd->s, author, name, sizeof name), "seq",
                                            (json_int_t)seq, "kind", codec_payload_name(kind), "error",
                                            kk_errname(st.err), "reason", kk_strerror(st.err)));
  return 0;
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
  struct store_txn *txn = NULL;
  struct ingest_item *items = mem_calloc(AUDIT_BATCH, sizeof *items);
  json_t *rejected = json_array(), *invalid = json_array();
  uint64_t total = 0, n_rejected = 0;
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
  struct replay rp = { fresh, items, 0, 0, total, 0, total > 20000 && !c->json, rejected };
  if ((rc = store_log_each(txn, c->s, 0, replay_fn, &rp)) || (rc = replay_flush(&rp))) goto out;
  n_rejected = rp.rejected;

  /* Verdicts and digest of the replay. */
  struct store_txn *ftxn;
  uint64_t n_invalid = 0, n_waiting = 0;
  if ((rc = store_read(fresh, &ftxn))) goto out;
  rc = store_digest(ftxn, fresh, replay_digest);
  struct verdicts vd = { ftxn, fresh, 0, 0, invalid };
  if (rc == 0) rc = store_log_each(ftxn, fresh, 0, verdicts_fn, &vd);
  n_invalid = vd.invalid;
  n_waiting = vd.waiting;
  store_txn_abort(ftxn);
  if (rc) goto out;

  double secs = now_s() - t0;
  int match = memcmp(stored_digest, replay_digest, 32) == 0;
  int ok = match && n_rejected == 0 && ae.bad == 0;
  char dhex[65], shex[65];
  view_hex(dhex, replay_digest);
  view_hex(shex, stored_digest);
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
  if (txn) store_txn_abort(txn);
  store_close(fresh);
  cli_scratch_remove(tmpl);
  mem_free(items);
  json_decref(rejected);
  json_decref(invalid);
  if (rc == 1) return CLI_FAILED;
  return rc ? cli_fail(rc, "audit") : 0;
}
