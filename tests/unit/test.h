/*
 * test — a tiny unit-test harness in the manner of libuv's: every test is a function
 * listed in tests/unit/list.h, run in its own process with a timeout, and reported as
 * "ok - NAME" or "not ok - NAME: why". `build/unit NAME` runs one test.
 */
#ifndef KK_TEST_H
#define KK_TEST_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define TEST(name) void test_##name(void)

/* Every test's prototype: a TEST missing from list.h has none, and the unit tests are
 * compiled with -Wmissing-prototypes, so it cannot be left out of the run unnoticed. */
#include "list.h"
#define X(name) void test_##name(void);
TEST_LIST(X)
#undef X

#define FAIL(...) do { \
    fprintf(stderr, "%s:%d: ", __FILE__, __LINE__); \
    fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); exit(1); } while (0)

#define ASSERT(cond) do { if (!(cond)) FAIL("assertion failed: %s", #cond); } while (0)

#define ASSERT_EQ(a, b) do { \
    long long a_ = (long long)(a), b_ = (long long)(b); \
    if (a_ != b_) FAIL("%s == %s: %lld != %lld", #a, #b, a_, b_); } while (0)

#define ASSERT_U64(a, b) do { \
    unsigned long long a_ = (unsigned long long)(a), b_ = (unsigned long long)(b); \
    if (a_ != b_) FAIL("%s == %s: %llu != %llu", #a, #b, a_, b_); } while (0)

#define ASSERT_OK(expr) do { int r_ = (expr); if (r_ != 0) FAIL("%s returned %d", #expr, r_); } while (0)

#define ASSERT_STR(a, b) do { \
    const char *a_ = (a), *b_ = (b); \
    if (strcmp(a_, b_) != 0) FAIL("%s == %s: \"%s\" != \"%s\"", #a, #b, a_, b_); } while (0)

/* A fresh scratch directory for this test (removed by the harness afterwards). */
const char *test_tmpdir(void);

#endif
