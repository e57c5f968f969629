/*
 * capture — an EPCIS 2.0 document made this member's records, all or none: the import's
 * plan (import.h) signed at the feed's next positions, handed to a writer as one batch,
 * and the writer's verdict mapped back onto the events. The one path of `kiroku import
 * --epcis` and of the node's POST /capture and POST /events (node/http).
 *
 * Ownership: doc and md are borrowed; *im is the caller's (epcis_import_free) whatever
 * the result. Reads s through a read transaction of its own, which ends before `write`
 * runs. Errors: KK_E_USAGE (why: the document is no EPCIS document), KK_E_FROZEN (this
 * member's feed is frozen), -ENOMEM, storage errors, what the signer returns; a
 * document whose events cannot become records is no error: 0 with im->refused > 0 and
 * nothing written.
 */
#ifndef KK_CAPTURE_H
#define KK_CAPTURE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "import.h"
#include "masterdata.h"
#include "../ledger/store.h"

/* The member whose feed the records join. */
struct epcis_member {
  const uint8_t *pk;          /* 32: its feed */
  const uint8_t *sk;          /* 64: the key that signs its records now */
  const uint8_t *network;     /* 32 */
};

/* Writes the batch envs[0..n) (this member's feed in order from the head the plan read)
 * all or none: 0, or the verdict with *failed the index of the record refused (n when
 * the batch as a whole failed, e.g. KK_E_BUSY: the head moved). */
typedef int (*epcis_write_fn)(void *arg, const uint8_t *const *envs, const size_t *lens, size_t n, size_t *failed);

/* Plans doc, signs (events without an eventTime get now_ms), and — when every event can
 * become a record or needs none — calls write once (not at all when nothing is new).
 * On return im says what each event became; a record the rules refused turns its event
 * EI_REFUSED with the reason (im->refused counts them: nothing was written). *write_rc
 * gets write's result (0 when not called) for a caller that tells a busy head or an
 * unconfirmed feed from a refusal. */
int epcis_capture(struct store *s, const struct epcis_member *m, json_t *doc, const struct epcis_masterdata *md,
                  uint64_t now_ms, epcis_write_fn write, void *warg, struct epcis_import *im, int *write_rc, char *why,
                  size_t whylen);

/* The events of an import as JSON: [{index, event_id, status (record, held, other_party,
 * unmapped, refused), record, kind, why}]; NULL when memory runs out. */
json_t *epcis_capture_json(const struct epcis_import *im);
const char *epcis_import_what_name(enum epcis_import_what w);

#endif
