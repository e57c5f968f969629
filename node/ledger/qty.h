/*
 * qty — exact parsing and printing of masses and shares.
 *
 * Masses are integer milligrams. Input is a decimal number and a unit: t, kg, g or mg
 * ("312.4kg", "20 t", "0.5g"); a value that is not a whole number of milligrams, has no
 * unit, or does not fit in 64 bits is refused (never rounded). Shares are parts per
 * million; input is a percentage with up to four decimals ("40%", "33.3333 %", "100").
 */
#ifndef KK_QTY_H
#define KK_QTY_H

#include <stddef.h>
#include <stdint.h>

/* 0 or KK_E_QUANTITY / KK_E_OVERFLOW. */
int qty_parse_mass(const char *s, uint64_t *mg);
/* 0 or KK_E_SHARE. Accepts 0 < share <= 100 %. */
int qty_parse_share(const char *s, uint32_t *ppm);

/* "47.5 t", "312.4 kg", "12 mg": the largest unit in which the value is at least 1,
 * with as many decimals as it needs (exact). out must hold QTY_FMT bytes. */
#define QTY_FMT 40
char *qty_format_mass(char *out, uint64_t mg);
/* "40 %", "33.3333 %" (share in ppm; exact up to 4 decimals, rounded down beyond). */
char *qty_format_ppm(char *out, uint64_t ppm);
/* v / 10^digits as an exact decimal, trailing zeros trimmed ("12.345", "20"); digits
 * at most 18. */
void qty_format_decimal(char *out, size_t n, uint64_t v, unsigned digits);
/* part/whole as ppm, rounded down; 0 when whole is 0. */
uint64_t qty_ppm(uint64_t part, uint64_t whole);

#endif
