/*
 * sigbatch — checks many signatures on several threads, beside the caller.
 *
 * The caller lists the signatures (sig_verify's arguments, one job each), starts the
 * batch, goes on with its own work, and joins: the join checks what is left with the
 * threads and waits for them, so no core waits while another still has signatures to
 * check. Work is taken in chunks from a shared counter. Small batches are checked
 * inline at start. Used by ingest (a batch's records, beside its write transaction) and
 * by bundle verification (beside the Merkle and rules checks).
 */
#ifndef KK_SIGBATCH_H
#define KK_SIGBATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define SIGBATCH_MAX_THREADS 64

struct sig_job {
  const uint8_t *sig, *msg, *key;
  const char *tag;
  size_t len;
  int result;                   /* after the join: sig_verify's result (0, -1, -ENOMEM) */
};

struct sigbatch {
  struct sig_job *jobs;
  size_t n;
  atomic_size_t next;           /* the first job not yet taken */
  int nthreads;
  pthread_t th[SIGBATCH_MAX_THREADS];
  int running[SIGBATCH_MAX_THREADS];
};

/* Starts checking jobs[0..n) (the array stays the caller's, and must live until the
 * join) on `threads` threads (0 or less: one per core). A thread that cannot be
 * started is no error: the join does its share. */
void sigbatch_start(struct sigbatch *b, struct sig_job *jobs, size_t n, int threads);

/* Checks what is left, waits for the threads; returns how many jobs are not valid
 * (result != 0). Idempotent. */
size_t sigbatch_join(struct sigbatch *b);

#endif
