/*
 * Fuzz target: an untrusted EPCIS document through the importer's plan (kiroku import
 * --epcis) against an empty scratch store: every event ends as a record, held, another
 * party's, unmapped or refused — never a crash — and every record it builds encodes.
 */
#include "../../crypto/sig.h"
#include "../../node/base/mem.h"
#include "../../node/epcis/ejson.h"
#include "../../node/epcis/import.h"
#include "../../node/ledger/store.h"
#include "../../proto/codec.h"
#include "scratch.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stands in for signing: the record must encode; its id is the hash of the bytes. */
static int sign(void *arg, struct kk_body *b, uint8_t id[32])
{
  uint8_t *body;
  size_t len;
  (void)arg;
  b->version = CODEC_VERSION;
  b->has_network = 1;
  memset(b->network, 1, 32);
  memset(b->author, 2, 32);
  b->seq = 1;
  int rc = codec_body_encode(b, &body, &len);
  if (rc == -ENOMEM) return rc;
  if (rc) abort(); /* the importer built a record that is not well-formed */
  sig_sha256(id, body, len);
  mem_free(body);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int init;
  if (!init) {
    if (sodium_init() < 0) abort();
    mem_init();
    init = 1;
  }
  struct store *scratch = fuzz_scratch_store();
  json_t *doc;
  char why[320];
  if (ejson_load((const char *)data, size, &doc, why, sizeof why)) return 0;
  struct store_txn *txn;
  if (store_read(scratch, &txn)) abort();
  uint8_t me[32] = { 2 };
  struct epcis_import im;
  if (epcis_import_plan(txn, scratch, me, doc, NULL, sign, NULL, &im, why, sizeof why) == 0) {
    size_t records = 0, refused = 0;
    for (size_t i = 0; i < im.n; i++) {
      records += im.ev[i].what == EI_RECORD;
      refused += im.ev[i].what == EI_REFUSED;
      if (im.ev[i].what == EI_RECORD && !im.ev[i].body) abort();
    }
    if (records != im.records || refused != im.refused) abort();
    epcis_import_free(&im);
  }
  store_txn_abort(txn);
  json_decref(doc);
  return 0;
}
