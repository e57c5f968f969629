/*
 * fixture — signed records and stores for unit tests.
 */
#include "fixture.h"
#include "test.h"
#include "../../crypto/sig.h"
#include "../../node/base/buf.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/rules.h"

void fx_member_init(struct fx_member *m)
{
  memset(m, 0, sizeof *m);
  sig_keypair(m->pk, m->sk);
}

struct kk_body *fx_body(enum kk_payload kind)
{
  struct kk_body *b = calloc(1, sizeof *b);
  ASSERT(b);
  b->kind = kind;
  return b;
}

void fx_lotref(struct kk_lotref *r, const uint8_t id[32], uint32_t index)
{
  memcpy(r->record, id, 32);
  r->index = index;
}

struct fx_rec fx_sign(struct fx *f, struct fx_member *m, struct kk_body *b)
{
  struct fx_rec r;
  uint8_t *body, sig[64];
  size_t blen;
  b->version = CODEC_VERSION;
  b->has_network = b->kind != KK_PL_GENESIS;
  if (b->has_network) memcpy(b->network, f->network, 32);
  memcpy(b->author, m->pk, 32);
  b->seq = m->seq + 1;
  b->has_prev = m->seq > 0;
  if (b->has_prev) memcpy(b->prev, m->last, 32);
  b->time_ms = 1700000000000ull + b->seq;
  ASSERT_OK(codec_body_encode(b, &body, &blen));
  ASSERT_OK(sig_sign(sig, SIG_TAG_RECORD, body, blen, m->sk));
  ASSERT_OK(codec_envelope_join(body, blen, sig, &r.env, &r.len));
  free(body);
  sig_sha256(r.id, r.env, r.len);
  m->seq++;
  memcpy(m->last, r.id, 32);
  return r;
}

struct fx_rec fx_rotate(struct fx *f, struct fx_member *m, const uint8_t new_pk[32], const uint8_t new_sk[64],
                        const uint8_t *proof_sk)
{
  struct kk_body *b = fx_body(KK_PL_ROTATE_KEY);
  uint8_t msg[40];
  memcpy(msg, m->pk, 32);
  be64_put(msg + 32, m->seq + 1);
  memcpy(b->u.rotate_key.new_key, new_pk, 32);
  ASSERT_OK(sig_sign(b->u.rotate_key.proof, SIG_TAG_ROTATE, msg, sizeof msg, proof_sk ? proof_sk : new_sk));
  struct fx_rec r = fx_sign(f, m, b);
  free(b);
  memcpy(m->sk, new_sk, 64);
  return r;
}

void fx_rec_free(struct fx_rec *r)
{
  free(r->env);
  r->env = NULL;
}

void fx_free(struct fx *f)
{
  fx_rec_free(&f->genesis);
}

void fx_network(struct fx *f, const char *name)
{
  memset(f, 0, sizeof *f);
  fx_member_init(&f->reg);
  struct kk_body *b = fx_body(KK_PL_GENESIS);
  strcpy(b->u.genesis.name, name);
  f->genesis = fx_sign(f, &f->reg, b);
  memcpy(f->network, f->genesis.id, 32);
  free(b);
}

struct store *fx_store(struct fx *f, const char *dir)
{
  struct store *s;
  ASSERT_OK(store_open(&s, dir, 0));
  struct ingest_item it;
  memset(&it, 0, sizeof it);
  it.env = f->genesis.env;
  it.len = f->genesis.len;
  ASSERT_OK(ingest_batch(s, &it, 1, INGEST_ADOPT_GENESIS | INGEST_ALL_OR_NOTHING, 1));
  ASSERT_EQ(it.result, 0);
  return s;
}

int fx_ingest(struct store *s, const struct fx_rec *r, int flags)
{
  struct ingest_item it;
  memset(&it, 0, sizeof it);
  it.env = r->env;
  it.len = r->len;
  int rc = ingest_batch(s, &it, 1, flags, 1);
  return rc ? rc : it.result;
}

int fx_verdict(struct store *s, const uint8_t id[32], int *err)
{
  struct store_txn *txn;
  struct rules_status st;
  ASSERT_OK(store_read(s, &txn));
  int rc = rules_status_get(txn, s, id, &st);
  store_txn_abort(txn);
  if (rc) return 0;
  if (err) *err = st.err;
  return st.verdict;
}

void fx_digest(struct store *s, uint8_t out[32])
{
  struct store_txn *txn;
  ASSERT_OK(store_read(s, &txn));
  ASSERT_OK(store_digest(txn, s, out));
  store_txn_abort(txn);
}
