/*
 * evalue — values of EPCIS events: their canonical form in the CBV 2.0 event hash
 * (docs/epcis.md: times in UTC at millisecond precision, numbers in one spelling, CBV
 * 1.x URNs as CBV 2.0 IRIs, GS1 keys as canonical Digital Links), and quantities read
 * exactly, as whole milligrams.
 *
 * Pure functions; strings returned are the caller's (mem_free); thread-safe.
 */
#ifndef KK_EVALUE_H
#define KK_EVALUE_H

#include <stddef.h>
#include <stdint.h>

#define EVALUE_MAX 512

/* An ISO 8601 date-time ("2026-12-01T09:00:00.1235+09:00") as UTC at millisecond
 * precision ("2026-12-01T00:00:00.124Z"; microseconds rounded half to even, as the
 * reference does; a time without offset is read as UTC): 1 and out, 0 when s is none. */
int evalue_time(const char *s, char out[EVALUE_MAX]);
/* The same as milliseconds since 1970 (1 and *ms; 0 when s is none or earlier). */
int evalue_time_ms(const char *s, uint64_t *ms);

/* A decimal number as the reference writes it (Python's str(float)): "452.0" → "452",
 * "12.10" → "12.1", "1e3" → "1000", "0.00001" → "1e-05": 1 and out, 0 when s is none.
 * (The hash's spelling only: quantities are read exactly elsewhere.) */
int evalue_number(const char *s, char out[EVALUE_MAX]);

/* value trimmed, then: a time (time != 0: the field's name holds "time" but not
 * "offset"), else CBV 1.x URNs replaced, a number respelled, a GS1 key as its canonical
 * Digital Link. New string, NULL on allocation failure. */
char *evalue_canon(const char *value, int time);

/* A quantity of EPCIS (decimal text, UN/ECE Rec 20 unit: KGM, TNE, GRM, MGM, LBR) in
 * whole milligrams: 0, or KK_E_QUANTITY with why (a unit it does not know, pieces
 * without master data, finer than a milligram, negative) / KK_E_OVERFLOW. */
int epcis_quantity_mg(const char *text, const char *uom, uint64_t *mg, char *why, size_t whylen);

/* A percentage (decimal text, above 0, at most 100, to 4 decimals) in parts per million:
 * 0 or KK_E_SHARE. */
int epcis_percent_ppm(const char *text, uint32_t *ppm);

#endif
