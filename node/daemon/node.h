/*
 * node — the peer node: one libuv loop that owns the store, talks to peers (net, repl)
 * and serves the local CLI over a control socket (ctl).
 *
 * Everything hangs off one struct node (reached from handles' data pointers); nothing
 * is global, so a test could run several nodes in one process. All functions run on
 * the loop thread, except the ingest work, which runs on libuv's thread pool and is the
 * only code that writes the store (one job at a time).
 */
#ifndef KK_NODE_H
#define KK_NODE_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "frame.h"
#include "hs.h"
#include "../ledger/ingest.h"
#include "../ledger/store.h"
#include "../../proto/codec.h"

#define NODE_MAX_PEERS 64              /* configured outbound peers */
#define NODE_MAX_CONNS 256             /* live connections, both directions (default) */
#define NODE_MAX_HANDSHAKES 32         /* inbound connections not yet authenticated (default) */
#define NODE_HANDSHAKES_PER_IP 4       /* ... of them from one address (default) */
#define NODE_FRAME_MAX (4u << 20)      /* largest frame, encrypted, in bytes */
/* Largest frame before the handshake is done: a HELLO, or an AUTH carrying one Admit
 * record. Unauthenticated connections (NODE_MAX_HANDSHAKES of them) cannot make the
 * node reserve more than this each. */
#define NODE_HANDSHAKE_FRAME_MAX (CODEC_MAX_RECORD + 1024)
#define NODE_HANDSHAKE_MS 10000        /* a handshake must finish within this (default) */
#define NODE_OWN_HEAD_WAIT_MS 15000    /* an own append waits this long for a peer's word (default) */
#define NODE_IDLE_MS 45000             /* nothing heard for this long: close (default); a
                                        * keepalive goes out every third of it */
#define NODE_BACKOFF_MIN_MS 200
#define NODE_BACKOFF_MAX_MS 10000
#define NODE_WRITE_HIGH (4u << 20)     /* stop serving a peer above this many queued bytes */
#define NODE_WRITE_LOW (1u << 20)      /* ... and resume below this */
#define NODE_WRITE_LIMIT (64u << 20)   /* a peer this far behind is disconnected */
#define NODE_WANT_MAX 512              /* records asked for at once, per feed */
#define NODE_RECORDS_BYTES (1u << 20)  /* bytes of records per answer */
#define NODE_CONN_WANTS 64             /* requests in flight to one peer */
#define NODE_FETCH_WINDOW 8            /* requests in flight for one feed */
#define NODE_INGEST_MAX 8192           /* records ingested in one transaction */
#define NODE_NOTES_MS 25               /* checkpoints heard within this are taken together */
#define NODE_NOTES_MAX 1024            /* ... at most this many in one transaction */
#define NODE_BG_BATCH 4096             /* records whose signatures one background pass checks */

struct node;

/* A configured outbound peer: dialled, and redialled with backoff when lost. */
struct peer_cfg {
  struct node *n;
  char host[256];
  int port;
  uv_timer_t timer;
  uint64_t backoff_ms;
  struct conn *conn;                   /* live connection, if any */
  uv_getaddrinfo_t gai;
  int resolving;
  int last_error;                      /* the last failure to resolve or connect (libuv code; 0: none) */
};

/* What a peer said it holds of one feed. */
struct peer_feed {
  uint8_t author[32];
  uint64_t seq;
  uint64_t probed;                     /* seq whose record we asked for to examine a fork */
};

enum conn_state { CONN_CONNECTING = 1, CONN_HANDSHAKE, CONN_OPEN, CONN_CLOSING };

struct conn {
  struct node *n;
  uint64_t id;                         /* unique for the node's lifetime */
  struct conn *next;
  struct peer_cfg *cfg;                /* outbound: its configuration */
  int initiator;
  enum conn_state state;
  uv_tcp_t tcp;
  uv_connect_t connect;
  uv_timer_t timer;                    /* handshake deadline, then idle/ping */
  int closes_pending;                  /* handles still to close before free */
  char addr[300];
  char ip[64];                         /* inbound: the peer's address without the port */
  char name[130];                      /* peer's member name once known */
  uint8_t peer[32];
  struct frame_rd rd;
  struct hs hs;
  uint64_t last_rx;                    /* loop time of the last frame */
  /* sync */
  struct peer_feed *feeds;             /* sorted by author */
  size_t n_feeds, cap_feeds;
  size_t wants_inflight;
  struct deferred_want *deferred;      /* WANTs not served yet (backpressure) */
  int want_full_have;                  /* send a complete HAVE when drained */
  uint64_t bytes_in, bytes_out, records_in, records_out;
  const char *failed;                  /* a send failed: closed on the next loop turn, why */
};

struct deferred_want { struct deferred_want *next; uint8_t author[32]; uint64_t from; uint32_t max; };

/* A feed being fetched, from one peer at a time (so its ranges arrive in order), with up
 * to NODE_FETCH_WINDOW ranges requested ahead of what is committed. */
struct fetch {
  uint8_t author[32];
  uint64_t conn_id;
  uint64_t next;                       /* first seq not yet requested */
  unsigned inflight;                   /* Wants sent, not answered */
  unsigned queued;                     /* answers waiting in the ingest queue */
};

/* Something a finished job leaves for the loop thread to send. */
enum job_note_kind {
  JOB_ANNOUNCE = 1,                    /* checkpoint (key = author, n = size): to every peer */
  JOB_EVIDENCE,                        /* evidence (key = id): to every peer */
  JOB_PROBE                            /* ask the job's peer for record (key = author, n = seq) */
};
struct job_note { int kind; uint8_t key[32]; uint64_t n; uint64_t conn_id; /* probes: whom to ask */ };

enum job_kind { JOB_RECORDS = 0, JOB_CHECKPOINT, JOB_EVIDENCE_IN, JOB_VERIFIED, JOB_MARK_CONFIRMED };

/* A record taken on a checkpoint's word, checked in the background (bgcheck.c). */
/* bad: its signature fails; unchecked: it could not be checked this pass (a storage or
 * memory error) and stays listed for the next one — never judged on such an error. */
struct bg_item { uint8_t author[32]; uint64_t seq; int bad, unchecked; };

/* A unit of work for the ingest thread. */
struct ingest_job {
  struct ingest_job *next;
  int kind;                            /* enum job_kind */
  int local;                           /* an own record from the CLI */
  uint64_t conn_id;                    /* peer records: who sent them */
  uint8_t fetch_author[32];            /* the feed they answer */
  int has_fetch;                       /* they answer our request for it */
  size_t n;
  uint8_t **envs;
  size_t *lens;
  struct ingest_ckpt *ckpt;            /* checkpoint sync offered with these records */
  uint8_t (*ckpt_proof)[32];
  /* local: the request's client and the body to sign */
  struct ctl_client *client;
  uint64_t gated_at;                   /* local: when it began waiting for the own head */
  uint8_t *body;
  size_t body_len;
  /* results */
  int rc;
  int *results;
  uint8_t id[32];
  uint8_t (*stored)[32];               /* feeds that gained records */
  size_t n_stored_feeds;
  size_t n_stored;
  size_t n_ckpt_synced;                /* ... of them on a checkpoint's word */
  /* evidence from a peer (checkpoints travel in envs/lens, their senders in conns) */
  uint8_t *blob;
  size_t blob_len;
  uint64_t *conns;
  /* background signature check results (JOB_VERIFIED) */
  struct bg_item *bg;
  size_t n_bg;
  /* follow-ups for the loop thread */
  struct job_note *notes;
  size_t n_notes, cap_notes;
};

/* What the transport (net.c) calls up into once a connection's channel is open: the
 * daemon sets them (node_init: the sync protocol, sync.c); net.c knows nothing above. */
struct net_handlers {
  void (*open)(struct conn *c);                                /* channel open */
  int (*message)(struct conn *c, const struct kk_wire *w);     /* non-zero: close it */
  void (*drain)(struct conn *c);                               /* write queue below low */
  void (*close)(struct conn *c);                               /* closing (was open) */
};

/* Readers on the HTTP server's threads and the map growth of the loop thread: LMDB's
 * rule is that the map is resized under no reader (httpd.c). */
struct node_gate {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  int readers;                         /* HTTP threads inside a read transaction */
  int growing;                         /* the loop thread resizes: new readers wait */
  int want;                            /* a growth waits for the readers to leave: new
                                        * ones hold back a moment (httpd.c) */
  int closed;                          /* the async handle is closed: nobody to tell */
};

struct http_server;

struct node {
  uv_loop_t *loop;
  struct net_handlers net;
  const char *dir;
  struct store *s;
  uint8_t pk[32], sk[64];
  uint8_t network[32], registry[32];
  char listen_host[256];
  int listen_port;
  uv_tcp_t listener;
  int listening;
  uv_pipe_t ctl;
  int ctl_open;
  char ctl_path[4200];
  uv_signal_t sigint, sigterm;
  uv_timer_t tick;                     /* housekeeping */
  uv_timer_t notes_timer;              /* flushes notes_job */
  uv_work_t bg_work;                   /* background signature checks (checkpoint sync) */
  int bg_running;
  int bg_wait_tick;                    /* the last pass could check nothing: next tick */
  struct bg_item *bg_items;
  size_t bg_n;
  struct ingest_job *notes_job;        /* checkpoints heard, waiting to be taken together */
  struct peer_cfg peers[NODE_MAX_PEERS];
  size_t n_peers;
  struct conn *conns;
  size_t n_conns;
  uint64_t next_conn_id;
  /* Connection limits and timeouts (config: max_connections, max_handshakes,
   * max_handshakes_per_ip, handshake_timeout_ms, idle_timeout_ms). */
  uint64_t max_conns, max_handshakes, max_handshakes_per_ip;
  uint64_t handshake_ms, idle_ms;
  uint64_t map_mb;                     /* config map_size_mb: initial map (0: the default) */
  uint64_t map_grown;                  /* times the map was grown since start */
  /* Our own feed is appended to only once a peer has said what it holds of it, and we
   * hold at least that much (a restored backup must not write over newer records):
   * config standalone = 1 (a network of one) skips the wait; own_head_wait_ms bounds
   * how long an append waits before it fails. */
  uint64_t standalone, own_head_wait_ms;
  int own_head_known;                  /* a peer's HAVE arrived */
  uint64_t own_head_claimed;           /* the most of our own feed a peer says it holds */
  struct ingest_job *gated_head, *gated_tail; /* own appends waiting for that */
  int grow_adopts;                     /* the parked jobs met a map another process grew */
  int bg_in_thread;                    /* a background pass holds a read transaction */
  struct ingest_job *grow_jobs;        /* jobs that hit a full map, run again once grown */
  uint64_t evicted;                    /* unfinished handshakes closed to admit newer ones */
  uint64_t refused;                    /* connections refused: every slot authenticated */
  uint64_t limit_logged;               /* when the last limit warning was logged (ms) */
  struct fetch *fetches;
  size_t n_fetches, cap_fetches;
  /* ingest: one job at a time on the thread pool */
  struct ingest_job *jobs_head, *jobs_tail;
  struct ingest_job *running;
  uv_work_t work;
  size_t queued_records;
  int stopping;
  uint64_t committed;                  /* records committed since start */
  uint64_t ckpt_synced;                /* ... of them taken on a checkpoint's word */
  uint64_t last_arrival;               /* newest arrival announced to peers */
  uint64_t evidence_seen;              /* evidence objects held when the tick last looked */
  struct ctl_client *clients;
  /* HTTP (config http, http_tls_cert, http_tls_key, http_max_body_mb, http_timeout_s) */
  char http_host[256];
  int http_port, http_on;
  char http_cert[4096], http_key[4096];
  uint64_t http_body_mb, http_timeout_s;
  struct http_server *http;
  struct node_gate gate;
  uv_async_t gate_async;               /* a reader left and a growth waits */
  int gate_open;
};

/* Lifecycle (tools/kiroku_node.c drives these). */
int node_init(struct node *n, uv_loop_t *loop, const char *dir);
/* HOST:PORT for a peer, or to listen on (port 0: any free one). 0, or an error with *why
 * saying what is wrong with it ("port out of range (1-65535)", ...). */
int node_add_peer(struct node *n, const char *hostport, const char **why);
int node_set_listen(struct node *n, const char *hostport, const char **why);
/* A numeric setting of the config file (max_connections, max_handshakes,
 * max_handshakes_per_ip, handshake_timeout_ms, idle_timeout_ms, map_size_mb): 0, or
 * KK_E_USAGE for an unknown key or a value out of range (*why says which). */
int node_set_limit(struct node *n, const char *key, const char *value, const char **why);
int node_start(struct node *n);
void node_stop(struct node *n);        /* closes everything; uv_run then returns */
void node_free(struct node *n);

/* Loop time in ms. */
uint64_t node_now(struct node *n);

/* The node's own Admit record (mem_alloc'd copy) or NULL; for the handshake. */
int node_admission(struct node *n, uint8_t **env, size_t *len);
/* Gives a handshake this node's RotateKey records (hs_set_rotations), if its key was
 * rotated. 0 or an error (the connection is then closed). */
int node_rotations(struct node *n, struct hs *h);

/* Whether a peer that completed the handshake may stay: the registry, an admitted and
 * unsuspended member this node knows, or one presenting a valid Admit record signed by
 * the registry; and it signed with the key its feed has now as far as this node knows
 * (key, led to by its RotateKey at key_seq, hs.h), not one a later rotation we hold
 * retired. 0 (name filled) or an error with *why set. */
int node_check_peer(struct node *n, const uint8_t peer[32], const uint8_t key[32], uint64_t key_seq,
                    const uint8_t *admission, size_t alen, char *name, size_t namelen, const char **why);

/* ---- httpd: the HTTP server wired in (node/daemon/httpd.c) --------------------------------- */
/* [HOST:]PORT to serve HTTP on (off unless set; PORT alone: 127.0.0.1); a TLS certificate or key file (config
 * http_tls_cert, http_tls_key). 0 or KK_E_USAGE with *why. */
int node_set_http(struct node *n, const char *hostport, const char **why);
int node_set_http_file(struct node *n, const char *key, const char *path, const char **why);
/* In node_start: the token made at first start, the server started (0, or an error
 * logged). */
int node_http_start(struct node *n);
/* In node_stop (the gate's handle closed) and node_free (the server stopped, before the
 * store closes: it waits for requests in flight, which end once the control socket is
 * gone). */
void node_http_close(struct node *n);
void node_http_free(struct node *n);
/* Loop thread, before it resizes the map: 1 when no HTTP thread reads (and none starts
 * until node_readers_release), 0 when one does (the last to leave calls
 * repl_grow_resume through the gate's async handle). */
int node_readers_hold(struct node *n);
void node_readers_release(struct node *n);

/* ---- net: connections (node/daemon/net.c) ------------------------------------------------ */
int net_listen(struct node *n);
void net_dial(struct peer_cfg *p);
void net_close(struct conn *c, const char *why);
int net_send(struct conn *c, const struct kk_wire *w);
size_t net_queued(struct conn *c);
struct conn *net_find(struct node *n, uint64_t id);

/* ---- repl: sync.c, gossip.c, writer.c, bgcheck.c (node/daemon/repl.h) ----------- */
void repl_on_open(struct conn *c);
int repl_on_message(struct conn *c, const struct kk_wire *w);
void repl_on_close(struct conn *c);
void repl_on_drain(struct conn *c);
void repl_enqueue(struct node *n, struct ingest_job *job);
/* An own append from the CLI: queued once the own head is confirmed (struct node,
 * own_head_known), else held until it is or own_head_wait_ms pass (then answered with
 * KK_E_UNCONFIRMED, nothing written). */
void repl_enqueue_own(struct node *n, struct ingest_job *job);
void repl_tick(struct node *n);
void repl_start(struct node *n);       /* before the first connection */
void repl_drop_queue(struct node *n);  /* jobs not started: dropped, clients answered */
void repl_notes_init(struct node *n);  /* the timer that batches checkpoints */
void repl_notes_close(struct node *n); /* drops checkpoints not taken yet */

/* ---- ctl: the local control socket (node/daemon/ctl.c) ----------------------------------- */
int ctl_listen(struct node *n);
void ctl_close_all(struct node *n);
void ctl_job_done(struct node *n, struct ingest_job *job);

#endif
