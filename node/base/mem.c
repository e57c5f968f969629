/* mem — see mem.h. */
#include "mem.h"

#include <execinfo.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

static atomic_long countdown = -1;   /* < 0: no injection */
static atomic_int once;              /* the injected failure is a single one */
static atomic_int failed;
static atomic_long live;

/* True when this allocation is to fail. Once the countdown reaches zero it stays there,
 * so every allocation after the first injected failure fails too ("persistent" mode):
 * cleanup paths that allocate are exercised as well — unless the failure is a single
 * one (mem_fail_once). */
static int mem_inject(void)
{
  long c = atomic_load(&countdown);
  while (c > 0 && !atomic_compare_exchange_weak(&countdown, &c, c - 1)) {}
  if (c != 0) return 0;
  if (atomic_load(&once)) atomic_store(&countdown, -1);
  /* The first injected failure of a step can print where it hit (KIROKU_MEM_TRACE=1):
   * how a test that finds a bad failure path is debugged. */
  if (!atomic_exchange(&failed, 1) && getenv("KIROKU_MEM_TRACE")) {
    void *frames[16];
    int n = backtrace(frames, 16);
    fprintf(stderr, "mem: injected allocation failure at\n");
    backtrace_symbols_fd(frames, n, 2);
  }
  return 1;
}

void *mem_alloc(size_t n)
{
  if (mem_inject()) return NULL;
  void *p = malloc(n ? n : 1);
  if (p) atomic_fetch_add(&live, 1);
  return p;
}

void *mem_calloc(size_t count, size_t size)
{
  if (mem_inject()) return NULL;
  void *p = calloc(count ? count : 1, size ? size : 1);
  if (p) atomic_fetch_add(&live, 1);
  return p;
}

void *mem_realloc(void *p, size_t n)
{
  if (mem_inject()) return NULL;
  void *q = realloc(p, n ? n : 1);
  if (q && !p) atomic_fetch_add(&live, 1);
  return q;
}

char *mem_strdup(const char *s)
{
  size_t n = strlen(s) + 1;
  char *d = mem_alloc(n);
  if (d) memcpy(d, s, n);
  return d;
}

void mem_free(void *p)
{
  if (!p) return;
  atomic_fetch_sub(&live, 1);
  free(p);
}

void mem_init(void) { json_set_alloc_funcs(mem_alloc, mem_free); }

void mem_fail_at(long n)
{
  atomic_store(&failed, 0);
  atomic_store(&once, 0);
  atomic_store(&countdown, n < 0 ? -1 : n);
}

void mem_fail_once(long n)
{
  atomic_store(&failed, 0);
  atomic_store(&once, 1);
  atomic_store(&countdown, n < 0 ? -1 : n);
}

int mem_failed(void) { return atomic_load(&failed); }
long mem_live(void) { return atomic_load(&live); }
