/*
 * frame — stream reassembly with a size cap checked before allocation.
 */
#include "frame.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void frame_rd_init(struct frame_rd *r, size_t max)
{
  memset(r, 0, sizeof *r);
  r->max = max;
}

void frame_rd_free(struct frame_rd *r)
{
  mem_free(r->buf);
  r->buf = NULL;
  r->hdr_got = r->got = r->len = 0;
}

void frame_header(uint8_t hdr[4], size_t len)
{
  be32_put(hdr, (uint32_t)len);
}

int frame_feed(struct frame_rd *r, const uint8_t *p, size_t n, frame_cb cb, void *ctx)
{
  while (n) {
    if (r->hdr_got < 4) {
      size_t take = 4 - r->hdr_got < n ? 4 - r->hdr_got : n;
      memcpy(r->hdr + r->hdr_got, p, take);
      r->hdr_got += take;
      p += take;
      n -= take;
      if (r->hdr_got < 4) break;
      r->len = be32_get(r->hdr);
      if (r->len == 0) return KK_ERR(DECODE);
      if (r->len > r->max) return KK_ERR(TOO_LARGE);
      r->buf = mem_alloc(r->len);
      if (!r->buf) return -ENOMEM;
      r->got = 0;
    }
    size_t take = r->len - r->got < n ? r->len - r->got : n;
    memcpy(r->buf + r->got, p, take);
    r->got += take;
    p += take;
    n -= take;
    if (r->got == r->len) {
      uint8_t *frame = r->buf;
      size_t len = r->len;
      r->buf = NULL;
      r->hdr_got = 0;
      int rc = cb(ctx, frame, len);
      if (rc != FRAME_KEEP) mem_free(frame);
      if (rc != 0 && rc != FRAME_KEEP) return rc;
    }
  }
  return 0;
}
