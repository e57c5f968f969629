/*
 * err — messages for Kiroku's error codes, -errno and LMDB's codes.
 */
#include "err.h"

#include <lmdb.h>
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

const char *kk_strerror(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  if (code == 0) return "success";
  if (e) return e->msg;
  if (code >= MDB_KEYEXIST && code <= MDB_LAST_ERRCODE) return mdb_strerror(code);
  if (code < 0 && code > -4096) return strerror(-code);
  if (code > 0 && code < 4096) return strerror(code); /* LMDB reports system errors positive */
  return "unknown error";
}

const char *kk_errname(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  if (e) return e->name;
  if (code >= MDB_KEYEXIST && code <= MDB_LAST_ERRCODE) return "LMDB";
  return "ERRNO";
}

int kk_err_is_input(int code)
{
  const struct kk_err_info *e = kk_err_lookup(code);
  return e && e->cls == 'I';
}
