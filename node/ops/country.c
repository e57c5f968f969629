/*
 * country — ISO 3166-1 alpha-2 codes for what people type (ops.h): only codes that exist are
 * accepted, and a refusal suggests the nearest (upper case, a known alias, the code of
 * a country's name, codes one letter away).
 *
 * The rules check a code's form only (two upper-case letters), so a record's validity
 * never depends on which build judged it; this list guards what a person types.
 */
#include "ops.h"
#include "countries.h"
#include "../base/err.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#define N_COUNTRIES (sizeof countries / sizeof countries[0])

static const struct country *find_code(const char *code)
{
  for (size_t i = 0; i < N_COUNTRIES; i++)
    if (strcmp(countries[i].code, code) == 0) return &countries[i];
  return NULL;
}

/* Codes people use that ISO assigns otherwise. */
static const char *alias(const char *up)
{
  static const char *pairs[][2] = { { "UK", "GB" }, { "EL", "GR" }, { "EN", "GB" } };
  for (size_t i = 0; i < sizeof pairs / sizeof pairs[0]; i++)
    if (strcmp(pairs[i][0], up) == 0) return pairs[i][1];
  return NULL;
}

int op_check_country(const char *in, char *why, size_t n)
{
  char up[3];
  why[0] = 0;
  size_t len = strlen(in);
  if (len == 2) {
    up[0] = (char)toupper((unsigned char)in[0]);
    up[1] = (char)toupper((unsigned char)in[1]);
    up[2] = 0;
    if (strcmp(in, up) == 0 && find_code(up)) return 0;
    const char *a = alias(up);
    const struct country *c = find_code(a ? a : up);
    if (c) {
      snprintf(why, n, "did you mean %s (%s)? codes are ISO 3166-1 alpha-2, in upper case", c->code, c->name);
      return KK_ERR(COUNTRY);
    }
    /* codes one letter away: the same first letter first */
    size_t at = (size_t)snprintf(why, n, "'%s' is no ISO 3166-1 alpha-2 code", in);
    int any = 0;
    for (int pass = 0; pass < 2 && any < 5; pass++)
      for (size_t i = 0; i < N_COUNTRIES && at < n && any < 5; i++) {
        const char *k = countries[i].code;
        if (pass == 0 ? !(k[0] == up[0] && k[1] != up[1]) : !(k[1] == up[1] && k[0] != up[0])) continue;
        if (any == 4) { at += (size_t)snprintf(why + at, n - at, ", …"); any++; break; }
        at += (size_t)snprintf(why + at, n - at, "%s %s (%s)", any ? "," : "; nearest:", k, countries[i].name);
        any++;
      }
    return KK_ERR(COUNTRY);
  }
  /* a country's name instead of its code */
  for (size_t i = 0; i < N_COUNTRIES; i++)
    if (len >= 3 && strncasecmp(countries[i].name, in, len) == 0) {
      snprintf(why, n, "%s is %s: give the two-letter ISO 3166-1 code", countries[i].name, countries[i].code);
      return KK_ERR(COUNTRY);
    }
  snprintf(why, n, "'%s' is no ISO 3166-1 alpha-2 code: two upper-case letters, such as JP or DE", in);
  return KK_ERR(COUNTRY);
}
