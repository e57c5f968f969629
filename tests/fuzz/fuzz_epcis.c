/*
 * Fuzz target: an untrusted EPCIS document through the exact-number JSON reader and the
 * CBV 2.0 event hash. Whatever the bytes, each step ends in a result or an error; an
 * event's pre-hash is the same when computed twice (no state leaks between events).
 */
#include "../../node/base/mem.h"
#include "../../node/epcis/ehash.h"
#include "../../node/epcis/ejson.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int init;
  if (!init) { mem_init(); init = 1; }
  json_t *doc;
  char why[256];
  if (ejson_load((const char *)data, size, &doc, why, sizeof why)) return 0;
  struct ehash_doc *d;
  if (ehash_open(doc, &d, why, sizeof why) == 0) {
    for (size_t i = 0; i < ehash_count(d) && i < 64; i++) {
      char *a = NULL, *b = NULL;
      int ra = ehash_prehash(d, i, &a), rb = ehash_prehash(d, i, &b);
      if (ra != rb || (ra == 0 && strcmp(a, b) != 0)) abort();
      mem_free(a);
      mem_free(b);
    }
    ehash_close(d);
  }
  json_decref(doc);
  return 0;
}
