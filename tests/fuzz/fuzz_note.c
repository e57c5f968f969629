/*
 * Fuzz target: signed notes and checkpoints from peers — splitting, signature and
 * cosignature lines, and the checkpoint body parser.
 */
#include "../../crypto/note.h"

#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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
  return 0;
}
