/*
 * Fuzz target: master data files (kiroku masterdata load): CSV or EPCIS vocabularyList
 * JSON. A file with an error changes nothing; what loads writes out as CSV that reads
 * back to the same entries.
 */
#include "../../node/base/mem.h"
#include "../../node/epcis/masterdata.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int init;
  if (!init) { mem_init(); init = 1; }
  struct epcis_masterdata md = { NULL, 0, 0 }, again = { NULL, 0, 0 };
  size_t added;
  char why[320];
  if (epcis_masterdata_read(&md, (const char *)data, size, &added, why, sizeof why) == 0) {
    char *csv = epcis_masterdata_csv(&md);
    if (csv) {
      if (epcis_masterdata_read(&again, csv, strlen(csv), &added, why, sizeof why) != 0 || again.n != md.n) abort();
      for (size_t i = 0; i < md.n; i++) {
        uint64_t mg;
        if (!epcis_masterdata_get(&again, md.e[i].cls, &mg) || mg != md.e[i].mg) abort();
      }
      mem_free(csv);
    }
  } else if (md.n != 0) abort();
  epcis_masterdata_free(&md);
  epcis_masterdata_free(&again);
  return 0;
}
