/*
 * Fuzz target: signed notes and checkpoints from peers — splitting, signature and
 * cosignature lines, the checkpoint body parser and Kiroku's checkpoint view.
 */
#include "../../crypto/note.h"
#include "../../node/ledger/ckpt.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static int count_line(void *ctx, const char *name, size_t nl, const char *line, size_t ll)
{
  uint8_t pk[32];
  (void)line;
  (void)ll;
  *(size_t *)ctx += ckpt_witness_key(name, nl, pk) == 0;
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static uint8_t pk[32];
  char origin[256];
  uint64_t n, t;
  uint8_t root[32];
  size_t tl;
  (void)note_verify((const char *)data, size, "kiroku", pk);
  (void)note_verify_cosignature((const char *)data, size, "witness", pk, &t);
  if (note_split((const char *)data, size, &tl) == 0)
    (void)note_checkpoint_parse((const char *)data, tl, origin, sizeof origin, &n, root);
  (void)note_checkpoint_parse((const char *)data, size, origin, sizeof origin, &n, root);
  /* Kiroku's own reading of a checkpoint note: origin naming network and feed, lines. */
  struct ckpt_view v;
  size_t witnesses = 0;
  (void)ckpt_parse((const char *)data, size, &v);
  (void)note_each_line((const char *)data, size, count_line, &witnesses);
  return 0;
}
