/*
 * net — peer connections over libuv TCP: dialling with backoff, accepting, framing,
 * the handshake, encryption, timeouts and write backpressure.
 *
 * One struct conn per connection with an explicit state (connecting → handshake →
 * open → closing). A conn is freed only in the close callback of its last handle.
 * Writes copy their bytes into the write request, which owns them until its callback.
 */
#include "node.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

struct net_write { uv_write_t req; struct conn *c; size_t len; uint8_t data[]; };

static void net_on_close(uv_handle_t *h);
static void net_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf);
static void net_on_timer(uv_timer_t *t);

struct conn *net_find(struct node *n, uint64_t id)
{
  for (struct conn *c = n->conns; c; c = c->next)
    if (c->id == id && c->state != CONN_CLOSING) return c;
  return NULL;
}

size_t net_queued(struct conn *c)
{
  return c->state == CONN_CLOSING ? 0 : uv_stream_get_write_queue_size((uv_stream_t *)&c->tcp);
}

static struct conn *net_conn_new(struct node *n, int initiator)
{
  struct conn *c = mem_calloc(1, sizeof *c);
  if (!c) return NULL;
  c->n = n;
  c->id = ++n->next_conn_id;
  c->initiator = initiator;
  c->state = CONN_CONNECTING;
  frame_rd_init(&c->rd, NODE_HANDSHAKE_FRAME_MAX); /* NODE_FRAME_MAX once authenticated */
  uv_tcp_init(n->loop, &c->tcp);
  uv_timer_init(n->loop, &c->timer);
  c->tcp.data = c;
  c->timer.data = c;
  c->closes_pending = 2;
  c->next = n->conns;
  n->conns = c;
  n->n_conns++;
  snprintf(c->name, sizeof c->name, "?");
  return c;
}

static void net_unlink(struct conn *c)
{
  struct node *n = c->n;
  for (struct conn **p = &n->conns; *p; p = &(*p)->next)
    if (*p == c) { *p = c->next; n->n_conns--; return; }
}

static void net_redial(uv_timer_t *t)
{
  net_dial(t->data);
}

static void net_schedule_redial(struct peer_cfg *p)
{
  if (p->n->stopping) return;
  /* exponential backoff with full jitter */
  uint64_t b = p->backoff_ms ? p->backoff_ms * 2 : NODE_BACKOFF_MIN_MS;
  if (b > NODE_BACKOFF_MAX_MS) b = NODE_BACKOFF_MAX_MS;
  p->backoff_ms = b;
  uint64_t wait = b / 2 + randombytes_uniform((uint32_t)(b / 2 + 1));
  uv_timer_start(&p->timer, net_redial, wait, 0);
}

void net_close(struct conn *c, const char *why)
{
  if (c->state == CONN_CLOSING) return;
  int was_open = c->state == CONN_OPEN;
  c->state = CONN_CLOSING;
  if (why) log_info("peer %s (%s): closed: %s", c->addr, c->name, why);
  if (was_open) c->n->net.close(c);
  if (c->cfg) {
    c->cfg->conn = NULL;
    net_schedule_redial(c->cfg);
    c->cfg = NULL;
  }
  uv_timer_stop(&c->timer);
  uv_close((uv_handle_t *)&c->tcp, net_on_close);
  uv_close((uv_handle_t *)&c->timer, net_on_close);
}

static void net_on_close(uv_handle_t *h)
{
  struct conn *c = h->data;
  if (--c->closes_pending) return;
  net_unlink(c);
  frame_rd_free(&c->rd);
  hs_clear(&c->hs);
  mem_free(c->feeds);
  while (c->deferred) { struct deferred_want *d = c->deferred; c->deferred = d->next; mem_free(d); }
  mem_free(c);
}

static void net_on_write(uv_write_t *req, int status)
{
  struct net_write *w = (struct net_write *)req;
  struct conn *c = w->c;
  mem_free(w);
  if (c->state == CONN_CLOSING) return;
  if (status < 0) { net_close(c, uv_strerror(status)); return; }
  if (net_queued(c) < NODE_WRITE_LOW) c->n->net.drain(c);
}

static void net_on_failed(uv_timer_t *t)
{
  struct conn *c = t->data;
  net_close(c, c->failed);
}

/* A send failed: the connection is closed on the next turn of the loop, not now. Its
 * caller may be in the middle of walking what closing frees (the fetches of this peer,
 * the list of connections): a send never closes under its feet. Until then every send
 * to it fails. */
static void net_fail(struct conn *c, const char *why)
{
  if (c->failed || c->state == CONN_CLOSING) return;
  c->failed = why;
  uv_timer_stop(&c->timer);
  uv_timer_start(&c->timer, net_on_failed, 0, 0);
}

/* Frames and sends one payload (already encrypted when the channel is open). */
static int net_write_frame(struct conn *c, const uint8_t *p, size_t n)
{
  if (c->state == CONN_CLOSING || c->failed) return KK_ERR(INTERNAL);
  if (net_queued(c) > NODE_WRITE_LIMIT) {
    net_fail(c, "peer is not reading (write queue limit)");
    return KK_ERR(INTERNAL);
  }
  struct net_write *w = mem_alloc(sizeof *w + 4 + n);
  if (!w) return -ENOMEM;
  w->c = c;
  w->len = 4 + n;
  frame_header(w->data, n);
  memcpy(w->data + 4, p, n);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)w->len);
  int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, net_on_write);
  if (rc) { mem_free(w); net_fail(c, uv_strerror(rc)); return rc; }
  c->bytes_out += w->len;
  return 0;
}

int net_send(struct conn *c, const struct kk_wire *w)
{
  uint8_t *m = NULL, *sealed = NULL;
  size_t ml, sl;
  if (c->state != CONN_OPEN || c->failed) return KK_ERR(INTERNAL);
  int rc = codec_wire_encode(w, &m, &ml);
  if (rc == 0) rc = hs_seal(&c->hs, m, ml, &sealed, &sl);
  if (rc == 0) rc = net_write_frame(c, sealed, sl);
  mem_free(m);
  mem_free(sealed);
  return rc;
}

static void net_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  buf->base = mem_alloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static int net_on_frame(void *ctx, uint8_t *frame, size_t len)
{
  struct conn *c = ctx;
  int rc;
  c->last_rx = node_now(c->n);
  if (c->state == CONN_HANDSHAKE && c->hs.state == HS_WAIT_HELLO) {
    uint8_t *auth;
    size_t alen;
    rc = hs_on_hello(&c->hs, frame, len, &auth, &alen);
    if (rc) {
      net_close(c, rc == KK_ERR(NETWORK) ? "peer is on another network" :
                   rc == KK_ERR(FIELD) ? "connected to itself" : kk_strerror(rc));
      return rc;
    }
    memcpy(c->peer, c->hs.peer_id, 32);
    rc = net_write_frame(c, auth, alen);
    mem_free(auth);
    return rc;
  }
  if (c->state == CONN_HANDSHAKE && c->hs.state == HS_WAIT_AUTH) {
    uint8_t *adm = NULL;
    size_t admlen = 0;
    const char *why = NULL;
    rc = hs_on_auth(&c->hs, frame, len, &adm, &admlen);
    if (rc == 0)
      rc = node_check_peer(c->n, c->peer, c->hs.peer_key, c->hs.peer_key_seq, adm, admlen, c->name, sizeof c->name, &why);
    mem_free(adm);
    if (rc) {
      char hex[65];
      sig_hex(hex, c->peer, 32);
      log_warn("peer %s (key %.16s…): refused at the handshake: %s", c->addr, hex, why ? why : kk_strerror(rc));
      net_close(c, NULL);
      return rc;
    }
    c->state = CONN_OPEN;
    c->rd.max = NODE_FRAME_MAX; /* checked from the next frame's header on */
    log_info("peer %s (%s): connected%s", c->addr, c->name, c->initiator ? "" : " (inbound)");
    if (c->cfg) c->cfg->backoff_ms = 0, c->cfg->last_error = 0;
    if (!c->failed) uv_timer_start(&c->timer, net_on_timer, c->n->idle_ms / 3, c->n->idle_ms / 3);
    c->n->net.open(c);
    return 0;
  }
  if (c->state != CONN_OPEN) return KK_ERR(INTERNAL);
  uint8_t *plain;
  size_t pl;
  if ((rc = hs_open(&c->hs, frame, len, &plain, &pl))) {
    net_close(c, "a frame failed authentication (tampered, replayed or reordered)");
    return rc;
  }
  struct kk_wire w;
  rc = codec_wire_decode(plain, pl, &w);
  mem_free(plain);
  if (rc) { net_close(c, "undecodable message"); return rc; }
  rc = c->n->net.message(c, &w);
  codec_wire_free(&w);
  return c->state == CONN_OPEN ? 0 : KK_ERR(INTERNAL);
}

static void net_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct conn *c = s->data;
  if (nread > 0 && c->state != CONN_CLOSING) {
    c->bytes_in += (uint64_t)nread;
    int rc = frame_feed(&c->rd, (const uint8_t *)buf->base, (size_t)nread, net_on_frame, c);
    if (rc && c->state != CONN_CLOSING)
      net_close(c, rc == KK_ERR(TOO_LARGE) ? "frame length over the limit" :
                   rc == KK_ERR(DECODE) ? "empty frame" : kk_strerror(rc));
  } else if (nread < 0 && c->state != CONN_CLOSING) {
    net_close(c, nread == UV_EOF ? "peer closed the connection" : uv_strerror((int)nread));
  }
  mem_free(buf->base);
}

static void net_on_timer(uv_timer_t *t)
{
  struct conn *c = t->data;
  if (c->state == CONN_HANDSHAKE || c->state == CONN_CONNECTING) {
    net_close(c, "handshake timed out");
    return;
  }
  if (c->state != CONN_OPEN) return;
  if (node_now(c->n) - c->last_rx > c->n->idle_ms) { net_close(c, "nothing heard (idle timeout)"); return; }
  struct kk_wire w;
  memset(&w, 0, sizeof w);
  w.kind = KK_W_PING;
  w.ping.nonce = node_now(c->n);
  net_send(c, &w);
}

static void net_begin(struct conn *c)
{
  uint8_t *hello, *adm = NULL;
  size_t hl, admlen = 0;
  struct node *n = c->n;
  node_admission(n, &adm, &admlen);
  c->state = CONN_HANDSHAKE;
  c->last_rx = node_now(n);
  int rc = hs_start(&c->hs, c->initiator, n->network, n->pk, n->sk, adm, admlen, &hello, &hl);
  if (rc == 0 && (rc = node_rotations(n, &c->hs))) mem_free(hello);
  if (rc) { mem_free(adm); net_close(c, kk_strerror(rc)); return; }
  uv_timer_start(&c->timer, net_on_timer, n->handshake_ms, 0);
  uv_read_start((uv_stream_t *)&c->tcp, net_alloc, net_on_read);
  mem_free(adm); /* hs keeps its own copy for the AUTH message */
  net_write_frame(c, hello, hl);
  mem_free(hello);
}

/* Warnings about limits go out at most once a second: a flood must not flood the log. */
static void net_limit_warn(struct node *n)
{
  uint64_t now = node_now(n);
  if (n->limit_logged && now - n->limit_logged < 1000) return;
  n->limit_logged = now;
  log_warn("connection limits: %llu unfinished handshakes evicted, %llu connections refused so far",
           (unsigned long long)n->evicted, (unsigned long long)n->refused);
}

/* Whether the new inbound connection c may proceed. Unauthenticated inbound connections
 * are capped per source address (max_handshakes_per_ip) and in all (max_handshakes),
 * and so are all connections (max_connections). When a cap is reached, the oldest
 * unfinished inbound handshake — of the same address first — is closed to make room:
 * a flood of connections that never authenticate evicts only its own, and honest peers
 * from other addresses keep getting in. Only when every connection is authenticated is
 * c refused. */
static int net_make_room(struct node *n, struct conn *c)
{
  size_t handshaking = 0, same_ip = 0;
  struct conn *oldest = NULL, *oldest_same = NULL;   /* the list is newest first */
  for (struct conn *o = n->conns; o; o = o->next) {
    if (o == c || o->initiator || o->state != CONN_HANDSHAKE) continue;
    handshaking++;
    oldest = o;
    if (!strcmp(o->ip, c->ip)) { same_ip++; oldest_same = o; }
  }
  struct conn *evict = NULL;
  if (same_ip >= n->max_handshakes_per_ip) evict = oldest_same;
  else if (handshaking >= n->max_handshakes || n->n_conns > n->max_conns) evict = oldest;
  else return 1;
  if (evict) {
    n->evicted++;
    net_limit_warn(n);
    net_close(evict, NULL);
    return 1;
  }
  n->refused++;
  net_limit_warn(n);
  return 0;
}

static void net_on_accept(uv_stream_t *server, int status)
{
  struct node *n = server->data;
  if (status < 0 || n->stopping) return;
  struct conn *c = net_conn_new(n, 0);
  if (!c) return;
  if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) { net_close(c, NULL); return; }
  struct sockaddr_storage sa;
  int salen = sizeof sa;
  char ip[64] = "?";
  if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&sa, &salen) == 0) {
    if (sa.ss_family == AF_INET) {
      uv_ip4_name((struct sockaddr_in *)&sa, ip, sizeof ip);
      snprintf(c->addr, sizeof c->addr, "%s:%d", ip, ntohs(((struct sockaddr_in *)&sa)->sin_port));
    } else {
      uv_ip6_name((struct sockaddr_in6 *)&sa, ip, sizeof ip);
      snprintf(c->addr, sizeof c->addr, "[%s]:%d", ip, ntohs(((struct sockaddr_in6 *)&sa)->sin6_port));
    }
  }
  snprintf(c->ip, sizeof c->ip, "%s", ip);
  if (!net_make_room(n, c)) { net_close(c, NULL); return; }
  uv_tcp_nodelay(&c->tcp, 1);
  net_begin(c);
}

int net_listen(struct node *n)
{
  struct sockaddr_storage sa;
  int rc;
  /* A name (localhost, a host name) is resolved once, at start: the first address. */
  uv_getaddrinfo_t req;
  struct addrinfo hints;
  char port[16];
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE;
  snprintf(port, sizeof port, "%d", n->listen_port);
  if ((rc = uv_getaddrinfo(n->loop, &req, NULL, n->listen_host, port, &hints))) return rc; /* NULL: synchronous */
  if (!req.addrinfo || req.addrinfo->ai_addrlen > sizeof sa) {
    uv_freeaddrinfo(req.addrinfo);
    return UV_EAI_NONAME;
  }
  memcpy(&sa, req.addrinfo->ai_addr, req.addrinfo->ai_addrlen);
  uv_freeaddrinfo(req.addrinfo);
  uv_tcp_init(n->loop, &n->listener);
  n->listener.data = n;
  n->listening = 1;
  if ((rc = uv_tcp_bind(&n->listener, (struct sockaddr *)&sa, 0))) return rc;
  if ((rc = uv_listen((uv_stream_t *)&n->listener, 128, net_on_accept))) return rc;
  /* Port 0 asks the system for a free port: report the one we got. */
  int salen = sizeof sa;
  if (uv_tcp_getsockname(&n->listener, (struct sockaddr *)&sa, &salen) == 0)
    n->listen_port = ntohs(sa.ss_family == AF_INET ? ((struct sockaddr_in *)&sa)->sin_port
                                                   : ((struct sockaddr_in6 *)&sa)->sin6_port);
  return 0;
}

static void net_on_connect(uv_connect_t *req, int status)
{
  struct conn *c = req->data;
  if (c->state == CONN_CLOSING) return;
  if (status < 0) {
    /* Said once per reason, not at every redial: an unreachable peer is worth knowing
     * about, not worth a line every few seconds (status shows it too). */
    struct peer_cfg *p = c->cfg;
    if (p && p->last_error != status) log_info("peer %s: cannot connect: %s (retrying)", c->addr, uv_strerror(status));
    else log_debug("peer %s: cannot connect: %s", c->addr, uv_strerror(status));
    if (p) p->last_error = status;
    net_close(c, NULL);
    return;
  }
  uv_tcp_nodelay(&c->tcp, 1);
  net_begin(c);
}

static void net_on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
  struct peer_cfg *p = req->data;
  p->resolving = 0;
  if (p->n->stopping) { if (res) uv_freeaddrinfo(res); return; }
  if (status < 0 || !res) {
    if (p->last_error != (status < 0 ? status : UV_EAI_NONAME))
      log_warn("peer %s:%d: cannot resolve: %s", p->host, p->port, uv_strerror(status));
    p->last_error = status < 0 ? status : UV_EAI_NONAME;
    net_schedule_redial(p);
    return;
  }
  struct conn *c = net_conn_new(p->n, 1);
  if (!c) { uv_freeaddrinfo(res); net_schedule_redial(p); return; }
  c->cfg = p;
  p->conn = c;
  snprintf(c->addr, sizeof c->addr, "%s:%d", p->host, p->port);
  c->connect.data = c;
  int rc = uv_tcp_connect(&c->connect, &c->tcp, res->ai_addr, net_on_connect);
  uv_freeaddrinfo(res);
  if (rc) net_close(c, uv_strerror(rc));
}

void net_dial(struct peer_cfg *p)
{
  if (p->n->stopping || p->conn || p->resolving) return;
  char port[16];
  struct addrinfo hints;
  memset(&hints, 0, sizeof hints);
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  snprintf(port, sizeof port, "%d", p->port);
  p->gai.data = p;
  p->resolving = 1;
  int rc = uv_getaddrinfo(p->n->loop, &p->gai, net_on_resolved, p->host, port, &hints);
  if (rc) { p->resolving = 0; net_schedule_redial(p); }
}
