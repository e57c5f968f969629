/*
 * node — start-up, membership checks, housekeeping and clean shutdown.
 */
#include "node.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../ledger/rules.h"
#include "../ledger/tree.h"
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define NODE_TICK_MS 1000

uint64_t node_now(struct node *n)
{
  return uv_now(n->loop);
}

/* HOST:PORT (HOST a name, an IPv4 address or a bracketed IPv6 one) into host and port;
 * min_port is 0 where "any free port" makes sense (listening). 0, or KK_E_USAGE with
 * *why saying what is wrong. */
static int split_hostport(const char *hp, char *host, size_t hn, int *port, int min_port, const char **why)
{
  const char *colon = strrchr(hp, ':');
  *why = "not HOST:PORT (e.g. 127.0.0.1:7001, localhost:7001, [::1]:7001)";
  if (!colon || colon == hp || !colon[1]) return KK_ERR(USAGE);
  size_t l = (size_t)(colon - hp);
  if (hp[0] == '[' && colon[-1] == ']') { hp++; l -= 2; } /* [::1]:7000 */
  if (l == 0 || l >= hn) return KK_ERR(USAGE);
  memcpy(host, hp, l);
  host[l] = 0;
  char *end;
  errno = 0;
  long p = strtol(colon + 1, &end, 10);
  if (*end || colon[1] == '-' || colon[1] == '+') { *why = "the port is not a number"; return KK_ERR(USAGE); }
  if (errno || p < min_port || p > 65535) {
    *why = min_port ? "port out of range (1-65535)" : "port out of range (0-65535; 0: any free port)";
    return KK_ERR(USAGE);
  }
  *port = (int)p;
  *why = NULL;
  return 0;
}

int node_set_listen(struct node *n, const char *hostport, const char **why)
{
  return split_hostport(hostport, n->listen_host, sizeof n->listen_host, &n->listen_port, 0, why);
}

int node_add_peer(struct node *n, const char *hostport, const char **why)
{
  if (n->n_peers == NODE_MAX_PEERS) { *why = "too many peers (64 at most)"; return KK_ERR(TOO_LARGE); }
  struct peer_cfg *p = &n->peers[n->n_peers];
  memset(p, 0, sizeof *p);
  int rc = split_hostport(hostport, p->host, sizeof p->host, &p->port, 1, why);
  if (rc) return rc;
  p->n = n;
  n->n_peers++;
  return 0;
}

int node_set_limit(struct node *n, const char *key, const char *value, const char **why)
{
  const struct { const char *key; unsigned long long min, max; uint64_t *field; } limits[] = {
    { "max_connections", 4, 65536, &n->max_conns },
    { "max_handshakes", 1, 65536, &n->max_handshakes },
    { "max_handshakes_per_ip", 1, 65536, &n->max_handshakes_per_ip },
    { "handshake_timeout_ms", 100, 600000, &n->handshake_ms },
    { "idle_timeout_ms", 300, 3600000, &n->idle_ms },
    { "map_size_mb", 1, 1u << 20, &n->map_mb },
    { "standalone", 0, 1, &n->standalone },
    { "own_head_wait_ms", 0, 3600000, &n->own_head_wait_ms },
    { "http_max_body_mb", 1, 1024, &n->http_body_mb },
    { "http_timeout_s", 1, 3600, &n->http_timeout_s },
  };
  for (size_t i = 0; i < sizeof limits / sizeof limits[0]; i++) {
    if (strcmp(key, limits[i].key)) continue;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(value, &end, 10);
    if (errno || end == value || *end || value[0] == '-' || v < limits[i].min || v > limits[i].max) {
      static char msg[128]; /* config parsing runs once, before any thread */
      snprintf(msg, sizeof msg, "%s must be a whole number from %llu to %llu", key, limits[i].min, limits[i].max);
      *why = msg;
      return KK_ERR(USAGE);
    }
    *limits[i].field = v;
    return 0;
  }
  *why = "unknown setting";
  return KK_ERR(USAGE);
}

/* The data directory and the files the node keeps in it must belong to the node's user
 * and be writable by nobody else: whoever can write them can rewrite the ledger this
 * node serves, or swap its identity. Readable by others is allowed (the records are
 * replicated to every member anyway; the key file has its own stricter check) but
 * logged. 0 or KK_E_DIR_PERMS, with the offending path logged. */
static int node_check_perms(const char *dir)
{
  static const char *const files[] = { "", "/data.mdb", "/lock.mdb", "/identity.key" };
  char path[4200];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    struct stat st;
    snprintf(path, sizeof path, "%s%s", dir, files[i]);
    if (stat(path, &st) != 0) {
      if (errno == ENOENT && i > 0) continue;
      return -errno;
    }
    if (st.st_uid != geteuid() || (st.st_mode & 022)) {
      log_error("%s: owner uid %u, mode %03o: must be owned by uid %u and not writable by group or others",
                path, (unsigned)st.st_uid, (unsigned)(st.st_mode & 0777), (unsigned)geteuid());
      return KK_ERR(DIR_PERMS);
    }
    if (i == 0 && (st.st_mode & 077))
      log_warn("%s: mode %03o: readable by other users (chmod 700 to keep it private)", path, (unsigned)(st.st_mode & 0777));
  }
  return 0;
}

int node_init(struct node *n, uv_loop_t *loop, const char *dir)
{
  memset(n, 0, sizeof *n);
  n->loop = loop;
  n->net = (struct net_handlers){ repl_on_open, repl_on_message, repl_on_drain, repl_on_close };
  n->dir = dir;
  n->max_conns = NODE_MAX_CONNS;
  n->max_handshakes = NODE_MAX_HANDSHAKES;
  n->max_handshakes_per_ip = NODE_HANDSHAKES_PER_IP;
  n->handshake_ms = NODE_HANDSHAKE_MS;
  n->idle_ms = NODE_IDLE_MS;
  n->own_head_wait_ms = NODE_OWN_HEAD_WAIT_MS;
  int rc = node_check_perms(dir);
  if (rc) return rc;
  if ((rc = keys_load(dir, n->pk, n->sk))) return rc;
  if ((rc = store_open(&n->s, dir, 0))) return rc;
  if (store_derived_stale(n->s)) {
    log_info("%s: the store was written by an earlier version: rebuilding its derived state from the log", dir);
    if ((rc = rules_upgrade(n->s))) return rc;
    log_info("%s: rebuilt", dir);
  }
  struct store_txn *txn;
  if ((rc = store_read(n->s, &txn))) return rc;
  uint8_t bad[32];
  if ((rc = tree_check_heads(txn, n->s, bad))) {
    char hex[65];
    sig_hex(hex, bad, 32);
    log_error("%s: the newest record of feed %.16s… does not match its head or its Merkle tree", dir, hex);
    store_txn_abort(txn);
    return rc;
  }
  const void *v;
  size_t vn;
  rc = store_meta_get(txn, n->s, "network", &v, &vn);
  if (rc == 0 && vn == 32) memcpy(n->network, v, 32);
  int rc2 = store_meta_get(txn, n->s, "registry", &v, &vn);
  if (rc2 == 0 && vn == 32) memcpy(n->registry, v, 32);
  /* A key rotation interrupted after its record was committed is finished here. */
  uint8_t signer[32];
  int rc3 = store_key_now(txn, n->s, n->pk, signer, NULL);
  store_txn_abort(txn);
  if (rc3 == 0 && (rc3 = keys_next_settle(dir, signer)) == 1) rc3 = keys_load(dir, n->pk, n->sk);
  if (rc3 < 0) return rc3;
  if (rc || rc2) return KK_ERR(NOT_INIT);
  return 0;
}

int node_admission(struct node *n, uint8_t **env, size_t *len)
{
  struct store_txn *txn;
  struct member m;
  const uint8_t *e;
  size_t l;
  *env = NULL;
  *len = 0;
  if (store_read(n->s, &txn)) return 0;
  if (rules_member_get(txn, n->s, n->pk, &m) == 0 && !(m.roles & KK_ROLE_REGISTRY) &&
      store_record_by_id(txn, n->s, m.admitted_by, NULL, NULL, &e, &l) == 0) {
    *env = mem_alloc(l);
    if (*env) { memcpy(*env, e, l); *len = l; }
  }
  store_txn_abort(txn);
  return 0;
}

struct own_rotations { struct node *n; struct store_txn *txn; const uint8_t *envs[CODEC_ROTATIONS_MAX];
                       size_t lens[CODEC_ROTATIONS_MAX], count; };

static int own_rotation(void *arg, uint64_t seq)
{
  struct own_rotations *r = arg;
  if (r->count == CODEC_ROTATIONS_MAX) return KK_ERR(TOO_LARGE);
  int rc = store_record_get(r->txn, r->n->s, r->n->pk, seq, &r->envs[r->count], &r->lens[r->count]);
  if (rc == 0) r->count++;
  return rc;
}

int node_rotations(struct node *n, struct hs *h)
{
  struct own_rotations r = { .n = n };
  int rc = store_read(n->s, &r.txn);
  if (rc) return rc;
  if ((rc = store_rotations_each(r.txn, n->s, n->pk, own_rotation, &r)) == 0 && r.count)
    rc = hs_set_rotations(h, r.envs, r.lens, r.count);
  store_txn_abort(r.txn);
  return rc;
}

/* Is env an Admit record for `peer`, signed by the registry of our network? 1 yes, 0
 * no, -ENOMEM when that could not be checked. */
static int valid_admission(struct node *n, const uint8_t peer[32], const uint8_t *env, size_t len)
{
  struct kk_envelope_view ev;
  struct kk_body *b = mem_alloc(sizeof *b);
  int ok = 0;
  if (!b) return -ENOMEM;
  int dc = codec_envelope_split(env, len, &ev) ? KK_ERR(DECODE) : codec_body_decode(ev.body, ev.body_len, b);
  if (dc == -ENOMEM) ok = dc; /* not checked, not judged */
  else if (dc == 0 && b->kind == KK_PL_ADMIT && b->has_network && memcmp(b->network, n->network, 32) == 0 &&
      memcmp(b->author, n->registry, 32) == 0 && memcmp(b->u.admit.member, peer, 32) == 0) {
    int rc = sig_verify(ev.sig, SIG_TAG_RECORD, ev.body, ev.body_len, n->registry);
    ok = rc == -ENOMEM ? rc : rc == 0;
  }
  mem_free(b);
  return ok;
}

int node_check_peer(struct node *n, const uint8_t peer[32], const uint8_t key[32], uint64_t key_seq,
                    const uint8_t *admission, size_t alen, char *name, size_t namelen, const char **why)
{
  struct store_txn *txn;
  struct member m;
  uint8_t now[32];
  uint64_t rotated = 0;
  int rc = store_read(n->s, &txn);
  if (rc) return rc;
  /* A rotation we hold that is newer than the peer's chain retired the key it used. */
  if ((rc = store_key_now(txn, n->s, peer, now, &rotated)) == 0 && rotated > key_seq && memcmp(now, key, 32) != 0) {
    store_txn_abort(txn);
    *why = "it signed with a key its feed has rotated away from";
    return KK_ERR(SIGNATURE);
  }
  if (rc) { store_txn_abort(txn); return rc; }
  if (memcmp(peer, n->registry, 32) == 0) { store_txn_abort(txn); snprintf(name, namelen, "registry"); return 0; }
  rc = rules_member_get(txn, n->s, peer, &m);
  store_txn_abort(txn);
  if (rc == 0) {
    if (m.suspended_from) { *why = "a suspended member"; return KK_ERR(SUSPENDED); }
    snprintf(name, namelen, "%s", m.name);
    return 0;
  }
  if (rc != STORE_ABSENT) return rc;
  /* Not admitted as far as we know yet: its Admit record, signed by the registry, will do. */
  int valid = admission ? valid_admission(n, peer, admission, alen) : 0;
  if (valid < 0) { *why = "out of memory while checking its admission"; return valid; }
  if (valid) {
    struct kk_envelope_view ev;
    struct kk_body *b = mem_alloc(sizeof *b);
    if (b && codec_envelope_split(admission, alen, &ev) == 0 && codec_body_decode(ev.body, ev.body_len, b) == 0)
      snprintf(name, namelen, "%s", b->u.admit.name);
    mem_free(b);
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
  /* Every handle node_stop closes is initialised before anything here can fail. */
  for (size_t i = 0; i < n->n_peers; i++) {
    uv_timer_init(n->loop, &n->peers[i].timer);
    n->peers[i].timer.data = &n->peers[i];
  }
  repl_notes_init(n);
  if (n->map_mb && (rc = store_set_map_size(n->s, (size_t)n->map_mb << 20))) return rc;
  repl_start(n);
  /* From here the loop thread, ingest and background checks share the store: a full
   * map is grown by the loop thread between jobs (writer.c), never under a reader. */
  store_set_shared(n->s);
  if ((rc = ctl_listen(n))) {
    if (rc == KK_ERR(EXISTS))
      log_error("a node is already running in %s (its control socket answers): stop it first, or give this one "
                "its own directory with -C", n->dir);
    else
      log_error("control socket %s: %s", n->ctl_path, kk_strerror(rc));
    return rc;
  }
  if (n->listen_host[0]) {
    if ((rc = net_listen(n))) {
      log_error("cannot listen on %s:%d: %s", n->listen_host, n->listen_port, uv_strerror(rc));
      return rc;
    }
    log_info("listening on %s:%d as %.16s…", n->listen_host, n->listen_port, hex);
  }
  if ((rc = node_http_start(n))) return rc;
  for (size_t i = 0; i < n->n_peers; i++) net_dial(&n->peers[i]);
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
  node_http_close(n);
  for (size_t i = 0; i < n->n_peers; i++)
    if (!uv_is_closing((uv_handle_t *)&n->peers[i].timer)) uv_close((uv_handle_t *)&n->peers[i].timer, node_close_cb);
  for (struct conn *c = n->conns; c; c = c->next) net_close(c, NULL);
  /* A running ingest job finishes (it cannot be interrupted mid-transaction); queued
   * ones that have not started are dropped: nothing of them was acknowledged. */
}

void node_free(struct node *n)
{
  node_http_free(n); /* its requests end: the control socket is gone */
  repl_drop_queue(n);
  mem_free(n->fetches);
  store_close(n->s);
  n->s = NULL;
  sodium_memzero(n->sk, sizeof n->sk);
}
