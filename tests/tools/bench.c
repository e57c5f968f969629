/*
 * bench — the building blocks of `make bench`, each measured in this run:
 *
 *   bench sign            Ed25519 signatures per second on one core
 *   bench verify          Ed25519 verifications per second on one core
 *   bench append DIR N    local appends: N records signed and durably committed, one
 *                         signing thread feeding one committing thread in batches
 *   bench propagate SRC DST N
 *                         appends N records through the node running on SRC and times
 *                         each until it is committed in DST's store (median, p99)
 *
 * Prints "name value" lines for tests/bench.sh to read.
 */
#include "recgen.h"
#include "../../crypto/sig.h"
#include "../../node/ledger/ingest.h"
#include "../../node/ledger/store.h"
#include "../../node/client/ctl.h"
#include "../../crypto/keys.h"
#include <unistd.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void)
{
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_sign(int verify)
{
  uint8_t pk[32], sk[64], msg[256], s[64];
  memset(msg, 7, sizeof msg);
  sig_keypair(pk, sk);
  if (sig_sign(s, SIG_TAG_RECORD, msg, sizeof msg, sk)) exit(1);
  long n = 0;
  double t0 = now(), t;
  do {
    for (int i = 0; i < 256; i++) {
      if (verify) { if (sig_verify(s, SIG_TAG_RECORD, msg, sizeof msg, pk)) exit(1); }
      else if (sig_sign(s, SIG_TAG_RECORD, msg, sizeof msg, sk)) exit(1);
    }
    n += 256;
    t = now() - t0;
  } while (t < 1.5);
  printf("%s_per_s %.0f\n", verify ? "verify" : "sign", (double)n / t);
}

/* ---- append: a signing thread and a committing thread --------------------------- */

#define BATCH 1024
#define QUEUE 4

struct batch { size_t n; struct ingest_item items[BATCH]; uint8_t *envs[BATCH]; };

struct pipe {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  struct batch *q[QUEUE];
  size_t head, count;
  int done;
};

static void pipe_push(struct pipe *p, struct batch *b)
{
  pthread_mutex_lock(&p->mu);
  while (p->count == QUEUE) pthread_cond_wait(&p->cv, &p->mu);
  p->q[(p->head + p->count++) % QUEUE] = b;
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
}

static struct batch *pipe_pop(struct pipe *p)
{
  pthread_mutex_lock(&p->mu);
  while (p->count == 0 && !p->done) pthread_cond_wait(&p->cv, &p->mu);
  struct batch *b = NULL;
  if (p->count) { b = p->q[p->head]; p->head = (p->head + 1) % QUEUE; p->count--; }
  pthread_cond_broadcast(&p->cv);
  pthread_mutex_unlock(&p->mu);
  return b;
}

struct committer { struct pipe *p; struct store *s; long stored; int err; double busy; };

static void *commit_loop(void *arg)
{
  struct committer *c = arg;
  struct batch *b;
  while ((b = pipe_pop(c->p))) {
    double t0 = now();
    int rc = ingest_batch(c->s, b->items, b->n, INGEST_LOCAL | INGEST_SIGNED_HERE, 1);
    c->busy += now() - t0;
    if (rc) { c->err = rc; fprintf(stderr, "bench: ingest failed: %d\n", rc); }
    for (size_t i = 0; i < b->n; i++) { if (b->items[i].result == 0) c->stored++; free(b->envs[i]); }
    free(b);
  }
  return NULL;
}

static struct batch *one(uint8_t *env, size_t len)
{
  struct batch *b = calloc(1, sizeof *b);
  b->items[0].env = env;
  b->items[0].len = len;
  b->envs[0] = env;
  b->n = 1;
  return b;
}

static void bench_append(const char *dir, long n)
{
  struct store *s;
  struct gen_member reg, rec;
  struct kk_body *body = calloc(1, sizeof *body);
  uint8_t network[32] = { 0 }, *env;
  size_t len;
  gen_member_init(&reg);
  gen_member_init(&rec);
  if (store_open(&s, dir, 0)) { fprintf(stderr, "bench: cannot open %s\n", dir); exit(1); }
  body->kind = KK_PL_GENESIS;
  strcpy(body->u.genesis.name, "bench");
  gen_sign(&reg, network, body, &env, &len, network);
  struct batch *g = one(env, len);
  if (ingest_batch(s, g->items, 1, INGEST_LOCAL | INGEST_ADOPT_GENESIS, 1) || g->items[0].result) exit(1);
  free(env);
  free(g);
  memset(body, 0, sizeof *body);
  body->kind = KK_PL_ADMIT;
  memcpy(body->u.admit.member, rec.pk, 32);
  strcpy(body->u.admit.name, "recycler");
  body->u.admit.roles = KK_ROLE_RECYCLER;
  gen_sign(&reg, network, body, &env, &len, NULL);
  g = one(env, len);
  if (ingest_batch(s, g->items, 1, INGEST_LOCAL, 1) || g->items[0].result) exit(1);
  free(env);
  free(g);

  struct pipe p;
  memset(&p, 0, sizeof p);
  pthread_mutex_init(&p.mu, NULL);
  pthread_cond_init(&p.cv, NULL);
  struct committer c = { &p, s, 0, 0, 0 };
  pthread_t th;
  double t0 = now();
  pthread_create(&th, NULL, commit_loop, &c);
  struct batch *b = calloc(1, sizeof *b);
  for (long i = 0; i < n; i++) {
    char code[32];
    snprintf(code, sizeof code, "L%ld", i);
    gen_issue(body, code, 1000000000ull);
    gen_sign(&rec, network, body, &b->envs[b->n], &len, NULL);
    b->items[b->n].env = b->envs[b->n];
    b->items[b->n].len = len;
    if (++b->n == BATCH || i == n - 1) { pipe_push(&p, b); b = calloc(1, sizeof *b); }
  }
  pthread_mutex_lock(&p.mu);
  p.done = 1;
  pthread_cond_broadcast(&p.cv);
  pthread_mutex_unlock(&p.mu);
  pthread_join(th, NULL);
  double t = now() - t0;
  free(b);
  free(body);
  store_close(s);
  if (getenv("BENCH_VERBOSE")) fprintf(stderr, "committer busy %.2f s of %.2f s\n", c.busy, t);
  if (c.err || c.stored != n) { fprintf(stderr, "bench: stored %ld of %ld\n", c.stored, n); exit(1); }
  printf("append_per_s %.0f\n", (double)n / t);
}

static int cmp_double(const void *a, const void *b)
{
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static void bench_propagate(const char *src, const char *dst, long n)
{
  uint8_t pk[32], sk[64];
  struct store *d;
  if (keys_load(src, pk, sk)) { fprintf(stderr, "bench: no identity in %s\n", src); exit(1); }
  if (store_open(&d, dst, 1)) { fprintf(stderr, "bench: no store in %s\n", dst); exit(1); }
  double *lat = calloc((size_t)n, sizeof *lat);
  struct kk_body *b = calloc(1, sizeof *b);
  for (long i = 0; i < n; i++) {
    memset(b, 0, sizeof *b);
    b->version = 1;
    b->has_network = 1;
    memcpy(b->author, pk, 32);
    b->seq = 1;
    b->kind = KK_PL_INCIDENT;
    snprintf(b->u.incident.kind, sizeof b->u.incident.kind, "bench-%ld", i);
    uint8_t *body, id[32];
    size_t blen;
    if (codec_body_encode(b, &body, &blen)) exit(1);
    double t0 = now();
    int fd = ctl_client_connect(src), verdict = 0;
    if (fd < 0 || ctl_client_append(fd, body, blen, &verdict, id) || verdict) {
      fprintf(stderr, "bench: append through the node failed (%d)\n", verdict);
      exit(1);
    }
    close(fd);
    free(body);
    for (;;) {
      struct store_txn *txn;
      if (store_read(d, &txn) == 0) {
        int found = store_record_by_id(txn, d, id, NULL, NULL, NULL, NULL) == 0;
        store_txn_abort(txn);
        if (found) break;
      }
      if (now() - t0 > 30) { fprintf(stderr, "bench: record %ld never arrived\n", i); exit(1); }
      usleep(100);
    }
    lat[i] = (now() - t0) * 1000;
  }
  qsort(lat, (size_t)n, sizeof *lat, cmp_double);
  printf("propagate_median_ms %.2f\npropagate_p99_ms %.2f\n", lat[n / 2], lat[(size_t)((double)n * 0.99)]);
  store_close(d);
  free(lat);
  free(b);
}

int main(int argc, char **argv)
{
  if (sig_init()) return 1;
  if (argc == 2 && strcmp(argv[1], "sign") == 0) bench_sign(0);
  else if (argc == 2 && strcmp(argv[1], "verify") == 0) bench_sign(1);
  else if (argc == 4 && strcmp(argv[1], "append") == 0) bench_append(argv[2], atol(argv[3]));
  else if (argc == 5 && strcmp(argv[1], "propagate") == 0) bench_propagate(argv[2], argv[3], atol(argv[4]));
  else { fprintf(stderr, "usage: bench sign | verify | append DIR N\n"); return 2; }
  return 0;
}
