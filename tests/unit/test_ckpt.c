/*
 * Checkpoints, witnessing and evidence of equivocation, on stores without a network:
 * what an author signs, what a witness cosigns (and refuses to), and how two stores
 * that saw different branches of a fork end in the same state.
 */
#include "test.h"
#include <sys/stat.h>
#include "fixture.h"
#include "../../crypto/merkle.h"
#include "../../crypto/note.h"
#include "../../node/ledger/ckpt.h"
#include "../../node/base/err.h"
#include "../../node/ledger/evidence.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/rules.h"
#include "../../node/ledger/tree.h"
#include "../../node/ledger/store_lmdb.h"
#include "../../node/ledger/ckpt_note.h"
#include "../../node/daemon/repl.h"
#include "../../node/base/mem.h"

static struct fx_rec admit_rec(struct fx *f, const struct fx_member *m, const char *name, uint32_t roles)
{
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m->pk, 32);
  strcpy(b->u.admit.name, name);
  b->u.admit.roles = roles;
  strcpy(b->u.admit.country, "JP");
  struct fx_rec r = fx_sign(f, &f->reg, b);
  free(b);
  return r;
}

static struct fx_rec issue_rec(struct fx *f, struct fx_member *m, const char *code)
{
  struct kk_body *b = fx_body(KK_PL_ISSUE);
  strcpy(b->u.issue.lot_code, code);
  strcpy(b->u.issue.material, "PET");
  b->u.issue.mass_mg = 1000;
  b->u.issue.post_mg = 500;
  strcpy(b->u.issue.origin, "JP");
  strcpy(b->u.issue.scheme, "GRS");
  strcpy(b->u.issue.certificate, code);
  b->u.issue.model = KK_MODEL_SEGREGATED;
  struct fx_rec r = fx_sign(f, m, b);
  free(b);
  return r;
}

static struct store *open_in(struct fx *f, const char *name)
{
  char d[4200];
  snprintf(d, sizeof d, "%s/%s", test_tmpdir(), name);
  ASSERT_OK(mkdir(d, 0700));
  return fx_store(f, d);
}

/* What the store_write callbacks below need. */
struct txn_ctx {
  struct store *s;
  struct fx *f;
  const struct fx_member *self;
  const char *note;
  size_t len;
  struct ckpt_seen seen;
  uint64_t size;
};

static int own_fn(struct store_txn *txn, void *arg)
{
  struct txn_ctx *c = arg;
  return ckpt_sign_own(txn, c->s, c->f->network, c->self->pk, c->self->sk, &c->size);
}

static int recv_fn(struct store_txn *txn, void *arg)
{
  struct txn_ctx *c = arg;
  return ckpt_receive(txn, c->s, c->f->network, c->self->pk, c->self->sk, c->note, c->len, 1700000000, &c->seen);
}

static char *newest(struct store *s, const uint8_t author[32], size_t *len)
{
  struct store_txn *txn;
  char *note = NULL;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(ckpt_get(txn, s, author, 0, &note, len, NULL));
  store_txn_abort(txn);
  return note;
}

static int receive(struct store *s, struct fx *f, const struct fx_member *self, const char *note, struct ckpt_seen *seen)
{
  struct txn_ctx c;
  memset(&c, 0, sizeof c);
  c.s = s;
  c.f = f;
  c.self = self;
  c.note = note;
  c.len = strlen(note);
  int rc = store_write(s, recv_fn, &c);
  *seen = c.seen;
  return rc;
}

TEST(ckpt_sign_witness_and_refuse)
{
  struct fx f;
  struct fx_member m, w;
  fx_network(&f, "ckpt");
  fx_member_init(&m);
  fx_member_init(&w);
  struct fx_rec am = admit_rec(&f, &m, "author", KK_ROLE_RECYCLER), aw = admit_rec(&f, &w, "witness", KK_ROLE_PROCESSOR);
  struct fx_rec r[4];
  const char *codes[4] = { "A", "B", "C", "D" };
  for (int i = 0; i < 4; i++) r[i] = issue_rec(&f, &m, codes[i]);
  struct store *a = open_in(&f, "author"), *b = open_in(&f, "witness");
  struct store *both[2] = { a, b };
  for (int k = 0; k < 2; k++) {
    ASSERT_OK(fx_ingest(both[k], &am, 0));
    ASSERT_OK(fx_ingest(both[k], &aw, 0));
    for (int i = 0; i < 3; i++) ASSERT_OK(fx_ingest(both[k], &r[i], 0));
  }
  /* The author signs its head; nothing more to sign until the feed grows. */
  struct txn_ctx oc;
  memset(&oc, 0, sizeof oc);
  oc.s = a;
  oc.f = &f;
  oc.self = &m;
  ASSERT_OK(store_write(a, own_fn, &oc));
  ASSERT_U64(oc.size, 3);
  ASSERT_OK(store_write(a, own_fn, &oc));
  ASSERT_U64(oc.size, 0);
  size_t len;
  char *note = newest(a, m.pk, &len);
  struct ckpt_view v;
  ASSERT_OK(ckpt_parse(note, len, &v));
  ASSERT_U64(v.size, 3);
  ASSERT(memcmp(v.author, m.pk, 32) == 0 && memcmp(v.network, f.network, 32) == 0);
  char origin[CKPT_ORIGIN_MAX];
  ckpt_origin(origin, f.network, m.pk);
  ASSERT_OK(note_verify(note, len, origin, m.pk));

  /* The witness holds the same records: it stores and cosigns. */
  struct ckpt_seen seen;
  ASSERT_OK(receive(b, &f, &w, note, &seen));
  ASSERT(seen.new_checkpoint && seen.cosigned && !seen.conflict && !seen.evidence);
  size_t wl;
  char *wnote = newest(b, m.pk, &wl);
  char wname[CKPT_WITNESS_NAME_MAX];
  ckpt_witness_name(wname, w.pk);
  uint64_t t;
  ASSERT_OK(note_verify_cosignature(wnote, wl, wname, w.pk, &t));
  ASSERT_U64(t, 1700000000);
  /* Back at the author: the cosignature is new, the checkpoint is not. */
  ASSERT_OK(receive(a, &f, &m, wnote, &seen));
  ASSERT(!seen.new_checkpoint && seen.new_cosigs == 1 && !seen.cosigned);
  /* Hearing it again changes nothing. */
  ASSERT_OK(receive(b, &f, &w, wnote, &seen));
  ASSERT(!seen.new_checkpoint && !seen.new_cosigs && !seen.cosigned);
  free(wnote);

  /* Tampered root, other network, garbage: refused, nothing stored. */
  char *bad = strdup(note);
  char *nl = strchr(strchr(bad, '\n') + 1, '\n') + 1; /* the root line */
  nl[0] = nl[0] == 'A' ? 'B' : 'A';
  ASSERT_EQ(receive(b, &f, &w, bad, &seen), KK_ERR(CHECKPOINT));
  free(bad);
  struct fx other;
  fx_network(&other, "other");
  ASSERT_EQ(receive(b, &other, &w, note, &seen), KK_ERR(CHECKPOINT));
  fx_free(&other);
  ASSERT_EQ(receive(b, &f, &w, "kiroku/xyz\n3\nAAAA\n\n", &seen), KK_ERR(CHECKPOINT));
  free(note);

  /* The feed grows: the witness cosigns the next checkpoint after checking it extends
   * the one it cosigned. */
  ASSERT_OK(fx_ingest(a, &r[3], 0));
  ASSERT_OK(fx_ingest(b, &r[3], 0));
  ASSERT_OK(store_write(a, own_fn, &oc));
  ASSERT_U64(oc.size, 4);
  note = newest(a, m.pk, &len);
  ASSERT_OK(receive(b, &f, &w, note, &seen));
  ASSERT(seen.new_checkpoint && seen.cosigned);
  free(note);

  /* A validly signed checkpoint whose root is not the witness's tree: a fork. The
   * witness neither stores nor cosigns it (size 3: no checkpoint of that size is kept
   * any more, the one of size 4 has as many cosignatures). */
  uint8_t wrong[32];
  char text[CKPT_ORIGIN_MAX + 80];
  memset(wrong, 0x5a, 32);
  ASSERT_OK(note_checkpoint_text(text, sizeof text, origin, 3, wrong));
  char *forged3 = note_sign(text, origin, m.sk, m.pk);
  ASSERT_OK(receive(b, &f, &w, forged3, &seen));
  ASSERT(seen.conflict && !seen.new_checkpoint && !seen.cosigned && !seen.evidence);
  free(forged3);
  /* Of size 4, it contradicts the checkpoint the witness holds: evidence. */
  ASSERT_OK(note_checkpoint_text(text, sizeof text, origin, 4, wrong));
  char *forged = note_sign(text, origin, m.sk, m.pk);
  ASSERT_OK(receive(b, &f, &w, forged, &seen));
  ASSERT(seen.evidence && !seen.cosigned);

  /* A third store without the records holds the honest checkpoint of size 4; the
   * conflicting one of the same size is evidence, and freezes the feed at 4. */
  struct store *c = open_in(&f, "third");
  ASSERT_OK(fx_ingest(c, &am, 0));
  ASSERT_OK(fx_ingest(c, &aw, 0));
  note = newest(a, m.pk, &len);
  ASSERT_OK(receive(c, &f, &w, note, &seen));
  ASSERT(seen.new_checkpoint && !seen.cosigned); /* cannot vouch without the records */
  ASSERT_OK(receive(c, &f, &w, forged, &seen));
  ASSERT(seen.evidence);
  struct store_txn *txn;
  const uint8_t *ev;
  size_t evl;
  uint64_t frozen;
  ASSERT_OK(store_read(c, &txn));
  ASSERT_OK(evidence_get(txn, c, seen.evidence_id, &ev, &evl));
  struct evidence_info info;
  ASSERT_OK(evidence_check(ev, evl, NULL, &info));
  ASSERT_EQ(info.kind, EVIDENCE_CHECKPOINTS);
  ASSERT_U64(info.seq, 4);
  ASSERT_OK(store_frozen_at(txn, c, m.pk, &frozen));
  ASSERT_U64(frozen, 4);
  store_txn_abort(txn);
  free(note);
  free(forged);

  store_close(a);
  store_close(b);
  store_close(c);
  fx_rec_free(&am);
  fx_rec_free(&aw);
  for (int i = 0; i < 4; i++) fx_rec_free(&r[i]);
  fx_free(&f);
}

/* A batch of checkpoints from peers, taken by the daemon's writer (repl_run_job, a
 * JOB_CHECKPOINT job): one of them contradicts a checkpoint already held (the same
 * author and size, another root: evidence), one is not a checkpoint at all, one is good.
 * The good one is taken all the same — a bad checkpoint once dropped the whole batch,
 * from every peer. */
TEST(ckpt_batch_keeps_the_good_ones)
{
  struct fx f;
  struct fx_member m, x, w;
  fx_network(&f, "ckpt-batch");
  fx_member_init(&m);
  fx_member_init(&x);
  fx_member_init(&w);
  struct fx_rec adm[3] = { admit_rec(&f, &m, "author", KK_ROLE_RECYCLER), admit_rec(&f, &x, "second", KK_ROLE_RECYCLER),
                           admit_rec(&f, &w, "witness", KK_ROLE_PROCESSOR) };
  struct fx_rec rm[2] = { issue_rec(&f, &m, "M1"), issue_rec(&f, &m, "M2") };
  struct fx_rec rx = issue_rec(&f, &x, "X1");
  struct store *sm = open_in(&f, "batch-m"), *sx = open_in(&f, "batch-x"), *sw = open_in(&f, "batch-w");
  struct store *all[3] = { sm, sx, sw };
  for (int k = 0; k < 3; k++) {
    for (int i = 0; i < 3; i++) ASSERT_OK(fx_ingest(all[k], &adm[i], 0));
    for (int i = 0; i < 2; i++) ASSERT_OK(fx_ingest(all[k], &rm[i], 0));
    ASSERT_OK(fx_ingest(all[k], &rx, 0));
  }
  struct txn_ctx oc;
  memset(&oc, 0, sizeof oc);
  oc.f = &f;
  oc.s = sm;
  oc.self = &m;
  ASSERT_OK(store_write(sm, own_fn, &oc));
  oc.s = sx;
  oc.self = &x;
  ASSERT_OK(store_write(sx, own_fn, &oc));
  size_t lm, lx;
  char *note_m = newest(sm, m.pk, &lm), *note_x = newest(sx, x.pk, &lx);
  /* The witness holds m's checkpoint; then a second one of m at the same size. */
  struct ckpt_seen seen;
  ASSERT_OK(receive(sw, &f, &w, note_m, &seen));
  char origin[CKPT_ORIGIN_MAX], text[CKPT_ORIGIN_MAX + 80];
  uint8_t other_root[32];
  memset(other_root, 0x5a, 32);
  ckpt_origin(origin, f.network, m.pk);
  ASSERT_OK(note_checkpoint_text(text, sizeof text, origin, 2, other_root));
  char *forged = note_sign(text, origin, m.sk, m.pk);
  ASSERT(forged != NULL);
  const char *batch[3] = { forged, "not a checkpoint\n", note_x };
  struct ingest_job *j = mem_calloc(1, sizeof *j);
  ASSERT(j != NULL);
  j->kind = JOB_CHECKPOINT;
  j->n = 3;
  j->envs = mem_calloc(3, sizeof *j->envs);
  j->lens = mem_calloc(3, sizeof *j->lens);
  j->conns = mem_calloc(3, sizeof *j->conns);
  ASSERT(j->envs && j->lens && j->conns);
  for (int i = 0; i < 3; i++) {
    j->lens[i] = strlen(batch[i]);
    ASSERT((j->envs[i] = mem_alloc(j->lens[i])) != NULL);
    memcpy(j->envs[i], batch[i], j->lens[i]);
    j->conns[i] = (uint64_t)i + 1;
  }
  static struct node n;
  n.s = sw;
  memcpy(n.pk, w.pk, 32);
  memcpy(n.sk, w.sk, 64);
  memcpy(n.network, f.network, 32);
  repl_run_job(&n, j);
  ASSERT_OK(j->rc);
  int evidence_noted = 0;
  for (size_t i = 0; i < j->n_notes; i++) evidence_noted |= j->notes[i].kind == JOB_EVIDENCE;
  ASSERT(evidence_noted); /* the contradiction was put on record */
  repl_job_free(j);
  size_t got_len;
  char *got = newest(sw, x.pk, &got_len); /* the good one was taken */
  struct ckpt_view v;
  ASSERT_OK(ckpt_parse(got, got_len, &v));
  ASSERT_U64(v.size, 1);
  ASSERT(memcmp(v.author, x.pk, 32) == 0);
  mem_free(got);
  mem_free(forged);
  mem_free(note_m);
  mem_free(note_x);
  for (int k = 0; k < 3; k++) store_close(all[k]);
  for (int i = 0; i < 3; i++) fx_rec_free(&adm[i]);
  for (int i = 0; i < 2; i++) fx_rec_free(&rm[i]);
  fx_rec_free(&rx);
  fx_free(&f);
}

TEST(evidence_fork_freezes_and_converges)
{
  struct fx f;
  struct fx_member m;
  fx_network(&f, "fork");
  fx_member_init(&m);
  struct fx_rec am = admit_rec(&f, &m, "forker", KK_ROLE_RECYCLER);
  struct fx_rec r1 = issue_rec(&f, &m, "ONE");
  struct fx_member branch = m;
  struct fx_rec ra = issue_rec(&f, &m, "A");
  struct fx_rec rb = issue_rec(&f, &branch, "B");
  ASSERT_U64(m.seq, branch.seq);
  struct store *x = open_in(&f, "x"), *y = open_in(&f, "y");
  ASSERT_OK(fx_ingest(x, &am, 0));
  ASSERT_OK(fx_ingest(y, &am, 0));
  ASSERT_OK(fx_ingest(x, &r1, 0));
  ASSERT_OK(fx_ingest(y, &r1, 0));
  /* Each store holds (and has applied) one branch, then sees the other. */
  ASSERT_OK(fx_ingest(x, &ra, 0));
  ASSERT_OK(fx_ingest(y, &rb, 0));
  ASSERT_EQ(fx_verdict(x, ra.id, NULL), RULES_VALID);
  ASSERT_EQ(fx_ingest(x, &rb, 0), KK_ERR(FORK));
  ASSERT_EQ(fx_ingest(y, &ra, 0), KK_ERR(FORK));
  /* Frozen at seq 2: the member's feed is r1, then the fork. */
  struct store_txn *tx, *ty;
  uint64_t fx_, fy;
  ASSERT_OK(store_read(x, &tx));
  ASSERT_OK(store_read(y, &ty));
  ASSERT_OK(store_frozen_at(tx, x, m.pk, &fx_));
  ASSERT_OK(store_frozen_at(ty, y, m.pk, &fy));
  ASSERT_U64(fx_, 2);
  ASSERT_U64(fy, 2);
  /* The same evidence bytes on both. */
  MDB_cursor *cx, *cy;
  MDB_val kx, vx, ky, vy;
  ASSERT_OK(mdb_cursor_open(txn_lmdb(tx), x->evidence, &cx));
  ASSERT_OK(mdb_cursor_open(txn_lmdb(ty), y->evidence, &cy));
  ASSERT_OK(mdb_cursor_get(cx, &kx, &vx, MDB_FIRST));
  ASSERT_OK(mdb_cursor_get(cy, &ky, &vy, MDB_FIRST));
  ASSERT(vx.mv_size == vy.mv_size && memcmp(vx.mv_data, vy.mv_data, vx.mv_size) == 0);
  ASSERT(mdb_cursor_get(cx, &kx, &vx, MDB_NEXT) == MDB_NOTFOUND);
  struct evidence_info info;
  ASSERT_OK(evidence_check(vy.mv_data, vy.mv_size, NULL, &info));
  ASSERT_EQ(info.kind, EVIDENCE_RECORDS);
  ASSERT_U64(info.seq, 2);
  /* Any flipped byte: not evidence any more. */
  uint8_t *copy = malloc(vy.mv_size);
  for (size_t i = 0; i < vy.mv_size; i++) {
    memcpy(copy, vy.mv_data, vy.mv_size);
    copy[i] ^= 0x04;
    ASSERT(evidence_check(copy, vy.mv_size, NULL, &info) != 0);
  }
  free(copy);
  mdb_cursor_close(cx);
  mdb_cursor_close(cy);
  store_txn_abort(tx);
  store_txn_abort(ty);
  /* Neither branch applied on either store; the earlier record still is. */
  ASSERT_EQ(fx_verdict(x, ra.id, NULL), 0);
  ASSERT_EQ(fx_verdict(y, rb.id, NULL), 0);
  ASSERT_EQ(fx_verdict(x, r1.id, NULL), RULES_VALID);
  uint8_t d1[32], d2[32];
  fx_digest(x, d1);
  fx_digest(y, d2);
  ASSERT(memcmp(d1, d2, 32) == 0);
  /* Not evidence: the same record twice, records of different seqs. */
  uint8_t *e;
  size_t el;
  ASSERT_OK(evidence_from_records(f.network, r1.env, r1.len, ra.env, ra.len, &e, &el));
  ASSERT_EQ(evidence_check(e, el, NULL, &info), KK_ERR(EVIDENCE));
  free(e);
  ASSERT_OK(evidence_from_records(f.network, ra.env, ra.len, ra.env, ra.len, &e, &el));
  ASSERT(evidence_check(e, el, NULL, &info) != 0);
  free(e);
  store_close(x);
  store_close(y);
  fx_rec_free(&am);
  fx_rec_free(&r1);
  fx_rec_free(&ra);
  fx_rec_free(&rb);
  fx_free(&f);
}

static size_t count_unverified(struct store *s)
{
  struct store_txn *txn;
  uint64_t n;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_entries(txn, s, STORE_N_UNVERIFIED, &n));
  store_txn_abort(txn);
  return n;
}

/* Ingests records with a checkpoint-sync offer; returns how many were taken on the
 * checkpoint's word. */
static size_t ingest_synced(struct store *s, struct fx_rec *r, size_t n, struct ingest_ckpt *c)
{
  struct ingest_item it[8];
  memset(it, 0, sizeof it);
  for (size_t i = 0; i < n; i++) {
    it[i].env = r[i].env;
    it[i].len = r[i].len;
    it[i].ckpt = c;
  }
  ASSERT_OK(ingest_batch(s, it, n, 0, 0));
  size_t by = 0;
  for (size_t i = 0; i < n; i++) {
    ASSERT_EQ(it[i].result, 0);
    by += it[i].by_ckpt != 0;
  }
  return by;
}

TEST(ckpt_sync_takes_records_on_a_cosigned_checkpoint)
{
  struct fx f;
  struct fx_member m, w, me;
  fx_network(&f, "sync");
  fx_member_init(&m);
  fx_member_init(&w);
  fx_member_init(&me);
  struct fx_rec am = admit_rec(&f, &m, "author", KK_ROLE_RECYCLER), aw = admit_rec(&f, &w, "witness", KK_ROLE_PROCESSOR);
  struct fx_rec r[4];
  const char *codes[4] = { "A", "B", "C", "D" };
  for (int i = 0; i < 4; i++) r[i] = issue_rec(&f, &m, codes[i]);
  struct store *a = open_in(&f, "author"), *b = open_in(&f, "fresh");
  ASSERT_OK(fx_ingest(a, &am, 0));
  ASSERT_OK(fx_ingest(a, &aw, 0));
  for (int i = 0; i < 4; i++) ASSERT_OK(fx_ingest(a, &r[i], 0));
  struct txn_ctx oc;
  memset(&oc, 0, sizeof oc);
  oc.s = a;
  oc.f = &f;
  oc.self = &m;
  ASSERT_OK(store_write(a, own_fn, &oc));
  size_t len;
  char *note = newest(a, m.pk, &len);
  /* What the fresh node hears: the checkpoint, first without, then with a cosignature. */
  ASSERT_OK(fx_ingest(b, &am, 0));
  ASSERT_OK(fx_ingest(b, &aw, 0));
  struct ckpt_seen seen;
  ASSERT_OK(receive(b, &f, &me, note, &seen));
  ASSERT(seen.new_checkpoint);
  /* The sender's proofs, from its tree: sizes 2 -> 4 and 4 -> 4. */
  uint8_t proof[TREE_MAX_PROOF][32];
  size_t np;
  struct store_txn *txn;
  ASSERT_OK(store_read(a, &txn));
  ASSERT_OK(tree_consistency(txn, a, m.pk, 2, 4, proof, &np));
  store_txn_abort(txn);
  struct ingest_ckpt c1;
  memset(&c1, 0, sizeof c1);
  memcpy(c1.author, m.pk, 32);
  c1.size = 4;
  c1.n_proof = np;
  c1.proof = (const uint8_t(*)[32])proof;
  /* Not cosigned yet: every signature is checked as usual. */
  struct store *b0 = open_in(&f, "fresh0");
  ASSERT_OK(fx_ingest(b0, &am, 0));
  ASSERT_OK(fx_ingest(b0, &aw, 0));
  ASSERT_OK(receive(b0, &f, &me, note, &seen));
  ASSERT_EQ(ingest_synced(b0, r, 2, &c1), 0);
  ASSERT_EQ(count_unverified(b0), 0);
  store_close(b0);
  /* Cosigned: the records are taken on its word and wait for the background check. */
  char wname[CKPT_WITNESS_NAME_MAX], text[512];
  struct ckpt_view v;
  ASSERT_OK(ckpt_parse(note, len, &v));
  memcpy(text, note, v.text_len);
  text[v.text_len] = 0;
  ckpt_witness_name(wname, w.pk);
  char *line = note_cosign_line(text, wname, 1700000000, w.sk, w.pk);
  char *cosigned = malloc(len + strlen(line) + 1);
  strcpy(cosigned, note);
  strcat(cosigned, line);
  ASSERT_OK(receive(b, &f, &me, cosigned, &seen));
  ASSERT_EQ(seen.new_cosigs, 1);
  memset(&c1, 0, sizeof c1);
  memcpy(c1.author, m.pk, 32);
  c1.size = 4;
  c1.n_proof = np;
  c1.proof = (const uint8_t(*)[32])proof;
  ASSERT_EQ(ingest_synced(b, r, 2, &c1), 2);
  ASSERT_EQ(count_unverified(b), 2);
  /* A record of another feed slipped into the same answer is checked as usual: a bad
   * signature there is refused, whatever the proof says. */
  struct fx_member y;
  fx_member_init(&y);
  struct fx_rec ry = issue_rec(&f, &y, "Y");
  ry.env[ry.len - 1] ^= 1;
  struct ingest_item slipped;
  memset(&slipped, 0, sizeof slipped);
  slipped.env = ry.env;
  slipped.len = ry.len;
  slipped.ckpt = &c1;
  ASSERT_OK(ingest_batch(b, &slipped, 1, 0, 0));
  ASSERT_EQ(slipped.result, KK_ERR(SIGNATURE));
  ASSERT(!slipped.by_ckpt);
  fx_rec_free(&ry);
  /* A proof that does not hold (from seq 3 to 4): the record is checked like any other.
   * (A range that ends at the checkpoint's size needs no proof: its root must equal the
   * checkpoint's.) */
  struct ingest_ckpt c2;
  memset(&c2, 0, sizeof c2);
  memcpy(c2.author, m.pk, 32);
  c2.size = 4;
  uint8_t wrong[1][32];
  memset(wrong, 7, sizeof wrong);
  c2.n_proof = 1;
  c2.proof = (const uint8_t(*)[32])wrong;
  ASSERT_EQ(ingest_synced(b, r + 2, 1, &c2), 0);
  ASSERT_EQ(count_unverified(b), 2);
  ASSERT_OK(fx_ingest(b, &r[3], 0));
  ASSERT_EQ(fx_verdict(b, r[3].id, NULL), RULES_VALID);
  /* The same state as a node that checked every signature. */
  uint8_t d1[32], d2[32];
  fx_digest(a, d1);
  fx_digest(b, d2);
  ASSERT(memcmp(d1, d2, 32) == 0);
  /* A witness does not vouch for records whose signatures wait for their check. */
  uint64_t size;
  ASSERT_OK(store_read(b, &txn));
  ASSERT_OK(ckpt_witness(txn, b, f.network, me.pk, me.sk, m.pk, 1, &size));
  ASSERT_U64(size, 0);
  store_txn_abort(txn);
  free(line);
  free(cosigned);
  free(note);
  store_close(a);
  store_close(b);
  fx_rec_free(&am);
  fx_rec_free(&aw);
  for (int i = 0; i < 4; i++) fx_rec_free(&r[i]);
  fx_free(&f);
}

TEST(evidence_bad_record_under_a_checkpoint)
{
  struct fx f;
  struct fx_member m;
  fx_network(&f, "badrec");
  fx_member_init(&m);
  struct fx_rec r1 = issue_rec(&f, &m, "ONE"), r2 = issue_rec(&f, &m, "TWO");
  /* r2 with its signature spoiled, and a checkpoint the author signs over [r1, bad]. */
  uint8_t *bad = malloc(r2.len);
  memcpy(bad, r2.env, r2.len);
  bad[r2.len - 1] ^= 1;
  uint8_t l0[32], l1[32], root[32], proof[1][32];
  merkle_leaf_hash(l0, r1.env, r1.len);
  merkle_leaf_hash(l1, bad, r2.len);
  merkle_node_hash(root, l0, l1);
  memcpy(proof[0], l0, 32);
  char origin[CKPT_ORIGIN_MAX], text[CKPT_ORIGIN_MAX + 80];
  ckpt_origin(origin, f.network, m.pk);
  ASSERT_OK(note_checkpoint_text(text, sizeof text, origin, 2, root));
  char *note = note_sign(text, origin, m.sk, m.pk);
  uint8_t *ev;
  size_t evl;
  struct evidence_info info;
  ASSERT_OK(evidence_from_bad_record(f.network, m.pk, note, strlen(note), bad, r2.len, (const uint8_t(*)[32])proof, 1,
                                     &ev, &evl));
  ASSERT_OK(evidence_check(ev, evl, NULL, &info));
  ASSERT_EQ(info.kind, EVIDENCE_BAD_RECORD);
  ASSERT_U64(info.seq, 2);
  for (size_t i = 0; i < evl; i++) {
    ev[i] ^= 0x20;
    ASSERT(evidence_check(ev, evl, NULL, &info) != 0);
    ev[i] ^= 0x20;
  }
  free(ev);
  /* The same with the good record: not evidence (its signature verifies, and it is
   * not the leaf the checkpoint holds). */
  ASSERT_OK(evidence_from_bad_record(f.network, m.pk, note, strlen(note), r2.env, r2.len, (const uint8_t(*)[32])proof, 1,
                                     &ev, &evl));
  ASSERT_EQ(evidence_check(ev, evl, NULL, &info), KK_ERR(EVIDENCE));
  free(ev);
  free(note);
  free(bad);
  fx_rec_free(&r1);
  fx_rec_free(&r2);
  fx_free(&f);
}
