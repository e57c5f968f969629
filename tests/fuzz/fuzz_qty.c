/*
 * Fuzz target: the CLI's quantity and share parsers; a parsed mass must print and parse
 * back to the same number of milligrams.
 */
#include "../../node/ledger/qty.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  char s[128];
  if (size >= sizeof s) return 0;
  memcpy(s, data, size);
  s[size] = 0;
  uint64_t mg, again;
  uint32_t ppm;
  if (qty_parse_mass(s, &mg) == 0) {
    char out[QTY_FMT];
    qty_format_mass(out, mg);
    char *sp = strchr(out, ' ');
    if (sp) memmove(sp, sp + 1, strlen(sp));  /* "47.5 t" -> "47.5t" */
    if (qty_parse_mass(out, &again) != 0 || again != mg) abort();
  }
  (void)qty_parse_share(s, &ppm);
  return 0;
}
