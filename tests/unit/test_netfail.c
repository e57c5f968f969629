/*
 * The daemon's connection checks, with real nodes in this process.
 *
 * net_fail: a send that fails (here: a peer that does not read, so the write queue
 * passes its limit) closes the connection on the next turn of the loop, never under
 * the caller's feet — a caller walking what closing frees (the fetches of a peer, the
 * list of connections) once used freed memory when net_send closed at once (issue 11).
 *
 * Two real nodes on 127.0.0.1 in this process, one loop: A's open handler floods B,
 * which cannot read while the handler runs.
 */
#include "test.h"
#include "fixture.h"
#include "../../crypto/sig.h"
#include "../../node/base/err.h"
#include "../../node/daemon/node.h"
#include "../../node/ledger/ingest.h"

#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

struct netfail {
  struct node a, b;
  int failed_send, kept_until_next_turn, later_send_fails, closed, stopped;
  uint64_t id;
};
static struct netfail *NF;

static void flood_open(struct conn *c)
{
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_PING;
  int rc = 0;
  for (size_t i = 0; i < 4000000 && rc == 0; i++) rc = net_send(c, &w);
  NF->failed_send = rc != 0;
  NF->id = c->id;
  /* still here, still this connection, not closing, and its close not yet heard */
  NF->kept_until_next_turn = net_find(&NF->a, c->id) == c && c->state != CONN_CLOSING && !NF->closed;
  NF->later_send_fails = net_send(c, &w) != 0;
}

static void flood_close(struct conn *c)
{
  (void)c;
  NF->closed = 1;
  if (!NF->stopped) {
    NF->stopped = 1;
    node_stop(&NF->a);
    node_stop(&NF->b);
  }
}

/* A data directory for member m of f's network: its key and a store holding the
 * genesis and every admission. */
static void member_dir(struct fx *f, const char *dir, const struct fx_member *m, const struct fx_rec *admits, size_t n)
{
  char path[4300], hex[129];
  ASSERT_OK(mkdir(dir, 0700));
  snprintf(path, sizeof path, "%s/identity.key", dir);
  FILE *fp = fopen(path, "w");
  ASSERT(fp);
  sig_hex(hex, m->sk, 64);
  fprintf(fp, "kiroku-ed25519-v1 %s\n", hex);
  fclose(fp);
  ASSERT_OK(chmod(path, 0600));
  struct store *s = fx_store(f, dir);
  for (size_t i = 0; i < n; i++) ASSERT_OK(fx_ingest(s, &admits[i], 0));
  store_close(s);
}

TEST(net_failed_send_closes_on_the_next_turn)
{
  struct fx f;
  struct fx_member m;
  fx_network(&f, "netfail");
  fx_member_init(&m);
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m.pk, 32);
  strcpy(b->u.admit.name, "m");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  struct fx_rec admit = fx_sign(&f, &f.reg, b);
  free(b);
  char da[4200], db[4200];
  snprintf(da, sizeof da, "%s/a", test_tmpdir());
  snprintf(db, sizeof db, "%s/b", test_tmpdir());
  member_dir(&f, da, &f.reg, &admit, 1);
  member_dir(&f, db, &m, &admit, 1);

  uv_loop_t loop;
  ASSERT_OK(uv_loop_init(&loop));
  NF = calloc(1, sizeof *NF);
  ASSERT(NF);
  const char *why;
  ASSERT_OK(node_init(&NF->a, &loop, da));
  ASSERT_OK(node_init(&NF->b, &loop, db));
  NF->a.standalone = NF->b.standalone = 1;
  NF->a.net.open = flood_open;
  NF->a.net.close = flood_close;
  ASSERT_OK(node_set_listen(&NF->a, "127.0.0.1:0", &why));
  ASSERT_OK(node_start(&NF->a));
  char peer[64];
  snprintf(peer, sizeof peer, "127.0.0.1:%d", NF->a.listen_port);
  ASSERT_OK(node_add_peer(&NF->b, peer, &why));
  ASSERT_OK(node_start(&NF->b));
  uv_run(&loop, UV_RUN_DEFAULT);
  ASSERT(NF->failed_send);
  ASSERT(NF->kept_until_next_turn);
  ASSERT(NF->later_send_fails);
  ASSERT(NF->closed);
  node_free(&NF->a);
  node_free(&NF->b);
  ASSERT_OK(uv_loop_close(&loop));
  free(NF);
  fx_rec_free(&admit);
  fx_free(&f);
}

/* A peer whose handshake verified with a key its feed rotated away from (a chain of
 * RotateKey records shorter than the one this node holds: a stolen older key) is
 * refused; the key the newest rotation leads to is welcome. */
TEST(node_refuses_a_key_rotated_away)
{
  struct fx f;
  struct fx_member m;
  uint8_t k2[32], s2[64], k3[32], s3[64];
  fx_network(&f, "stale");
  fx_member_init(&m);
  sig_keypair(k2, s2);
  sig_keypair(k3, s3);
  struct fx_rec r[3];
  struct kk_body *b = fx_body(KK_PL_ADMIT);
  memcpy(b->u.admit.member, m.pk, 32);
  strcpy(b->u.admit.name, "m");
  b->u.admit.roles = KK_ROLE_RECYCLER;
  r[0] = fx_sign(&f, &f.reg, b);
  free(b);
  uint8_t first[32];
  memcpy(first, m.pk, 32);
  r[1] = fx_rotate(&f, &m, k2, s2, NULL); /* seq 1 */
  r[2] = fx_rotate(&f, &m, k3, s3, NULL); /* seq 2 */
  char da[4200];
  snprintf(da, sizeof da, "%s/a", test_tmpdir());
  member_dir(&f, da, &f.reg, r, 3);
  uv_loop_t loop;
  ASSERT_OK(uv_loop_init(&loop));
  struct node *n = calloc(1, sizeof *n);
  ASSERT(n);
  ASSERT_OK(node_init(n, &loop, da));
  char name[64];
  const char *why = NULL;
  ASSERT_EQ(node_check_peer(n, first, k2, 1, NULL, 0, name, sizeof name, &why), KK_ERR(SIGNATURE));
  ASSERT(why && strstr(why, "rotated away"));
  ASSERT_EQ(node_check_peer(n, first, first, 0, NULL, 0, name, sizeof name, &why), KK_ERR(SIGNATURE));
  ASSERT_OK(node_check_peer(n, first, k3, 2, NULL, 0, name, sizeof name, &why));
  ASSERT(strcmp(name, "m") == 0);
  node_free(n);
  free(n);
  ASSERT_OK(uv_loop_close(&loop));
  for (int i = 0; i < 3; i++) fx_rec_free(&r[i]);
  fx_free(&f);
}
