/*
 * buf — byte writer/reader with sticky errors.
 */
#include "buf.h"
#include "mem.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void buf_init(struct buf *b) { memset(b, 0, sizeof *b); }

void buf_free(struct buf *b)
{
  if (!b) return;
  mem_free(b->p);
  memset(b, 0, sizeof *b);
}

void buf_text(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

char *buf_cstr(struct buf *b)
{
  buf_u8(b, 0);
  char *s = (char *)b->p;
  if (b->err) {
    mem_free(b->p);
    s = NULL;
  }
  memset(b, 0, sizeof *b);
  return s;
}

void buf_put(struct buf *b, const void *p, size_t n)
{
  if (b->err) return;
  if (b->len + n > b->cap) {
    size_t cap = b->cap ? b->cap : 256;
    while (cap < b->len + n) cap *= 2;
    uint8_t *np = mem_realloc(b->p, cap);
    if (!np) { b->err = -ENOMEM; return; }
    b->p = np;
    b->cap = cap;
  }
  if (n) memcpy(b->p + b->len, p, n);
  b->len += n;
}

void buf_u8(struct buf *b, uint8_t v) { buf_put(b, &v, 1); }

void buf_u32(struct buf *b, uint32_t v)
{
  uint8_t x[4] = { (uint8_t)v, (uint8_t)(v >> 8), (uint8_t)(v >> 16), (uint8_t)(v >> 24) };
  buf_put(b, x, 4);
}

void buf_u64(struct buf *b, uint64_t v)
{
  buf_u32(b, (uint32_t)v);
  buf_u32(b, (uint32_t)(v >> 32));
}

void buf_str(struct buf *b, const char *s)
{
  size_t n = strlen(s);
  buf_u32(b, (uint32_t)n);
  buf_put(b, s, n);
}

size_t buf_varint_encode(uint8_t p[BUF_VARINT_MAX], uint64_t v)
{
  size_t n = 0;
  do {
    p[n] = (uint8_t)(v & 0x7f);
    v >>= 7;
    if (v) p[n] |= 0x80;
    n++;
  } while (v);
  return n;
}

void buf_varint(struct buf *b, uint64_t v)
{
  uint8_t x[BUF_VARINT_MAX];
  buf_put(b, x, buf_varint_encode(x, v));
}

void buf_vstr(struct buf *b, const char *s)
{
  size_t n = strlen(s);
  buf_varint(b, n);
  buf_put(b, s, n);
}

void rd_init(struct rd *r, const void *p, size_t len)
{
  r->p = p;
  r->len = len;
  r->off = 0;
  r->err = 0;
}

void rd_get(struct rd *r, void *out, size_t n)
{
  if (r->err || r->len - r->off < n) {
    r->err = KK_ERR(CORRUPT);
    memset(out, 0, n);
    return;
  }
  memcpy(out, r->p + r->off, n);
  r->off += n;
}

uint8_t rd_u8(struct rd *r) { uint8_t v; rd_get(r, &v, 1); return v; }

uint32_t rd_u32(struct rd *r)
{
  uint8_t x[4];
  rd_get(r, x, 4);
  return (uint32_t)x[0] | (uint32_t)x[1] << 8 | (uint32_t)x[2] << 16 | (uint32_t)x[3] << 24;
}

uint64_t rd_u64(struct rd *r)
{
  uint64_t lo = rd_u32(r);
  return lo | (uint64_t)rd_u32(r) << 32;
}

void rd_str(struct rd *r, char *out, size_t cap)
{
  uint32_t n = rd_u32(r);
  if (n > cap) { r->err = KK_ERR(CORRUPT); out[0] = 0; return; }
  rd_get(r, out, n);
  out[r->err ? 0 : n] = 0;
}

uint64_t rd_varint(struct rd *r)
{
  uint64_t v = 0;
  for (unsigned shift = 0; !r->err; shift += 7) {
    uint8_t x = rd_u8(r);
    if (r->err) break;
    if (shift == 63 && x > 1) break;                     /* past 64 bits */
    v |= (uint64_t)(x & 0x7f) << shift;
    if (!(x & 0x80)) {
      if (x == 0 && shift > 0) break;                    /* not the shortest form */
      return v;
    }
    if (shift == 63) break;
  }
  r->err = KK_ERR(CORRUPT);
  return 0;
}

void rd_vstr(struct rd *r, char *out, size_t cap)
{
  uint64_t n = rd_varint(r);
  if (r->err || n > cap) { r->err = KK_ERR(CORRUPT); out[0] = 0; return; }
  rd_get(r, out, (size_t)n);
  out[r->err ? 0 : n] = 0;
}

int rd_done(const struct rd *r)
{
  return r->err || r->off != r->len ? KK_ERR(CORRUPT) : 0;
}

void be64_put(uint8_t *p, uint64_t v)
{
  for (int i = 7; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

uint64_t be64_get(const uint8_t *p)
{
  uint64_t v = 0;
  for (int i = 0; i < 8; i++) v = v << 8 | p[i];
  return v;
}

void be32_put(uint8_t *p, uint32_t v)
{
  for (int i = 3; i >= 0; i--) { p[i] = (uint8_t)v; v >>= 8; }
}

uint32_t be32_get(const uint8_t *p)
{
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

void be16_put(uint8_t *p, uint16_t v)
{
  p[0] = (uint8_t)(v >> 8);
  p[1] = (uint8_t)v;
}

uint16_t be16_get(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
