/*
 * node — start-up, membership checks, housekeeping and clean shutdown.
 */
#include "node.h"
#include "err.h"
#include "log.h"
#include "rules.h"
#include "../crypto/keys.h"
#include "../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NODE_TICK_MS 1000

uint64_t node_now(struct node *n)
{
  return uv_now(n->loop);
}

static int split_hostport(const char *hp, char *host, size_t hn, int *port)
{
  const char *colon = strrchr(hp, ':');
  if (!colon || colon == hp || !colon[1]) return KK_ERR(USAGE);
  size_t l = (size_t)(colon - hp);
  if (hp[0] == '[' && colon[-1] == ']') { hp++; l -= 2; } /* [::1]:7000 */
  if (l >= hn) return KK_ERR(USAGE);
  memcpy(host, hp, l);
  host[l] = 0;
  char *end;
  long p = strtol(colon + 1, &end, 10);
  if (*end || p < 0 || p > 65535) return KK_ERR(USAGE);
  *port = (int)p;
  return 0;
}

int node_set_listen(struct node *n, const char *hostport)
{
  return split_hostport(hostport, n->listen_host, sizeof n->listen_host, &n->listen_port);
}

int node_add_peer(struct node *n, const char *hostport)
{
  if (n->n_peers == NODE_MAX_PEERS) return KK_ERR(TOO_LARGE);
  struct peer_cfg *p = &n->peers[n->n_peers];
  memset(p, 0, sizeof *p);
  int rc = split_hostport(hostport, p->host, sizeof p->host, &p->port);
  if (rc) return rc;
  p->n = n;
  n->n_peers++;
  return 0;
}

int node_init(struct node *n, uv_loop_t *loop, const char *dir)
{
  memset(n, 0, sizeof *n);
  n->loop = loop;
  n->dir = dir;
  int rc = keys_load(dir, n->pk, n->sk);
  if (rc) return rc;
  if ((rc = store_open(&n->s, dir, 0))) return rc;
  MDB_txn *txn;
  if ((rc = store_read(n->s, &txn))) return rc;
  const void *v;
  size_t vn;
  rc = store_meta_get(txn, n->s, "network", &v, &vn);
  if (rc == 0 && vn == 32) memcpy(n->network, v, 32);
  int rc2 = store_meta_get(txn, n->s, "registry", &v, &vn);
  if (rc2 == 0 && vn == 32) memcpy(n->registry, v, 32);
  mdb_txn_abort(txn);
  if (rc || rc2) return KK_ERR(NOT_INIT);
  return 0;
}

int node_admission(struct node *n, uint8_t **env, size_t *len)
{
  MDB_txn *txn;
  struct member m;
  const uint8_t *e;
  size_t l;
  *env = NULL;
  *len = 0;
  if (store_read(n->s, &txn)) return 0;
  if (rules_member_get(txn, n->s, n->pk, &m) == 0 && !(m.roles & KK_ROLE_REGISTRY) &&
      store_record_by_id(txn, n->s, m.admitted_by, NULL, NULL, &e, &l) == 0) {
    *env = malloc(l);
    if (*env) { memcpy(*env, e, l); *len = l; }
  }
  mdb_txn_abort(txn);
  return 0;
}

/* An Admit record for `peer`, signed by the registry of our network. */
static int valid_admission(struct node *n, const uint8_t peer[32], const uint8_t *env, size_t len)
{
  struct kk_envelope_view ev;
  struct kk_body *b = malloc(sizeof *b);
  int ok = 0;
  if (!b) return 0;
  if (codec_envelope_split(env, len, &ev) == 0 && codec_body_decode(ev.body, ev.body_len, b) == 0 &&
      b->kind == KK_PL_ADMIT && b->has_network && memcmp(b->network, n->network, 32) == 0 &&
      memcmp(b->author, n->registry, 32) == 0 && memcmp(b->u.admit.member, peer, 32) == 0 &&
      sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, n->registry) == 0)
    ok = 1;
  free(b);
  return ok;
}

int node_check_peer(struct node *n, const uint8_t peer[32], const uint8_t *admission, size_t alen,
                    char *name, size_t namelen, const char **why)
{
  MDB_txn *txn;
  struct member m;
  if (memcmp(peer, n->registry, 32) == 0) { snprintf(name, namelen, "registry"); return 0; }
  int rc = store_read(n->s, &txn);
  if (rc) return rc;
  rc = rules_member_get(txn, n->s, peer, &m);
  mdb_txn_abort(txn);
  if (rc == 0) {
    if (m.suspended_from) { *why = "a suspended member"; return KK_ERR(SUSPENDED); }
    snprintf(name, namelen, "%s", m.name);
    return 0;
  }
  if (rc != MDB_NOTFOUND) return rc;
  /* Not admitted as far as we know yet: its Admit record, signed by the registry, will do. */
  if (admission && valid_admission(n, peer, admission, alen)) {
    struct kk_envelope_view ev;
    struct kk_body *b = malloc(sizeof *b);
    if (b && codec_envelope_split(admission, alen, &ev) == 0 && codec_body_decode(ev.body, ev.body_len, b) == 0)
      snprintf(name, namelen, "%s", b->u.admit.name);
    free(b);
    return 0;
  }
  *why = "not an admitted member of this network";
  return KK_ERR(NOT_MEMBER);
}

static void node_on_signal(uv_signal_t *s, int signum)
{
  struct node *n = s->data;
  log_info("%s: shutting down", signum == SIGINT ? "SIGINT" : "SIGTERM");
  node_stop(n);
}

static void node_on_tick(uv_timer_t *t)
{
  repl_tick(t->data);
}

int node_start(struct node *n)
{
  int rc;
  char hex[65];
  sig_hex(hex, n->pk, 32);
  uv_signal_init(n->loop, &n->sigint);
  uv_signal_init(n->loop, &n->sigterm);
  n->sigint.data = n->sigterm.data = n;
  uv_signal_start(&n->sigint, node_on_signal, SIGINT);
  uv_signal_start(&n->sigterm, node_on_signal, SIGTERM);
  uv_timer_init(n->loop, &n->tick);
  n->tick.data = n;
  uv_timer_start(&n->tick, node_on_tick, NODE_TICK_MS, NODE_TICK_MS);
  repl_notes_init(n);
  repl_start(n);
  if ((rc = ctl_listen(n))) { log_error("control socket %s: %s", n->ctl_path, kk_strerror(rc)); return rc; }
  if (n->listen_host[0]) {
    if ((rc = net_listen(n))) {
      log_error("cannot listen on %s:%d: %s", n->listen_host, n->listen_port, uv_strerror(rc));
      return rc;
    }
    log_info("listening on %s:%d as %.16s…", n->listen_host, n->listen_port, hex);
  }
  for (size_t i = 0; i < n->n_peers; i++) {
    struct peer_cfg *p = &n->peers[i];
    uv_timer_init(n->loop, &p->timer);
    p->timer.data = p;
    net_dial(p);
  }
  return 0;
}

static void node_close_cb(uv_handle_t *h)
{
  (void)h;
}

void node_stop(struct node *n)
{
  if (n->stopping) return;
  n->stopping = 1;
  uv_close((uv_handle_t *)&n->sigint, node_close_cb);
  uv_close((uv_handle_t *)&n->sigterm, node_close_cb);
  uv_close((uv_handle_t *)&n->tick, node_close_cb);
  repl_notes_close(n);
  if (n->listening) uv_close((uv_handle_t *)&n->listener, node_close_cb);
  ctl_close_all(n);
  for (size_t i = 0; i < n->n_peers; i++)
    if (!uv_is_closing((uv_handle_t *)&n->peers[i].timer)) uv_close((uv_handle_t *)&n->peers[i].timer, node_close_cb);
  for (struct conn *c = n->conns; c; c = c->next) net_close(c, NULL);
  /* A running ingest job finishes (it cannot be interrupted mid-transaction); queued
   * ones that have not started are dropped: nothing of them was acknowledged. */
}

void node_free(struct node *n)
{
  repl_drop_queue(n);
  free(n->fetches);
  store_close(n->s);
  n->s = NULL;
  sodium_memzero(n->sk, sizeof n->sk);
}
