/*
 * gs1 — GS1 keys: check digits, and the one canonical GS1 Digital Link form of an
 * identifier that the CBV 2.0 event hash compares (CBV 2.0 §8.9; the reference
 * implementation's dl_normaliser rules, written out in docs/epcis.md):
 *   - EPC URIs (urn:epc:id:sgtin:…, sscc, sgln, grai, giai, gsrn, gsrnp, gdti, cpi,
 *     sgcn, ginc, gsin, itip, upui, pgln), EPC class URIs (urn:epc:class:lgtin:…) and
 *     EPC ID pattern URIs (urn:epc:idpat:sgtin:….*, grai, gdti, sgcn, cpi, itip, upui)
 *     become https://id.gs1.org/AI/… with the check digit computed;
 *   - GS1 Digital Link URIs on any domain become https://id.gs1.org/… with AIs for
 *     short names, no query string, no CPV, and only the finest level (a serial, not
 *     its lot).
 *
 * Pure functions, no allocation, thread-safe.
 */
#ifndef KK_GS1_H
#define KK_GS1_H

#include <stddef.h>

/* The GS1 mod-10 check digit of the digits d[0..n) ('0'..'9'). */
char gs1_check_digit(const char *d, size_t n);

/* 1 when s is 13 digits whose last is the check digit of the first 12 (a GLN). */
int gs1_gln_valid(const char *s);

/* The canonical Digital Link of uri into out[cap]: 1 when uri names a GS1 key in one
 * of the forms above (out written), 0 when it does not (out untouched), -1 when out is
 * too small. */
#define GS1_DL_MAX 512
int gs1_canonical_dl(const char *uri, char *out, size_t cap);

/* An identifier as importers compare them: its canonical Digital Link when it names a
 * GS1 key, else itself (cut at GS1_DL_MAX - 1 bytes). */
void gs1_canonical_or_self(const char *in, char out[GS1_DL_MAX]);

#endif
