/*
 * scratch — a scratch store for a fuzz target, made once in a fresh /tmp directory and
 * removed at exit (the targets that need a store: bundle, import).
 */
#ifndef KK_FUZZ_SCRATCH_H
#define KK_FUZZ_SCRATCH_H

#include "../../node/ledger/store.h"

#include <stdio.h>
#include <stdlib.h>

static struct store *fuzz_scratch;
static char fuzz_scratch_dir[] = "/tmp/kiroku-fuzz-XXXXXX";

static void fuzz_scratch_remove(void)
{
  char p[sizeof fuzz_scratch_dir + 16];
  store_close(fuzz_scratch);
  snprintf(p, sizeof p, "%s/data.mdb", fuzz_scratch_dir);
  remove(p);
  snprintf(p, sizeof p, "%s/lock.mdb", fuzz_scratch_dir);
  remove(p);
  remove(fuzz_scratch_dir);
}

/* The target's scratch store (opened on the first call; aborts when it cannot be). */
static struct store *fuzz_scratch_store(void)
{
  if (!fuzz_scratch) {
    if (!mkdtemp(fuzz_scratch_dir) || store_open_scratch(&fuzz_scratch, fuzz_scratch_dir)) abort();
    atexit(fuzz_scratch_remove);
  }
  return fuzz_scratch;
}

#endif
