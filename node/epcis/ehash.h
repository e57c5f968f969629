/*
 * ehash — the CBV 2.0 EPCIS event hash: each event's canonical pre-hash string and its
 * ni:///sha-256;…?ver=CBV2.0 name (CBV 2.0 §8.9, as the reference implementation,
 * RalphTro/epcis-event-hash-generator, computes it; docs/epcis.md has the rules).
 *
 * A document is opened once (its @context's namespaces and the vocabulary values its
 * events use are gathered: a bare "shipping" in bizStep is the CBV IRI
 * https://ref.gs1.org/cbv/BizStep-shipping) and then asked for each event's pre-hash.
 * Nothing is loaded from the network: the EPCIS 2.0 context's terms are built in.
 *
 * Ownership: ehash_open borrows doc (an ejson document) until ehash_close; strings
 * returned are the caller's (mem_free). Not thread-safe per ehash_doc; no global state.
 * Errors: -ENOMEM; KK_E_USAGE with a message when the document has no event list.
 */
#ifndef KK_EHASH_H
#define KK_EHASH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

struct ehash_doc;

/* Opens doc for hashing: 0 and *out, or an error with why. */
int ehash_open(json_t *doc, struct ehash_doc **out, char *why, size_t whylen);
void ehash_close(struct ehash_doc *d);

/* The document's events (epcisBody.eventList, a query document's
 * epcisBody.queryResults.resultsBody.eventList, or one epcisBody.event). */
size_t ehash_count(const struct ehash_doc *d);
json_t *ehash_event(const struct ehash_doc *d, size_t i); /* borrowed */

/* The pre-hash string of an event of the document (i < ehash_count), or of any event
 * object read with the document's context (ehash_prehash_of). 0 or -ENOMEM. */
int ehash_prehash(const struct ehash_doc *d, size_t i, char **out);
int ehash_prehash_of(const struct ehash_doc *d, json_t *event, char **out);

/* "ni:///sha-256;<64 hex>?ver=CBV2.0" of a pre-hash string. */
#define EHASH_NI_LEN 96
void ehash_ni(const char *prehash, char out[EHASH_NI_LEN]);
/* The same name of a hash already taken (a record's source_event). */
void ehash_ni_of(const uint8_t hash[32], char out[EHASH_NI_LEN]);

/* The event's hash in one call: 0 or an error. */
int ehash_event_id(const struct ehash_doc *d, json_t *event, char out[EHASH_NI_LEN]);

#endif
