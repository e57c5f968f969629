/*
 * export — the ledger, or a lot's provenance, as one EPCIS 2.0 JSON-LD document
 * (docs/epcis.md, "Export": which record becomes which event, and the kiroku:
 * namespace for what EPCIS has no field for).
 *
 * Every valid record that is an event (issue, transfer, receive, refuse, transform,
 * claim, attest, incident) becomes one; a revocation becomes the revoked record's event
 * declared in error (same eventID, an errorDeclaration). Events are ordered by record
 * time, then author and seq, so two nodes holding the same records write the same
 * document; each carries its CBV 2.0 event hash as eventID and the record it came from
 * (kiroku:record). Quantities are exact decimals in kilograms (uom KGM).
 *
 * Ownership: *doc is a new reference (json_decref); write it with ejson_dump, which
 * writes its quantities as the numbers they are. Reads through txn only. Errors:
 * -ENOMEM, storage errors, KK_E_CORRUPT for a stored record that does not decode.
 */
#ifndef KK_EXPORT_H
#define KK_EXPORT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "../ledger/store.h"

/* The kiroku: namespace of the documents Kiroku writes. */
#define EPCIS_KIROKU_NS "urn:kiroku:epcis:"

/* The document of the records ids[0..n) (ids NULL: every record the store holds);
 * *events: how many events it holds. */
int epcis_export(struct store_txn *txn, struct store *s, const uint8_t (*ids)[32], size_t n, json_t **doc,
                 size_t *events);

#endif
