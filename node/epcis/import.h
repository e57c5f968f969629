/*
 * import — an EPCIS 2.0 document's events as this member's records (docs/epcis.md,
 * "Import": which event becomes which record, how parties, lots and units are read).
 *
 * epcis_import_plan reads every event and decides what it is: a record to write (its
 * body built, signed by the caller through `sign` in document order, so that a later
 * event can name a lot an earlier one made), an event imported before (its CBV 2.0 hash
 * is the source_event of a record of this feed), another party's event ("import it at
 * that party's node"), one with no Kiroku meaning (a sensor reading), or one that
 * cannot become a record (an unknown lot, member or unit, a quantity finer than a
 * milligram) — the last refuses the document: the caller writes nothing. Whether the
 * records keep the invariants is the rules' judgement when the caller ingests them,
 * all together (INGEST_LOCAL).
 *
 * Ownership: *out (and each event's body) is the caller's: epcis_import_free. doc is
 * borrowed. Reads through txn. Errors: -ENOMEM, storage errors, or what sign returns;
 * refusals are not errors but events marked EI_REFUSED (the plan's `refused` count).
 */
#ifndef KK_IMPORT_H
#define KK_IMPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "ehash.h"
#include "../ledger/store.h"
#include "../../proto/codec.h"

enum epcis_import_what {
  EI_RECORD = 1,   /* becomes a record: body, id */
  EI_HELD,         /* imported before: held is its record */
  EI_OTHER_PARTY,  /* an event of another member (why names it) */
  EI_UNMAPPED,     /* no Kiroku record means it (why says what it is) */
  EI_REFUSED,      /* cannot become a record (why): the document is refused */
};

struct epcis_import_event {
  size_t index;                  /* in the document's event list */
  char event_id[EHASH_NI_LEN];   /* its CBV 2.0 event hash */
  enum epcis_import_what what;
  char why[320];
  struct kk_body *body;          /* EI_RECORD */
  uint8_t id[32];                /* EI_RECORD: as signed; EI_HELD: the record held */
};

struct epcis_import {
  struct epcis_import_event *ev;
  size_t n, records, refused;
};

/* sign: gives b its place in the member's feed (and a time, when b's time_ms is 0: the
 * event had no eventTime), signs it and returns its id (0), or an error that stops the
 * plan. */
typedef int (*epcis_sign_fn)(void *arg, struct kk_body *b, uint8_t id[32]);

/* md: the member's master data (NULL: none), for quantities in pieces. */
struct epcis_masterdata;
int epcis_import_plan(struct store_txn *txn, struct store *s, const uint8_t me[32], json_t *doc,
                      const struct epcis_masterdata *md, epcis_sign_fn sign, void *arg, struct epcis_import *out,
                      char *why, size_t whylen);
void epcis_import_free(struct epcis_import *im);

#endif
