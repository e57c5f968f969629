/*
 * evilpeer — a misbehaving peer for the integration tests.
 *
 *   evilpeer DIR HOST PORT MODE
 *
 * Modes that need no handshake:
 *   garbage      sends random bytes
 *   oversize     sends a frame header declaring 2 GiB
 *   bigframe     sends a frame header declaring 1 MiB (allowed once the channel is
 *                open, not before): exit 0 when the node closes within 2 s
 *   truncated    sends half of a HELLO frame, then closes
 *   stall MS     sends a valid HELLO and then nothing; exit 0 when the node closes the
 *                connection within MS milliseconds (its handshake deadline and slack)
 *   flood S N [SRC]  for S seconds keeps N connections open that never send a byte,
 *                opening a new one whenever the node closes one (from source address
 *                SRC, e.g. 127.0.0.2); prints how many it opened, exit 0
 * Modes that first complete the handshake as DIR's identity (an admitted member):
 *   forged       sends RECORDS holding a record with a broken signature
 *   noread N     sends N requests for everything and never reads an answer
 *   handshake    completes the handshake; exit 0 when the node then talks to us (we
 *                are accepted), 3 when it closes the connection (refused)
 *
 * Exit 0 when the node behaved as it must: for the hostile modes, it closed the
 * connection within 10 s; for noread, after sending it sleeps 5 s and exits 0.
 */
#include "../../crypto/keys.h"
#include "../../crypto/sig.h"
#include "../../node/base/buf.h"
#include "../../node/daemon/hs.h"
#include "../../node/ledger/store.h"
#include "../../proto/codec.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static int fd;

static void die(const char *m) { fprintf(stderr, "evilpeer: %s\n", m); exit(2); }

static void send_all(const void *p, size_t n)
{
  const uint8_t *b = p;
  while (n) {
    ssize_t w = send(fd, b, n, MSG_NOSIGNAL);
    if (w <= 0) die("send failed (connection closed?)");
    b += w;
    n -= (size_t)w;
  }
}

static void send_frame(const uint8_t *p, size_t n)
{
  uint8_t h[4];
  be32_put(h, (uint32_t)n);
  send_all(h, 4);
  send_all(p, n);
}

static int read_all(uint8_t *p, size_t n, int ms)
{
  while (n) {
    struct pollfd pf = { fd, POLLIN, 0 };
    if (poll(&pf, 1, ms) <= 0) return -1;
    ssize_t r = read(fd, p, n);
    if (r <= 0) return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static uint8_t *read_frame(size_t *n)
{
  uint8_t h[4];
  if (read_all(h, 4, 10000)) die("no frame");
  *n = be32_get(h);
  if (*n > (8u << 20)) die("frame too large");
  uint8_t *p = malloc(*n);
  if (read_all(p, *n, 10000)) die("truncated frame");
  return p;
}

/* 0 when the node closes the connection within 10 s (reading and discarding). */
/* 0 once the node closes the connection within ms milliseconds, else 1. */
static int await_close_within(int ms)
{
  uint8_t buf[65536];
  for (int i = 0; i < ms / 100; i++) {
    struct pollfd pf = { fd, POLLIN, 0 };
    if (poll(&pf, 1, 100) > 0) {
      ssize_t r = read(fd, buf, sizeof buf);
      if (r <= 0) return 0;
    }
  }
  return 1;
}

static int await_close(void) { return await_close_within(10000); }

static void load_network(const char *dir, uint8_t pk[32], uint8_t sk[64], uint8_t network[32])
{
  struct store *s;
  struct store_txn *txn;
  const void *v;
  size_t vn;
  if (keys_load(dir, pk, sk)) die("no identity");
  if (store_open(&s, dir, 1) || store_read(s, &txn) || store_meta_get(txn, s, "network", &v, &vn) || vn != 32)
    die("no network in DIR");
  memcpy(network, v, 32);
  store_txn_abort(txn);
  store_close(s);
}

/* Keeps n silent connections open for secs seconds, replacing each one the node closes. */
static int flood(const struct sockaddr_in *to, int secs, int n, const char *src)
{
  struct pollfd *pf = calloc((size_t)n, sizeof *pf);
  long opened = 0, closed = 0;
  struct timespec t0, now;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  for (int i = 0; i < n; i++) pf[i].fd = -1;
  for (;;) {
    clock_gettime(CLOCK_MONOTONIC, &now);
    if (now.tv_sec - t0.tv_sec >= secs) break;
    for (int i = 0; i < n; i++) {
      if (pf[i].fd >= 0) continue;
      int s = socket(AF_INET, SOCK_STREAM, 0);
      if (src) {
        struct sockaddr_in me;
        memset(&me, 0, sizeof me);
        me.sin_family = AF_INET;
        if (inet_pton(AF_INET, src, &me.sin_addr) != 1 || bind(s, (struct sockaddr *)&me, sizeof me)) die("bad SRC");
      }
      if (connect(s, (const struct sockaddr *)to, sizeof *to)) { close(s); usleep(1000); continue; }
      pf[i].fd = s;
      pf[i].events = POLLIN;
      opened++;
    }
    if (poll(pf, (nfds_t)n, 20) > 0) {
      uint8_t buf[4096];
      for (int i = 0; i < n; i++) {
        if (pf[i].fd < 0 || !(pf[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        if (read(pf[i].fd, buf, sizeof buf) > 0) continue;  /* the node's HELLO */
        close(pf[i].fd);
        pf[i].fd = -1;
        closed++;
      }
    }
  }
  for (int i = 0; i < n; i++) if (pf[i].fd >= 0) close(pf[i].fd);
  free(pf);
  printf("%ld opened %ld closed by the node\n", opened, closed);
  return 0;
}

static void handshake(struct hs *h, const char *dir)
{
  uint8_t pk[32], sk[64], network[32];
  size_t vn, n;
  load_network(dir, pk, sk, network);
  uint8_t *m, *peer;
  if (hs_start(h, 1, network, pk, sk, NULL, 0, &m, &n)) die("hs_start");
  send_frame(m, n);
  free(m);
  peer = read_frame(&n);
  if (hs_on_hello(h, peer, n, &m, &vn)) die("bad HELLO from node");
  free(peer);
  send_frame(m, vn);
  free(m);
  peer = read_frame(&n);
  uint8_t *adm;
  size_t al;
  if (hs_on_auth(h, peer, n, &adm, &al)) die("bad AUTH from node (or refused)");
  free(adm);
  free(peer);
}

static void send_wire(struct hs *h, const struct kk_wire *w)
{
  uint8_t *m, *c;
  size_t n, cn;
  if (codec_wire_encode(w, &m, &n) || hs_seal(h, m, n, &c, &cn)) die("encode");
  send_frame(c, cn);
  free(m);
  free(c);
}

int main(int argc, char **argv)
{
  if (argc < 5 || sig_init()) die("usage: evilpeer DIR HOST PORT MODE [N]");
  const char *dir = argv[1], *mode = argv[4];
  struct sockaddr_in sa;
  memset(&sa, 0, sizeof sa);
  sa.sin_family = AF_INET;
  sa.sin_port = htons((uint16_t)atoi(argv[3]));
  if (inet_pton(AF_INET, argv[2], &sa.sin_addr) != 1) die("bad host");
  if (!strcmp(mode, "flood")) return flood(&sa, argc > 5 ? atoi(argv[5]) : 5, argc > 6 ? atoi(argv[6]) : 100,
                                         argc > 7 ? argv[7] : NULL);
  fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) die("cannot connect");

  if (!strcmp(mode, "garbage")) {
    uint8_t g[4096];
    randombytes_buf(g, sizeof g);
    g[0] = 0; g[1] = 0; g[2] = 0x10; g[3] = 0; /* a plausible 4 KiB frame of noise */
    send_all(g, sizeof g);
    send_all(g, 8);
    return await_close();
  }
  if (!strcmp(mode, "oversize")) {
    uint8_t h[4] = { 0x80, 0, 0, 0 };
    send_all(h, 4);
    return await_close();
  }
  if (!strcmp(mode, "bigframe")) {
    /* 1 MiB declared before the handshake: under the cap for an open channel, far over
     * what a HELLO or an AUTH can be. Closed at once, not at the handshake deadline. */
    uint8_t h[4] = { 0, 0x10, 0, 0 }, some[1024];
    memset(some, 7, sizeof some);
    send_all(h, 4);
    send_all(some, sizeof some);
    return await_close_within(2000);
  }
  if (!strcmp(mode, "truncated")) {
    uint8_t h[4] = { 0, 0, 0, 100 }, half[50];
    memset(half, 1, sizeof half);
    send_all(h, 4);
    send_all(half, sizeof half);
    close(fd);
    return 0;
  }
  if (!strcmp(mode, "stall")) {
    /* A HELLO as the node's own network would take it, then silence. */
    struct hs h;
    uint8_t pk[32], sk[64], net[32], *m;
    size_t n;
    load_network(dir, pk, sk, net);
    if (hs_start(&h, 1, net, pk, sk, NULL, 0, &m, &n)) die("hs_start");
    send_frame(m, n);
    free(m);
    hs_clear(&h);
    int ms = argc > 5 ? atoi(argv[5]) : 10000;
    uint8_t buf[4096];
    for (int waited = 0; waited < ms; waited += 50) {
      struct pollfd pf = { fd, POLLIN, 0 };
      if (poll(&pf, 1, 50) > 0 && read(fd, buf, sizeof buf) <= 0) return 0;
    }
    return 1;
  }
  struct hs h;
  handshake(&h, dir);
  if (!strcmp(mode, "handshake")) {
    /* Admitted: the node opens with HAVE. Refused: it closes. */
    uint8_t hdr[4];
    hs_clear(&h);
    return read_all(hdr, 4, 5000) == 0 ? 0 : 3;
  }
  if (!strcmp(mode, "forged")) {
    /* A record of our own feed at the next position, its signature broken. */
    uint8_t pk[32], sk[64], net[32];
    keys_load(dir, pk, sk);
    memcpy(net, h.network, 32);
    struct kk_body *b = calloc(1, sizeof *b);
    b->version = 1; b->has_network = 1; memcpy(b->network, net, 32); memcpy(b->author, pk, 32);
    b->seq = 1; b->kind = KK_PL_INCIDENT; strcpy(b->u.incident.kind, "forged");
    uint8_t *body, *env, sig[64];
    size_t bl, el;
    if (codec_body_encode(b, &body, &bl)) die("encode body");
    if (sig_sign(sig, SIG_TAG_RECORD, body, bl, sk)) die("sign");
    sig[7] ^= 1;
    codec_envelope_join(body, bl, sig, &env, &el);
    const uint8_t *recs[1] = { env };
    size_t lens[1] = { el };
    struct kk_wire w;
    memset(&w, 0, sizeof w);
    w.kind = KK_W_RECORDS;
    memcpy(w.records.author, pk, 32);
    w.records.n = 1;
    w.records.recs = recs;
    w.records.lens = lens;
    send_wire(&h, &w);
    free(b);
    free(body);
    free(env);
    hs_clear(&h);
    return await_close();
  }
  if (!strcmp(mode, "noread")) {
    int n = argc > 5 ? atoi(argv[5]) : 1000;
    /* learn the feeds first, then ask for all of each, over and over */
    size_t fl;
    uint8_t *f = read_frame(&fl), *plain;
    size_t pl;
    struct kk_wire have;
    if (hs_open(&h, f, fl, &plain, &pl) || codec_wire_decode(plain, pl, &have) || have.kind != KK_W_HAVE) die("expected HAVE");
    free(f);
    free(plain);
    for (int i = 0; i < n; i++) {
      struct kk_wire w;
      memset(&w, 0, sizeof w);
      w.kind = KK_W_WANT;
      memcpy(w.want.author, have.have.feeds[(size_t)i % have.have.n].author, 32);
      w.want.from_seq = 1;
      w.want.max = 512;
      struct pollfd pf = { fd, POLLOUT, 0 };
      if (poll(&pf, 1, 2000) <= 0) break; /* our own send buffer is full: fine */
      uint8_t *m, *c;
      size_t mn, cn;
      codec_wire_encode(&w, &m, &mn);
      hs_seal(&h, m, mn, &c, &cn);
      uint8_t hdr[4];
      be32_put(hdr, (uint32_t)cn);
      if (send(fd, hdr, 4, MSG_NOSIGNAL | MSG_DONTWAIT) != 4 || send(fd, c, cn, MSG_NOSIGNAL) != (ssize_t)cn) { free(m); free(c); break; }
      free(m);
      free(c);
    }
    codec_wire_free(&have);
    hs_clear(&h);
    sleep(5);
    return 0;
  }
  die("unknown mode");
}
