/*
 * Signatures: every bit of a record matters; tags separate domains; keys files.
 */
#include "test.h"
#include "fixture.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"
#include "../../node/base/buf.h"
#include "../../node/base/err.h"
#include "../../node/base/mem.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/rules.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* What ingest checks of a lone record, minus the chain: form and signature. */
static int record_checks(const uint8_t *env, size_t len)
{
  struct kk_envelope_view v;
  struct kk_body *b = fx_body(KK_PL_NONE);
  int rc = codec_envelope_split(env, len, &v);
  if (!rc) rc = codec_body_decode(v.body, v.body_len, b);
  if (!rc) rc = sig_verify(v.sig, SIG_TAG_RECORD, v.body, v.body_len, b->author) ? KK_ERR(SIGNATURE) : 0;
  free(b);
  return rc;
}

TEST(sig_every_bit_flip_fails)
{
  struct fx f;
  fx_network(&f, "bits");
  struct fx_member m;
  fx_member_init(&m);
  struct kk_body *b = fx_body(KK_PL_ISSUE);
  strcpy(b->u.issue.lot_code, "L");
  strcpy(b->u.issue.material, "PET");
  b->u.issue.mass_mg = 1000;
  b->u.issue.post_mg = 500;
  strcpy(b->u.issue.origin, "JP");
  strcpy(b->u.issue.scheme, "GRS");
  strcpy(b->u.issue.certificate, "C");
  b->u.issue.model = 3;
  struct fx_rec r = fx_sign(&f, &m, b);
  ASSERT_OK(record_checks(r.env, r.len));
  for (size_t i = 0; i < r.len * 8; i++) {
    r.env[i / 8] ^= (uint8_t)(1u << (i % 8));
    if (record_checks(r.env, r.len) == 0) FAIL("bit %zu flipped and the record still verifies", i);
    r.env[i / 8] ^= (uint8_t)(1u << (i % 8));
  }
  free(b);
  fx_rec_free(&r);
  fx_free(&f);
}

/* Signing a message too long for the stack buffer allocates; when that fails the
 * caller gets -ENOMEM to report (it used to abort the process: a node signing its own
 * record under memory pressure died). Verification likewise says -ENOMEM, not "bad". */
TEST(sig_sign_out_of_memory_is_an_error)
{
  uint8_t pk[32], sk[64], s[64], t[64];
  static uint8_t msg[4096];
  memset(msg, 7, sizeof msg);
  sig_keypair(pk, sk);
  memset(s, 0xaa, sizeof s);
  mem_fail_at(0);
  int rc = sig_sign(s, SIG_TAG_RECORD, msg, sizeof msg, sk);
  int failed = mem_failed();
  mem_fail_at(-1);
  ASSERT_EQ(rc, -ENOMEM);
  ASSERT(failed);
  for (size_t i = 0; i < sizeof s; i++) ASSERT_EQ(s[i], 0xaa); /* nothing written */
  ASSERT_OK(sig_sign(t, SIG_TAG_RECORD, msg, sizeof msg, sk));
  mem_fail_at(0);
  rc = sig_verify(t, SIG_TAG_RECORD, msg, sizeof msg, pk);
  mem_fail_at(-1);
  ASSERT_EQ(rc, -ENOMEM);
  ASSERT_EQ(sig_verify(t, SIG_TAG_RECORD, msg, sizeof msg, pk), 0);
}

TEST(sig_domain_separation)
{
  uint8_t pk[32], sk[64], s[64], msg[3] = { 1, 2, 3 };
  sig_keypair(pk, sk);
  ASSERT_OK(sig_sign(s, SIG_TAG_ROTATE, msg, 3, sk));
  ASSERT_EQ(sig_verify(s, SIG_TAG_ROTATE, msg, 3, pk), 0);
  ASSERT(sig_verify(s, SIG_TAG_RECORD, msg, 3, pk) != 0);
  uint8_t other[32], osk[64];
  sig_keypair(other, osk);
  ASSERT(sig_verify(s, SIG_TAG_ROTATE, msg, 3, other) != 0);
}

TEST(sig_flipped_records_are_not_stored)
{
  struct fx f;
  fx_network(&f, "flip");
  struct store *s = fx_store(&f, test_tmpdir());
  struct kk_body *b = fx_body(KK_PL_INCIDENT);
  strcpy(b->u.incident.kind, "test");
  struct fx_rec r = fx_sign(&f, &f.reg, b);
  uint8_t before[32], after[32];
  fx_digest(s, before);
  r.env[r.len - 1] ^= 1; /* last signature byte */
  ASSERT_EQ(fx_ingest(s, &r, 0), KK_ERR(SIGNATURE));
  r.env[r.len - 1] ^= 1;
  r.env[r.len - 70] ^= 0x10; /* a body byte */
  ASSERT(fx_ingest(s, &r, 0) < 0);
  fx_digest(s, after);
  ASSERT(memcmp(before, after, 32) == 0);
  struct store_txn *txn;
  uint64_t n;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_count_records(txn, s, &n));
  store_txn_abort(txn);
  ASSERT_U64(n, 1);
  r.env[r.len - 70] ^= 0x10;
  ASSERT_EQ(fx_ingest(s, &r, 0), 0);
  ASSERT_EQ(fx_ingest(s, &r, 0), INGEST_DUPLICATE);
  store_close(s);
  free(b);
  fx_rec_free(&r);
  fx_free(&f);
}

TEST(keys_file_permissions)
{
  uint8_t pk[32], sk[64], pk2[32], sk2[64];
  const char *dir = test_tmpdir();
  ASSERT_EQ(keys_load(dir, pk, sk), KK_ERR(NO_KEY));
  ASSERT_OK(keys_create(dir, pk, sk));
  ASSERT_EQ(keys_create(dir, pk2, sk2), KK_ERR(EXISTS));
  ASSERT_OK(keys_load(dir, pk2, sk2));
  ASSERT(memcmp(pk, pk2, 32) == 0 && memcmp(sk, sk2, 64) == 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, KEYS_FILE);
  struct stat st;
  ASSERT_OK(stat(path, &st));
  ASSERT_EQ(st.st_mode & 0777, 0600);
  ASSERT_OK(chmod(path, 0644));
  ASSERT_EQ(keys_load(dir, pk2, sk2), KK_ERR(KEY_PERMS));
  ASSERT_OK(chmod(path, 0600));
  /* a corrupted key file */
  FILE *fp = fopen(path, "r+");
  ASSERT(fp);
  fseek(fp, 30, SEEK_SET);
  fputc('z', fp);
  fclose(fp);
  ASSERT_EQ(keys_load(dir, pk2, sk2), KK_ERR(CORRUPT));
}

TEST(keys_rotation_file)
{
  uint8_t feed[32], sk[64], npk[32], nsk[64], pk2[32], sk2[64], signer[32];
  const char *dir = test_tmpdir();
  char path[4200], next[4200];
  snprintf(path, sizeof path, "%s/%s", dir, KEYS_FILE);
  snprintf(next, sizeof next, "%s/%s", dir, KEYS_NEXT);
  ASSERT_OK(keys_create(dir, feed, sk));
  sig_keypair(npk, nsk);
  /* The rotation's record was not committed: the pending key is dropped. */
  ASSERT_OK(keys_next_write(dir, feed, nsk));
  ASSERT_EQ(keys_next_settle(dir, feed), 0);
  ASSERT(access(next, F_OK) != 0);
  ASSERT_OK(keys_load(dir, pk2, sk2));
  ASSERT(memcmp(pk2, feed, 32) == 0 && memcmp(sk2, sk, 64) == 0);
  /* Committed: the new key becomes the identity, still naming the feed. */
  ASSERT_OK(keys_next_write(dir, feed, nsk));
  ASSERT_EQ(keys_next_settle(dir, npk), 1);
  ASSERT(access(next, F_OK) != 0);
  ASSERT_OK(keys_load(dir, pk2, sk2));
  ASSERT(memcmp(pk2, feed, 32) == 0 && memcmp(sk2, nsk, 64) == 0);
  sig_public(signer, sk2);
  ASSERT(memcmp(signer, npk, 32) == 0);
  struct stat st;
  ASSERT_OK(stat(path, &st));
  ASSERT_EQ(st.st_mode & 0777, 0600);
  ASSERT_EQ(keys_next_settle(dir, npk), 0); /* nothing pending */
  /* A feed line that is not one is refused. */
  FILE *fp = fopen(path, "a");
  ASSERT(fp);
  fputs("junk\n", fp);
  fclose(fp);
  ASSERT_OK(keys_load(dir, pk2, sk2)); /* only the first two lines are read */
  fp = fopen(path, "w");
  ASSERT(fp);
  fputs("kiroku-ed25519-v1 ", fp);
  for (int i = 0; i < 64; i++) fprintf(fp, "%02x", nsk[i]);
  fputs("\nfeed 12\n", fp);
  fclose(fp);
  ASSERT_EQ(keys_load(dir, pk2, sk2), KK_ERR(CORRUPT));
}

TEST(sig_bad_signature_in_a_large_batch)
{
  /* Large enough that signatures are verified on threads while the transaction is
   * written: the bad record and everything after it in its feed must stay out. */
  struct fx f;
  fx_network(&f, "batch");
  struct store *s = fx_store(&f, test_tmpdir());
  enum { N = 300, BAD = 150 };
  struct fx_rec *r = calloc(N, sizeof *r);
  struct ingest_item *it = calloc(N, sizeof *it);
  ASSERT(r && it);
  for (int i = 0; i < N; i++) {
    struct kk_body *b = fx_body(KK_PL_INCIDENT);
    snprintf(b->u.incident.kind, sizeof b->u.incident.kind, "i%d", i);
    r[i] = fx_sign(&f, &f.reg, b);
    free(b);
  }
  r[BAD].env[r[BAD].len - 1] ^= 0x80;
  for (int i = 0; i < N; i++) { it[i].env = r[i].env; it[i].len = r[i].len; }
  unsigned long judged = rules_judged;
  ASSERT_OK(ingest_batch(s, it, N, 0, 2));
  /* The rules ran once, on the records whose signatures held: the bad one made the
   * batch's writes run again, not its rules. */
  ASSERT_EQ(rules_judged - judged, BAD);
  for (int i = 0; i < N; i++) {
    if (i < BAD) ASSERT_EQ(it[i].result, 0);
    else if (i == BAD) ASSERT_EQ(it[i].result, KK_ERR(SIGNATURE));
    else if (i == BAD + 1) ASSERT_EQ(it[i].result, KK_ERR(PREV)); /* names the untampered id */
    else ASSERT_EQ(it[i].result, KK_ERR(SEQ_GAP));
  }
  struct store_txn *txn;
  uint64_t n;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_count_records(txn, s, &n));
  store_txn_abort(txn);
  ASSERT_U64(n, 1 + BAD);
  /* all or nothing: the same batch again writes nothing */
  memset(it, 0, N * sizeof *it);
  for (int i = 0; i < N; i++) { it[i].env = r[i].env; it[i].len = r[i].len; }
  ASSERT(ingest_batch(s, it, N, INGEST_ALL_OR_NOTHING, 2) < 0);
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_count_records(txn, s, &n));
  store_txn_abort(txn);
  ASSERT_U64(n, 1 + BAD);
  for (int i = 0; i < N; i++) fx_rec_free(&r[i]);
  free(r);
  free(it);
  store_close(s);
  fx_free(&f);
}

/* A RotateKey for m's next record, its proof signed by proof_sk. */
static struct kk_body *rotate_body(const struct fx_member *m, const uint8_t new_pk[32], const uint8_t proof_sk[64])
{
  struct kk_body *b = fx_body(KK_PL_ROTATE_KEY);
  uint8_t msg[40];
  memcpy(msg, m->pk, 32);
  be64_put(msg + 32, m->seq + 1);
  memcpy(b->u.rotate_key.new_key, new_pk, 32);
  if (sig_sign(b->u.rotate_key.proof, SIG_TAG_ROTATE, msg, sizeof msg, proof_sk)) abort();
  return b;
}

static int incident_by(struct fx *f, struct store *s, struct fx_member *m)
{
  struct fx_member saved = *m;
  struct kk_body *b = fx_body(KK_PL_INCIDENT);
  strcpy(b->u.incident.kind, "rotation");
  struct fx_rec r = fx_sign(f, m, b);
  int rc = fx_ingest(s, &r, 0);
  if (rc) *m = saved;
  fx_rec_free(&r);
  free(b);
  return rc;
}

TEST(sig_key_rotation)
{
  struct fx f;
  fx_network(&f, "rotate");
  struct store *s = fx_store(&f, test_tmpdir());
  uint8_t new_pk[32], new_sk[64], other_pk[32], other_sk[64];
  sig_keypair(new_pk, new_sk);
  sig_keypair(other_pk, other_sk);
  ASSERT_OK(incident_by(&f, s, &f.reg));

  /* A proof not made by the new key is refused, and nothing is stored. */
  struct fx_member saved = f.reg;
  struct kk_body *b = rotate_body(&f.reg, new_pk, other_sk);
  struct fx_rec r = fx_sign(&f, &f.reg, b);
  ASSERT_EQ(fx_ingest(s, &r, 0), KK_ERR(ROTATE_PROOF));
  fx_rec_free(&r);
  free(b);
  f.reg = saved;

  /* A proper rotation, signed by the old key. */
  b = rotate_body(&f.reg, new_pk, new_sk);
  r = fx_sign(&f, &f.reg, b);
  ASSERT_OK(fx_ingest(s, &r, 0));
  fx_rec_free(&r);
  free(b);

  /* From now on the old key's signature no longer counts; the new key's does. */
  ASSERT_EQ(incident_by(&f, s, &f.reg), KK_ERR(SIGNATURE));
  memcpy(f.reg.sk, new_sk, 64);
  ASSERT_OK(incident_by(&f, s, &f.reg));
  struct store_txn *txn;
  struct store_head h;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_head_get(txn, s, f.reg.pk, &h));
  store_txn_abort(txn);
  ASSERT_U64(h.seq, 4);                       /* genesis, incident, rotation, incident */
  ASSERT(memcmp(h.key, new_pk, 32) == 0);
  store_close(s);
  fx_free(&f);
}
