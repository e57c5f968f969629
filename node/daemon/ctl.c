/*
 * ctl — the node's local control socket (DIR/control.sock, owner-only).
 *
 * While a node runs it owns the store's writes: the CLI hands it the record it wants
 * appended and the node signs, checks and commits it, then answers. Requests and
 * answers are frames (4-byte big-endian length, then the payload):
 *
 *   'A' body bytes       append: the node fills in network, seq, prev and time, signs
 *                        with its identity and ingests; answer 'R' rc(i32 BE) id(32)
 *   'B' n(u32 BE), then n × (len u32 BE, envelope)
 *                        append a batch: records the member signed itself, in feed
 *                        order from the node's head, ingested together (all or none);
 *                        answer 'Q' rc(i32 BE) failed(u32 BE: the index of the record
 *                        refused, or 0xffffffff); rc KK_E_BUSY when the head moved
 *   'S'                  status; answer 'J' and a JSON document
 */
#include "node.h"
#include "repl.h"
#include "../base/mem.h"
#include "../client/ctl.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../ledger/rules.h"
#include "../base/buf.h"
#include "../http/http.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct ctl_client {
  struct node *n;
  struct ctl_client *next;
  uv_pipe_t pipe;
  struct frame_rd rd;
  int pending;          /* appends in the ingest queue */
  int closed;           /* the pipe has been closed */
};

struct ctl_write { uv_write_t req; uint8_t data[]; };

static void ctl_on_write(uv_write_t *req, int status)
{
  (void)status;
  mem_free(req);
}

static void ctl_send(struct ctl_client *cl, const uint8_t *p, size_t len)
{
  if (cl->closed) return;
  struct ctl_write *w = mem_alloc(sizeof *w + 4 + len);
  if (!w) return;
  frame_header(w->data, len);
  memcpy(w->data + 4, p, len);
  uv_buf_t b = uv_buf_init((char *)w->data, (unsigned)(4 + len));
  if (uv_write(&w->req, (uv_stream_t *)&cl->pipe, &b, 1, ctl_on_write)) mem_free(w);
}

static void ctl_unlink(struct ctl_client *cl)
{
  for (struct ctl_client **p = &cl->n->clients; *p; p = &(*p)->next)
    if (*p == cl) { *p = cl->next; return; }
}

static void ctl_on_close(uv_handle_t *h)
{
  struct ctl_client *cl = h->data;
  frame_rd_free(&cl->rd);
  if (cl->pending == 0) mem_free(cl);   /* else freed when its last job is done */
}

static void ctl_client_close(struct ctl_client *cl)
{
  if (cl->closed) return;
  cl->closed = 1;
  ctl_unlink(cl);
  uv_close((uv_handle_t *)&cl->pipe, ctl_on_close);
}

void ctl_job_done(struct node *n, struct ingest_job *job)
{
  struct ctl_client *cl = job->client;
  (void)n;
  uint8_t ans[1 + 4 + 32];
  size_t len = 1 + 4 + 32;
  if (job->n) { /* a batch */
    ans[0] = 'Q';
    be32_put(ans + 1, (uint32_t)job->rc);
    uint32_t failed = UINT32_MAX;
    for (size_t i = 0; job->rc && job->results && i < job->n; i++)
      if (job->results[i] && job->results[i] != KK_ERR(DUPLICATE)) { failed = (uint32_t)i; break; }
    be32_put(ans + 5, failed);
    len = 9;
  } else {
    ans[0] = 'R';
    be32_put(ans + 1, (uint32_t)job->rc);
    memcpy(ans + 5, job->id, 32);
  }
  cl->pending--;
  if (!cl->closed) ctl_send(cl, ans, len);
  else if (cl->pending == 0) mem_free(cl);
}

/* A batch of own records ('B'): its envelopes copied into the job. */
static int ctl_batch_job(struct ingest_job *job, const uint8_t *p, size_t len)
{
  if (len < 4) return KK_ERR(DECODE);
  uint32_t n = be32_get(p);
  size_t off = 4;
  if (n == 0 || n > len / 4) return KK_ERR(DECODE);
  job->envs = mem_calloc(n, sizeof *job->envs);
  job->lens = mem_calloc(n, sizeof *job->lens);
  if (!job->envs || !job->lens) return -ENOMEM;
  for (uint32_t i = 0; i < n; i++) {
    if (len - off < 4) return KK_ERR(DECODE);
    uint32_t l = be32_get(p + off);
    off += 4;
    if (l == 0 || l > len - off) return KK_ERR(DECODE);
    if (!(job->envs[i] = mem_alloc(l))) return -ENOMEM;
    memcpy(job->envs[i], p + off, l);
    job->lens[i] = l;
    job->n = i + 1;
    off += l;
  }
  return off == len ? 0 : KK_ERR(DECODE);
}

static json_t *ctl_hex(const uint8_t *p)
{
  char hex[65];
  sig_hex(hex, p, 32);
  return json_string(hex);
}

/* The node's state for `kiroku status`. */
/* One feed of the status: its head, how far the rules applied it, its member's name and
 * whether it is frozen. */
struct status_feeds { struct node *n; struct store_txn *txn; json_t *o, *feeds; uint64_t waiting; };

static int status_feed_one(void *arg, const uint8_t author[32], const struct store_head *h)
{
  struct status_feeds *sf = arg;
  struct node *n = sf->n;
  struct member m;
  const void *cv;
  size_t cn;
  uint64_t applied = 0;
  if (store_get(sf->txn, n->s, STORE_DB_CURSORS, author, 32, &cv, &cn) == 0 && cn == 8) applied = be64_get(cv);
  json_t *f = json_pack("{s:o,s:I,s:I}", "author", ctl_hex(author), "seq", (json_int_t)h->seq, "applied", (json_int_t)applied);
  sf->waiting += h->seq - applied;
  if (rules_member_get(sf->txn, n->s, author, &m) == 0) json_object_set_new(f, "name", json_string(m.name));
  uint64_t frozen = 0;
  if (store_frozen_at(sf->txn, n->s, author, &frozen) == 0 && frozen) {
    json_object_set_new(f, "frozen_at", json_integer((json_int_t)frozen));
    if (memcmp(author, n->pk, 32) == 0) json_object_set_new(sf->o, "own_feed_frozen_at", json_integer((json_int_t)frozen));
  }
  json_array_append_new(sf->feeds, f);
  return 0;
}

static json_t *ctl_status(struct node *n)
{
  json_t *o = json_object(), *peers = json_array(), *feeds = json_array();
  struct store_txn *txn;
  uint64_t waiting = 0;   /* stored, not yet evaluated: their dependencies have not arrived */
  json_object_set_new(o, "key", ctl_hex(n->pk));
  json_object_set_new(o, "network", ctl_hex(n->network));
  if (n->listen_host[0]) {
    char l[300];
    snprintf(l, sizeof l, "%s:%d", n->listen_host, n->listen_port);
    json_object_set_new(o, "listen", json_string(l));
  }
  if (n->http) json_object_set_new(o, "http", json_string(http_url(n->http)));
  if (store_read(n->s, &txn) == 0) {
    struct status_feeds sf = { n, txn, o, feeds, 0 };
    (void)store_heads_each(txn, n->s, status_feed_one, &sf); /* status shows what it could read */
    waiting = sf.waiting;
    uint64_t count;
    if (store_entries(txn, n->s, STORE_N_PENDING, &count) == 0) json_object_set_new(o, "waiting_feeds", json_integer((json_int_t)count));
    if (store_entries(txn, n->s, STORE_N_UNVERIFIED, &count) == 0)
      json_object_set_new(o, "unverified_records", json_integer((json_int_t)count));
    json_object_set_new(o, "waiting_records", json_integer((json_int_t)waiting));
    for (struct conn *c = n->conns; c; c = c->next) {
      static const char *states[] = { "?", "connecting", "handshake", "connected", "closing" };
      json_t *p = json_pack("{s:s,s:s,s:s,s:b,s:I,s:I,s:I,s:I}", "address", c->addr, "name", c->name,
                            "state", states[c->state], "outbound", c->initiator, "bytes_in", (json_int_t)c->bytes_in,
                            "bytes_out", (json_int_t)c->bytes_out, "records_in", (json_int_t)c->records_in,
                            "records_out", (json_int_t)c->records_out);
      if (c->state == CONN_OPEN) {
        json_object_set_new(p, "key", ctl_hex(c->peer));
        json_t *lag = json_array();
        for (size_t i = 0; i < c->n_feeds; i++) {
          struct store_head h;
          uint64_t ours = store_head_get(txn, n->s, c->feeds[i].author, &h) == 0 ? h.seq : 0;
          if (ours == c->feeds[i].seq) continue;
          json_array_append_new(lag, json_pack("{s:o,s:I,s:I}", "author", ctl_hex(c->feeds[i].author),
                                               "ours", (json_int_t)ours, "theirs", (json_int_t)c->feeds[i].seq));
        }
        json_object_set_new(p, "lag", lag);
      }
      json_array_append_new(peers, p);
    }
    store_txn_abort(txn);
  }
  for (size_t i = 0; i < n->n_peers; i++) {
    if (n->peers[i].conn) continue;
    char a[300];
    snprintf(a, sizeof a, "%s:%d", n->peers[i].host, n->peers[i].port);
    json_t *p = json_pack("{s:s,s:s,s:b,s:I}", "address", a, "state", "reconnecting", "outbound", 1, "backoff_ms",
                          (json_int_t)n->peers[i].backoff_ms);
    if (n->peers[i].last_error) json_object_set_new(p, "last_error", json_string(uv_strerror(n->peers[i].last_error)));
    json_array_append_new(peers, p);
  }
  json_object_set_new(o, "peers", peers);
  json_object_set_new(o, "feeds", feeds);
  json_object_set_new(o, "queued_records", json_integer((json_int_t)n->queued_records));
  json_object_set_new(o, "committed_since_start", json_integer((json_int_t)n->committed));
  json_object_set_new(o, "checkpoint_synced_since_start", json_integer((json_int_t)n->ckpt_synced));
  json_object_set_new(o, "map", json_pack("{s:I,s:I}", "size_mib", (json_int_t)(store_map_size(n->s) >> 20),
                                          "grown_since_start", (json_int_t)n->map_grown));
  json_object_set_new(o, "connections", json_pack("{s:I,s:I,s:I,s:I}", "live", (json_int_t)n->n_conns,
                                                  "max", (json_int_t)n->max_conns,
                                                  "handshakes_evicted", (json_int_t)n->evicted,
                                                  "refused", (json_int_t)n->refused));
  json_object_set_new(o, "evidence", json_array()); /* equivocation evidence: see docs/protocol.md */
  return o;
}

static int ctl_on_frame(void *ctx, uint8_t *frame, size_t len)
{
  struct ctl_client *cl = ctx;
  struct node *n = cl->n;
  if (frame[0] == 'A' && len > 1 && !n->stopping) {
    struct ingest_job *job = mem_calloc(1, sizeof *job);
    if (!job) return -ENOMEM;
    job->local = 1;
    job->client = cl;
    job->body_len = len - 1;
    job->body = mem_alloc(len - 1);
    if (!job->body) { mem_free(job); return -ENOMEM; }
    memcpy(job->body, frame + 1, len - 1);
    cl->pending++;
    repl_enqueue_own(n, job);
    return 0;
  }
  if (frame[0] == 'B' && len > 1 && !n->stopping) {
    struct ingest_job *job = mem_calloc(1, sizeof *job);
    if (!job) return -ENOMEM;
    job->local = 1;
    job->client = cl;
    int rc = ctl_batch_job(job, frame + 1, len - 1);
    if (rc) { repl_job_free(job); return rc; }
    cl->pending++;
    repl_enqueue_own(n, job);
    return 0;
  }
  if (frame[0] == 'S' && len == 1) {
    json_t *st = ctl_status(n);
    char *s = json_dumps(st, JSON_COMPACT);
    json_decref(st);
    if (!s) return -ENOMEM;
    size_t sl = strlen(s);
    uint8_t *ans = mem_alloc(sl + 1);
    if (ans) {
      ans[0] = 'J';
      memcpy(ans + 1, s, sl);
      ctl_send(cl, ans, sl + 1);
      mem_free(ans);
    }
    mem_free(s);
    return 0;
  }
  return KK_ERR(DECODE);
}

static void ctl_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
  (void)h;
  buf->base = mem_alloc(suggested);
  buf->len = buf->base ? suggested : 0;
}

static void ctl_on_read(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
  struct ctl_client *cl = s->data;
  if (nread > 0) {
    if (frame_feed(&cl->rd, (const uint8_t *)buf->base, (size_t)nread, ctl_on_frame, cl)) ctl_client_close(cl);
  } else if (nread < 0) {
    ctl_client_close(cl);
  }
  mem_free(buf->base);
}

static void ctl_on_connection(uv_stream_t *server, int status)
{
  struct node *n = server->data;
  if (status < 0 || n->stopping) return;
  struct ctl_client *cl = mem_calloc(1, sizeof *cl);
  if (!cl) return;
  cl->n = n;
  frame_rd_init(&cl->rd, CTL_FRAME_MAX);
  uv_pipe_init(n->loop, &cl->pipe, 0);
  cl->pipe.data = cl;
  cl->next = n->clients;
  n->clients = cl;
  if (uv_accept(server, (uv_stream_t *)&cl->pipe) != 0) { ctl_client_close(cl); return; }
  uv_read_start((uv_stream_t *)&cl->pipe, ctl_alloc, ctl_on_read);
}

static void ctl_server_closed(uv_handle_t *h)
{
  (void)h;
}

int ctl_listen(struct node *n)
{
  snprintf(n->ctl_path, sizeof n->ctl_path, "%s/%s", n->dir, CTL_SOCKET);
  /* A socket left by a node that was killed: nobody answers on it any more. */
  int probe = ctl_client_connect(n->dir);
  if (probe >= 0) {
    close(probe);
    return KK_ERR(EXISTS); /* a node answers there: it is running */
  }
  unlink(n->ctl_path);
  uv_pipe_init(n->loop, &n->ctl, 0);
  n->ctl.data = n;
  mode_t old = umask(077); /* owner-only from the moment it exists */
  int rc = uv_pipe_bind(&n->ctl, n->ctl_path);
  umask(old);
  if (rc == 0) rc = uv_listen((uv_stream_t *)&n->ctl, 16, ctl_on_connection);
  if (rc == 0) {
    n->ctl_open = 1;
  } else {
    uv_close((uv_handle_t *)&n->ctl, ctl_server_closed); /* the loop must not end with it open */
  }
  return rc;
}

void ctl_close_all(struct node *n)
{
  if (n->ctl_open) {
    uv_close((uv_handle_t *)&n->ctl, ctl_server_closed);
    unlink(n->ctl_path);
    n->ctl_open = 0;
  }
  while (n->clients) ctl_client_close(n->clients);
}
