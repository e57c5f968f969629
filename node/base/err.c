/*
 * err — messages for Kiroku's error codes, -errno and a registered library's codes.
 */
#include "err.h"

#include <string.h>

struct kk_err_info { const char *name; char cls; const char *msg; };

#define KK_X_INFO(name, cls, msg) { #name, cls, msg },
static const struct kk_err_info kk_err_table[] = { KK_ERRORS(KK_X_INFO) };
#undef KK_X_INFO

static const struct kk_err_info *kk_err_lookup(int code)
{
  int idx = KK_ERR_BASE - 1 - code;
  if (code < KK_ERR_BASE && idx >= 0 && idx < KK_EI__COUNT)
    return &kk_err_table[idx];
  return NULL;
}

static struct { int lo, hi; const char *name; const char *(*msg)(int); } kk_err_library;

void kk_err_register_library(int lo, int hi, const char *name, const char *(*msg)(int code))
{
  kk_err_library.lo = lo;
  kk_err_library.hi = hi;
  kk_err_library.name = name;
  kk_err_library.msg = msg;
}

static int kk_err_in_library(int code)
{
  return kk_err_library.msg && code >= kk_err_library.lo && code <= kk_err_library.hi;
}

const char *kk_strerror(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  if (code == 0) return "success";
  if (e) return e->msg;
  if (kk_err_in_library(code)) return kk_err_library.msg(code);
  if (code < 0 && code > -4096) return strerror(-code);
  if (code > 0 && code < 4096) return strerror(code); /* LMDB reports system errors positive */
  return "unknown error";
}

const char *kk_errname(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  if (e) return e->name;
  if (kk_err_in_library(code)) return kk_err_library.name;
  return "ERRNO";
}

int kk_err_is_input(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  return e && e->cls == 'I';
}
