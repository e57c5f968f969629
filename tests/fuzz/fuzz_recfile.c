/*
 * Fuzz target: records files given to `kiroku import-records` — the magic, every
 * length checked against the cap and what is left, before the records are decoded.
 */
#include "../../node/ledger/recfile.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  struct ingest_item *items;
  size_t n;
  if (recfile_split(data, size, &items, &n) == 0) {
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
      if (items[i].env < data || items[i].env + items[i].len > data + size) abort();
      total += items[i].len;
    }
    if (total > size) abort();
    free(items);
  }
  return 0;
}
