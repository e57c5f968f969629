/*
 * ejson — JSON documents read by jansson with every number kept as its decimal text.
 *
 * EPCIS quantities are exact decimals ("quantity": 12.345 kg is 12,345,000 mg, never a
 * binary float), and jansson reads numbers into doubles and 64-bit integers. So before
 * jansson parses a document, ejson_load rewrites each number token (checked against
 * the JSON grammar) as a string holding a marker byte and the number's text; jansson
 * then parses everything else — strings, escapes, UTF-8, nesting — as it always does.
 * ejson_number tells the two kinds of string apart again. A document whose own strings
 * contain U+0001 (the marker) is refused, so no string can pass for a number.
 *
 * Ownership: ejson_load returns a new reference (json_decref it). Thread-safe: no
 * shared state. Errors: KK_E_USAGE with a message in why (the line of the fault).
 */
#ifndef KK_EJSON_H
#define KK_EJSON_H

#include <jansson.h>
#include <stddef.h>

/* Parses text[0..len) as one JSON object (duplicate keys refused). 0 or an error. */
int ejson_load(const char *text, size_t len, json_t **out, char *why, size_t whylen);

/* The number's decimal text ("12.5", "-3e2") if j is a number read by ejson_load;
 * NULL for anything else. */
const char *ejson_number(const json_t *j);

/* The text of a string that is not a number; NULL for anything else. */
const char *ejson_string(const json_t *j);

/* An ejson number holding text (for documents built in memory, e.g. by an exporter);
 * NULL on allocation failure. */
json_t *ejson_number_new(const char *text);

/* j as JSON text (jansson's json_dumps with flags), each ejson number written as the
 * number it holds. New string (mem_free), NULL on allocation failure. */
char *ejson_dump(const json_t *j, size_t flags);

#endif
