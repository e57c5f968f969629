/*
 * Allocation failure, SQLite-style: the n-th allocation from now fails (and every one
 * after it), for n = 0, 1, 2, ... through ingest, verify, the network path and the
 * daemon's replication job (job built, then run by the writer), until
 * the operation completes. Each time: a clean -ENOMEM, nothing leaked (mem_live), and
 * the store either unchanged (same state digest) or holding the whole result.
 */
#include "test.h"
#include "fixture.h"
#include <errno.h>
#include <sys/stat.h>
#include "../../crypto/sig.h"
#include "../../node/base/err.h"
#include "../../node/ledger/evidence.h"
#include "../../node/daemon/frame.h"
#include "../../node/daemon/hs.h"
#include "../../node/daemon/repl.h"
#include "../../node/ledger/ingest.h"
#include "../../node/base/mem.h"
#include "../../node/ledger/state.h"
#include "../../node/ledger/verify.h"

#define T (1000000000ull)
#define N_RECS 8
#define STEP_LIMIT 100000  /* an operation allocating more than this is a bug in itself */

struct chain {
  struct fx f;
  struct fx_member rec, proc;
  struct fx_rec r[N_RECS];   /* admit, admit, issue, transfer, receive, transform, claim, incident */
  uint8_t product[32];       /* the transform's record id: its output lot 0 */
};

static void sign_next(struct chain *c, int i, struct fx_member *m, struct kk_body *b)
{
  c->r[i] = fx_sign(&c->f, m, b);
  free(b);
}

static void admit(struct chain *c, int i, struct fx_member *m, const char *name, uint32_t roles)
{
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m->pk, 32);
  strcpy(b->u.admit.name, name);
  b->u.admit.roles = roles;
  strcpy(b->u.admit.country, "JP");
  sign_next(c, i, &c->f.reg, b);
}

/* The worked example's first steps, signed but stored nowhere yet. */
static void chain_build(struct chain *c)
{
  memset(c, 0, sizeof *c);
  fx_network(&c->f, "fault");
  fx_member_init(&c->rec);
  fx_member_init(&c->proc);
  admit(c, 0, &c->rec, "recycler", KK_ROLE_RECYCLER);
  admit(c, 1, &c->proc, "processor", KK_ROLE_PROCESSOR | KK_ROLE_MANUFACTURER);

  struct kk_body *b = fx_body(KK_PL_ISSUE);
  strcpy(b->u.issue.lot_code, "FLAKE-1");
  strcpy(b->u.issue.material, "PET");
  b->u.issue.mass_mg = b->u.issue.post_mg = 20 * T;
  strcpy(b->u.issue.origin, "JP");
  strcpy(b->u.issue.scheme, "GRS");
  strcpy(b->u.issue.certificate, "GRS-1");
  b->u.issue.model = KK_MODEL_SEGREGATED;
  sign_next(c, 2, &c->rec, b);

  b = fx_body(KK_PL_TRANSFER);
  fx_lotref(&b->u.transfer.lot, c->r[2].id, 0);
  b->u.transfer.mass_mg = 20 * T;
  memcpy(b->u.transfer.to, c->proc.pk, 32);
  sign_next(c, 3, &c->rec, b);

  b = fx_body(KK_PL_RECEIVE);
  memcpy(b->u.receive.transfer, c->r[3].id, 32);
  sign_next(c, 4, &c->proc, b);

  b = fx_body(KK_PL_TRANSFORM);
  struct kk_transform *t = &b->u.transform;
  t->model = KK_MODEL_CONTROLLED_BLENDING;
  t->n_inputs = 1;
  fx_lotref(&t->inputs[0].lot, c->r[4].id, 0);
  t->inputs[0].mass_mg = 20 * T;
  t->n_unledgered = 1;
  strcpy(t->unledgered[0].material, "PET");
  t->unledgered[0].mass_mg = 30 * T;
  strcpy(t->unledgered[0].origin, "DE");
  t->n_outputs = 1;
  strcpy(t->outputs[0].lot_code, "SHEET-1");
  strcpy(t->outputs[0].material, "PET");
  t->outputs[0].mass_mg = 47500000000ull;
  sign_next(c, 5, &c->proc, b);
  memcpy(c->product, c->r[5].id, 32);

  b = fx_body(KK_PL_CLAIM);
  fx_lotref(&b->u.claim.lot, c->product, 0);
  b->u.claim.share_ppm = 400000;
  strcpy(b->u.claim.scope, "EU market 2026");
  sign_next(c, 6, &c->proc, b);

  /* A record too long for the signature check's stack buffer: checking it allocates,
   * and that allocation failing must read as "out of memory", never as a bad
   * signature (which would refuse an honest record). */
  b = fx_body(KK_PL_INCIDENT);
  strcpy(b->u.incident.kind, "quality");
  memcpy(b->u.incident.about, c->product, 32);
  memset(b->u.incident.text, 'x', CODEC_TEXT_MAX);
  sign_next(c, 7, &c->proc, b);
}

static void chain_free(struct chain *c)
{
  for (int i = 0; i < N_RECS; i++) fx_rec_free(&c->r[i]);
  fx_free(&c->f);
}

/* A fresh directory under the test's own. */
static const char *subdir(const char *name)
{
  static char path[4][512];
  static int next;
  char *p = path[next++ % 4];
  snprintf(p, sizeof path[0], "%s/%s", test_tmpdir(), name);
  ASSERT(mkdir(p, 0700) == 0);
  return p;
}

static int ingest_all(struct store *s, struct chain *c)
{
  struct ingest_item it[N_RECS];
  memset(it, 0, sizeof it);
  for (int i = 0; i < N_RECS; i++) { it[i].env = c->r[i].env; it[i].len = c->r[i].len; }
  int rc = ingest_batch(s, it, N_RECS, 0, 1);
  for (int i = 0; rc == 0 && i < N_RECS; i++)
    if (it[i].result != 0) rc = it[i].result;
  return rc;
}

/* Steps an allocation failure through op(store, chain) until it completes: every
 * failed step must give exactly -ENOMEM, leak nothing and leave the store's digest
 * unchanged; the completed run must give the digest of a fault-free run in another
 * store. Returns the number of failure points stepped through. */
static int step_through(struct chain *c, int (*op)(struct store *, struct chain *))
{
  struct store *ref = fx_store(&c->f, subdir("ref"));
  ASSERT_OK(op(ref, c));
  uint8_t want[32], empty[32], got[32];
  fx_digest(ref, want);
  store_close(ref);

  struct store *s = fx_store(&c->f, subdir("store"));
  fx_digest(s, empty);
  long live = mem_live();
  int n, rc = -ENOMEM;
  for (n = 0; n < STEP_LIMIT; n++) {
    mem_fail_at(n);
    rc = op(s, c);
    int injected = mem_failed();
    mem_fail_at(-1);
    ASSERT_EQ(mem_live(), live);                      /* nothing leaked */
    fx_digest(s, got);
    if (rc == 0) { ASSERT(memcmp(got, want, 32) == 0); break; }   /* fully committed */
    ASSERT(injected);
    if (rc != -ENOMEM) printf("    step %d: %s\n", n, kk_strerror(rc));
    ASSERT_EQ(rc, -ENOMEM);                           /* a clean error ... */
    ASSERT(memcmp(got, empty, 32) == 0);              /* ... and nothing written */
  }
  ASSERT_OK(rc);
  store_close(s);
  return n;
}

TEST(fault_alloc_ingest)
{
  struct chain c;
  chain_build(&c);
  int n = step_through(&c, ingest_all);
  ASSERT(n > 5);                                      /* the steps did reach allocations */
  printf("    ingest: %d allocation failures stepped through\n", n);
  chain_free(&c);
}

/* A single failed allocation at each point in turn (the ones after it succeed): the
 * ingest ends either with everything committed or with -ENOMEM and nothing written —
 * never with a verdict on a record (an allocation failure in a signature check once
 * read as a bad signature, refusing an honest record while the rest went on). */
TEST(fault_alloc_once_ingest)
{
  struct chain c;
  chain_build(&c);
  struct store *ref = fx_store(&c.f, subdir("ref"));
  ASSERT_OK(ingest_all(ref, &c));
  uint8_t want[32], empty[32], got[32];
  fx_digest(ref, want);
  store_close(ref);
  int n, done = 0;
  for (n = 0; n < STEP_LIMIT && !done; n++) {
    char name[32];
    snprintf(name, sizeof name, "s%d", n);
    struct store *s = fx_store(&c.f, subdir(name));
    fx_digest(s, empty);
    mem_fail_once(n);
    int rc = ingest_all(s, &c);
    done = !mem_failed();
    mem_fail_at(-1);
    fx_digest(s, got);
    if (rc == 0) ASSERT(memcmp(got, want, 32) == 0);
    else {
      if (rc != -ENOMEM) printf("    step %d: %s\n", n, kk_strerror(rc));
      ASSERT_EQ(rc, -ENOMEM);
      ASSERT(memcmp(got, empty, 32) == 0);
    }
    store_close(s);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s/%s'", test_tmpdir(), name);
    ASSERT(system(cmd) == 0);
  }
  ASSERT(n > 5);
  printf("    ingest: %d single allocation failures stepped through\n", n);
  chain_free(&c);
}

TEST(fault_alloc_verify)
{
  struct chain c;
  chain_build(&c);
  struct store *s = fx_store(&c.f, subdir("store"));
  ASSERT_OK(ingest_all(s, &c));
  uint8_t key[36];
  lotkey_make(key, c.product, 0);
  struct store_txn *txn;
  struct verify_report want, got;
  ASSERT_OK(store_read(s, &txn));
  long base = mem_live();
  ASSERT_OK(verify_lot(txn, s, key, 0, &want));
  long live = mem_live();
  int n, rc = -ENOMEM;
  for (n = 0; n < STEP_LIMIT; n++) {
    memset(&got, 0, sizeof got);
    mem_fail_at(n);
    rc = verify_lot(txn, s, key, 0, &got);
    mem_fail_at(-1);
    if (rc == 0) break;
    if (rc != -ENOMEM) printf("    step %d: %s\n", n, kk_strerror(rc));
    ASSERT_EQ(rc, -ENOMEM);
    ASSERT_EQ(mem_live(), live);
  }
  ASSERT_OK(rc);
  ASSERT(n > 2);
  ASSERT_U64(got.lot.mass, want.lot.mass);
  ASSERT_U64(got.verified_post, want.verified_post);
  ASSERT_U64(got.verified_post, 19 * T);
  ASSERT_EQ(got.n_origins, want.n_origins);
  ASSERT_EQ(got.n_claims, 1);
  ASSERT_EQ(got.passed, 1);
  verify_report_free(&got);
  verify_report_free(&want);
  store_txn_abort(txn);
  ASSERT_EQ(mem_live(), base);
  printf("    verify: %d allocation failures stepped through\n", n);
  store_close(s);
  chain_free(&c);
}

/* Frames collected from a frame reader, copied out. */
struct inbox { uint8_t *buf; size_t len; int n; };

static int inbox_put(void *ctx, uint8_t *f, size_t len)
{
  struct inbox *in = ctx;
  if (in->buf) return KK_ERR(DECODE);     /* one frame expected */
  if (!(in->buf = mem_alloc(len))) return -ENOMEM;
  memcpy(in->buf, f, len);
  in->len = len;
  in->n++;
  return 0;
}

/* One peer's whole receive path for a Records message: handshake, seal, frame, read the
 * stream in 7-byte slices, open, decode, ingest. Returns 0 or the first error; frees
 * everything it allocated either way. */
static int network_path(struct store *s, struct chain *c)
{
  const uint8_t *net = c->f.network;
  static uint8_t apk[32], ask[64], bpk[32], bsk[64];
  static int have_keys;
  if (!have_keys) { sig_keypair(apk, ask); sig_keypair(bpk, bsk); have_keys = 1; }
  struct hs a, b;
  uint8_t *ha = NULL, *hb = NULL, *aa = NULL, *ab = NULL, *adm = NULL, *msg = NULL, *sealed = NULL, *plain = NULL;
  size_t la, lb, laa, lab, admlen, ml, sl, pl;
  struct frame_rd rd;
  struct inbox in = { 0 };
  struct kk_wire w, d;
  int decoded = 0, rc;
  memset(&a, 0, sizeof a);
  memset(&b, 0, sizeof b);
  frame_rd_init(&rd, 1u << 20);
  if ((rc = hs_start(&a, 1, net, apk, ask, NULL, 0, &ha, &la))) goto done;
  if ((rc = hs_start(&b, 0, net, bpk, bsk, NULL, 0, &hb, &lb))) goto done;
  if ((rc = hs_on_hello(&b, ha, la, &ab, &lab))) goto done;
  if ((rc = hs_on_hello(&a, hb, lb, &aa, &laa))) goto done;
  if ((rc = hs_on_auth(&b, aa, laa, &adm, &admlen))) goto done;
  mem_free(adm);
  adm = NULL;
  if ((rc = hs_on_auth(&a, ab, lab, &adm, &admlen))) goto done;

  const uint8_t *recs[N_RECS];
  size_t lens[N_RECS];
  for (int i = 0; i < N_RECS; i++) { recs[i] = c->r[i].env; lens[i] = c->r[i].len; }
  memset(&w, 0, sizeof w);
  w.kind = KK_W_RECORDS;
  w.records.n = N_RECS;
  w.records.recs = recs;
  w.records.lens = lens;
  memcpy(w.records.author, c->f.reg.pk, 32);
  if ((rc = codec_wire_encode(&w, &msg, &ml))) goto done;
  if ((rc = hs_seal(&a, msg, ml, &sealed, &sl))) goto done;
  uint8_t hdr[4];
  frame_header(hdr, sl);
  if ((rc = frame_feed(&rd, hdr, 4, inbox_put, &in))) goto done;
  for (size_t at = 0; at < sl; at += 7)
    if ((rc = frame_feed(&rd, sealed + at, sl - at < 7 ? sl - at : 7, inbox_put, &in))) goto done;
  if (in.n != 1) { rc = KK_ERR(INTERNAL); goto done; }
  if ((rc = hs_open(&b, in.buf, in.len, &plain, &pl))) goto done;
  if ((rc = codec_wire_decode(plain, pl, &d))) goto done;
  decoded = 1;
  struct ingest_item it[N_RECS];
  memset(it, 0, sizeof it);
  for (size_t i = 0; i < d.records.n && i < N_RECS; i++) { it[i].env = d.records.recs[i]; it[i].len = d.records.lens[i]; }
  if ((rc = ingest_batch(s, it, d.records.n, 0, 1))) goto done;
  for (int i = 0; i < N_RECS; i++) if (it[i].result) { rc = it[i].result; goto done; }
done:
  if (decoded) codec_wire_free(&d);
  mem_free(ha); mem_free(hb); mem_free(aa); mem_free(ab); mem_free(adm);
  mem_free(msg); mem_free(sealed); mem_free(plain); mem_free(in.buf);
  frame_rd_free(&rd);
  hs_clear(&a);
  hs_clear(&b);
  return rc;
}

TEST(fault_alloc_network_path)
{
  struct chain c;
  chain_build(&c);
  int n = step_through(&c, network_path);
  ASSERT(n > 10);
  printf("    network path: %d allocation failures stepped through\n", n);
  chain_free(&c);
}

/* A peer's Records message as the daemon takes it: the job built from the message
 * (repl_records_job, what on_records queues) and run by the writer (repl_run_job, what
 * the thread pool does), with a node that holds only what a job reads. Out of memory
 * anywhere, the job ends in -ENOMEM with nothing written and no record judged (a result
 * other than 0 would close an honest peer's connection as hostile); else every record
 * is stored. */
static int replication_job(struct store *s, struct chain *c)
{
  static struct node n;
  static int have_node;
  if (!have_node) {
    sig_keypair(n.pk, n.sk);
    memcpy(n.network, c->f.network, 32);
    have_node = 1;
  }
  n.s = s;
  const uint8_t *recs[N_RECS];
  size_t lens[N_RECS];
  for (int i = 0; i < N_RECS; i++) { recs[i] = c->r[i].env; lens[i] = c->r[i].len; }
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_RECORDS;
  w.records.n = N_RECS;
  w.records.recs = recs;
  w.records.lens = lens;
  memcpy(w.records.author, c->f.reg.pk, 32);
  struct ingest_job *j;
  int rc = repl_records_job(&w, 1, &j);
  if (rc) return rc;
  repl_run_job(&n, j);
  rc = j->rc;
  for (size_t i = 0; rc == 0 && j->results && i < j->n; i++) rc = j->results[i];
  repl_job_free(j);
  return rc;
}

TEST(fault_alloc_replication_job)
{
  struct chain c;
  chain_build(&c);
  int n = step_through(&c, replication_job);
  ASSERT(n > 10);
  printf("    replication job: %d allocation failures stepped through\n", n);
  chain_free(&c);
}

struct ev_ctx { struct store *s; const uint8_t *ev; size_t len; struct evidence_info info; int is_new; };

static int store_evidence_fn(struct store_txn *txn, void *arg)
{
  struct ev_ctx *e = arg;
  return evidence_store(txn, e->s, e->ev, e->len, &e->info, &e->is_new);
}

/* Evidence of the recycler's fork (a second record at its seq 2) stored while every
 * allocation in turn fails: -ENOMEM, nothing leaked (the decoded evidence once leaked
 * here), nothing written; then stored, and the feed frozen at 2. */
TEST(fault_alloc_evidence_store)
{
  struct chain c;
  chain_build(&c);
  struct store *s = fx_store(&c.f, subdir("evidence"));
  ASSERT_OK(ingest_all(s, &c));
  struct fx_member fork = c.rec;
  fork.seq = 1;
  memcpy(fork.last, c.r[2].id, 32);
  struct kk_body *b = fx_body(KK_PL_TRANSFER);
  fx_lotref(&b->u.transfer.lot, c.r[2].id, 0);
  b->u.transfer.mass_mg = 10 * T; /* not r[3]'s 20 t: another record at the same seq */
  memcpy(b->u.transfer.to, c.proc.pk, 32);
  struct fx_rec other = fx_sign(&c.f, &fork, b);
  free(b);
  uint8_t *ev, before[32], after[32];
  size_t evl;
  ASSERT_OK(evidence_from_records(c.f.network, c.r[3].env, c.r[3].len, other.env, other.len, &ev, &evl));
  fx_digest(s, before);
  long live = mem_live();
  struct ev_ctx e;
  memset(&e, 0, sizeof e);
  e.s = s;
  e.ev = ev;
  e.len = evl;
  int n, rc = -ENOMEM;
  for (n = 0; n < STEP_LIMIT; n++) {
    mem_fail_at(n);
    rc = store_write(s, store_evidence_fn, &e);
    int injected = mem_failed();
    mem_fail_at(-1);
    ASSERT_EQ(mem_live(), live);
    if (rc == 0) break;
    ASSERT(injected);
    if (rc != -ENOMEM) printf("    step %d: %s\n", n, kk_strerror(rc));
    ASSERT_EQ(rc, -ENOMEM);
    fx_digest(s, after);
    ASSERT(memcmp(before, after, 32) == 0);
  }
  ASSERT_OK(rc);
  ASSERT(n > 2);
  ASSERT_EQ(e.is_new, 1);
  struct store_txn *txn;
  uint64_t frozen = 0;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_frozen_at(txn, s, c.rec.pk, &frozen));
  store_txn_abort(txn);
  ASSERT_U64(frozen, 2);
  printf("    evidence: %d allocation failures stepped through\n", n);
  free(ev);
  fx_rec_free(&other);
  store_close(s);
  chain_free(&c);
}
