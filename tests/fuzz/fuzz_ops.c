/*
 * Fuzz target: untrusted arguments of a member's command (the JSON of POST
 * /kiroku/v1/{command}, the command line's options) through node/ops against an empty
 * scratch store. Input: a byte choosing the command, then "name=value" lines. Every
 * result is a record that encodes, or a refusal that names what is wrong — never a crash.
 */
#include "../../node/base/err.h"
#include "../../node/base/mem.h"
#include "../../node/ops/ops.h"
#include "../../node/ledger/store.h"
#include "../../proto/codec.h"
#include "scratch.h"

#include <errno.h>
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
  static int init;
  if (!init) {
    if (sodium_init() < 0) abort();
    mem_init();
    init = 1;
  }
  if (size < 1 || size > 8192) return 0;
  struct store *scratch = fuzz_scratch_store();
  enum op_kind k = (enum op_kind)(data[0] % OP_COUNT);
  char *text = malloc(size);
  if (!text) return 0;
  memcpy(text, data + 1, size - 1);
  text[size - 1] = 0;
  struct op_args a;
  memset(&a, 0, sizeof a);
  char *save = NULL;
  for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
    char *eq = strchr(line, '=');
    if (!eq) continue;
    *eq = 0;
    if (op_args_add(&a, line, eq + 1)) break;
  }
  struct store_txn *txn;
  if (store_read(scratch, &txn)) abort();
  uint8_t me[32] = { 2 };
  struct op_plan p;
  struct op_error e;
  int rc = op_build(txn, scratch, me, k, &a, "", &p, &e);
  store_txn_abort(txn);
  if (rc == 0) {
    uint8_t *body;
    size_t len;
    p.body->version = CODEC_VERSION;
    p.body->has_network = 1;
    memset(p.body->network, 1, 32);
    memcpy(p.body->author, me, 32);
    p.body->seq = 1;
    int erc = codec_body_encode(p.body, &body, &len);
    if (erc && erc != -ENOMEM) abort(); /* ops built a record that is not well-formed */
    if (!erc) mem_free(body);
    op_plan_free(&p);
  } else if (rc != -ENOMEM && !e.what[0]) {
    abort(); /* a refusal that does not say which argument */
  }
  free(text);
  return 0;
}
