/*
 * recfile — splitting a records file.
 */
#include "recfile.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../../proto/codec.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

int recfile_split(const uint8_t *buf, size_t len, struct ingest_item **items, size_t *n)
{
  if (len < RECFILE_MAGIC_LEN || memcmp(buf, RECFILE_MAGIC, RECFILE_MAGIC_LEN) != 0) return KK_ERR(RECFILE);
  size_t count = 0, off = RECFILE_MAGIC_LEN;
  while (off < len) {
    if (len - off < 4) return KK_ERR(RECFILE);
    uint32_t rl = be32_get(buf + off);
    /* The size cap is checked before the length is trusted for anything. */
    if (rl == 0 || rl > CODEC_MAX_RECORD || rl > len - off - 4) return KK_ERR(RECFILE);
    off += 4 + (size_t)rl;
    count++;
  }
  struct ingest_item *it = mem_calloc(count ? count : 1, sizeof *it);
  if (!it) return -ENOMEM;
  off = RECFILE_MAGIC_LEN;
  for (size_t i = 0; i < count; i++) {
    uint32_t rl = be32_get(buf + off);
    it[i].env = buf + off + 4;
    it[i].len = rl;
    off += 4 + (size_t)rl;
  }
  *items = it;
  *n = count;
  return 0;
}
