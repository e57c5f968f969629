/*
 * sigbatch — checks many signatures on several threads, beside the caller.
 */
#include "sigbatch.h"
#include "sig.h"

#include <string.h>
#include <unistd.h>

#define SIGBATCH_THREADED_MIN 64 /* fewer signatures than this: checked inline */
#define SIGBATCH_CHUNK 32        /* signatures taken at a time */

static void sigbatch_some(struct sigbatch *b)
{
  size_t from;
  while ((from = atomic_fetch_add(&b->next, SIGBATCH_CHUNK)) < b->n) {
    size_t to = from + SIGBATCH_CHUNK < b->n ? from + SIGBATCH_CHUNK : b->n;
    for (size_t i = from; i < to; i++) {
      struct sig_job *j = &b->jobs[i];
      j->result = sig_verify(j->sig, j->tag, j->msg, j->len, j->key);
    }
  }
}

static void *sigbatch_thread(void *arg)
{
  sigbatch_some(arg);
  return NULL;
}

void sigbatch_start(struct sigbatch *b, struct sig_job *jobs, size_t n, int threads)
{
  memset(b, 0, sizeof *b);
  atomic_init(&b->next, 0);
  b->jobs = jobs;
  b->n = n;
  if (n < SIGBATCH_THREADED_MIN) {
    sigbatch_some(b);
    return;
  }
  if (threads <= 0) {
    long nc = sysconf(_SC_NPROCESSORS_ONLN);
    threads = nc > 0 ? (int)nc : 1;
  }
  if (threads > SIGBATCH_MAX_THREADS) threads = SIGBATCH_MAX_THREADS;
  b->nthreads = threads;
  for (int t = 0; t < threads; t++) b->running[t] = pthread_create(&b->th[t], NULL, sigbatch_thread, b) == 0;
}

size_t sigbatch_join(struct sigbatch *b)
{
  size_t bad = 0;
  sigbatch_some(b);
  for (int t = 0; t < b->nthreads; t++)
    if (b->running[t]) {
      pthread_join(b->th[t], NULL);
      b->running[t] = 0;
    }
  for (size_t i = 0; i < b->n; i++) bad += b->jobs[i].result != 0;
  return bad;
}
