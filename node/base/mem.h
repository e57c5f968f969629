/*
 * mem — the one allocator of Kiroku's own code, with fault injection compiled in.
 *
 * Every allocation in node/, proto/, crypto/ and tools/ goes through mem_alloc and
 * friends, and every block they return is released with mem_free (proto/codec.c hands
 * protobuf-c an allocator built on them; jansson is routed here by mem_init). Two things follow:
 *   - a test can make the Nth allocation from now fail (mem_fail_at) and step N through
 *     an operation, SQLite-style, to prove each failure path ends in a clean -ENOMEM
 *     with nothing leaked and nothing half-written;
 *   - mem_live() counts blocks handed out and not yet freed, so the same test checks for
 *     leaks without a sanitizer.
 * Allocations inside LMDB, libsodium and libuv are theirs and are not counted.
 *
 * All functions are thread-safe (atomic counters); the cost is one atomic add per call.
 */
#ifndef KK_MEM_H
#define KK_MEM_H

#include <stddef.h>

/* malloc/calloc/realloc/strdup/free semantics, except that an injected failure returns
 * NULL exactly as an exhausted heap would. mem_realloc(p, n) with an injected failure
 * leaves p untouched. mem_free(NULL) does nothing. */
void *mem_alloc(size_t n);
void *mem_calloc(size_t count, size_t size);
void *mem_realloc(void *p, size_t n);
char *mem_strdup(const char *s);
void mem_free(void *p);

/* Routes jansson's allocations through mem (call once, before any thread starts). */
void mem_init(void);

/* Test hooks. mem_fail_at(n): the n-th allocation from now (0 = the next one) fails,
 * and so does every later one until mem_fail_at(-1) switches injection off again.
 * mem_failed() says whether an injected failure happened since the last mem_fail_at. */
void mem_fail_at(long n);
/* The same with a single failure: the n-th allocation fails, the ones after it do not —
 * the way an error that is not handled as one shows (a failed allocation read as a
 * verdict, and the operation going on). */
void mem_fail_once(long n);
int mem_failed(void);
/* Blocks from mem_alloc/calloc/realloc/strdup not yet given to mem_free. */
long mem_live(void);

#endif
