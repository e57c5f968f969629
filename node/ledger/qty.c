/*
 * qty — exact decimal quantities.
 */
#include "qty.h"
#include "../base/err.h"

#include <stdio.h>
#include <string.h>

/* Parses "digits[.digits]" scaled by 10^scale_digits exactly. *rest gets what follows. */
static int qty_decimal(const char *s, unsigned scale_digits, uint64_t *out, const char **rest)
{
  unsigned __int128 v = 0;
  const char *p = s;
  int digits = 0;
  while (*p >= '0' && *p <= '9') {
    v = v * 10 + (unsigned)(*p++ - '0');
    if (v > UINT64_MAX) return KK_ERR(OVERFLOW);
    digits++;
  }
  unsigned frac = 0;
  if (*p == '.') {
    p++;
    while (*p >= '0' && *p <= '9') {
      if (frac == scale_digits) {
        if (*p != '0') return -1; /* finer than the unit allows: not exact */
        p++;
        continue;
      }
      v = v * 10 + (unsigned)(*p++ - '0');
      frac++;
      digits++;
    }
  }
  if (!digits) return -1;
  for (; frac < scale_digits; frac++) {
    v *= 10;
    if (v > UINT64_MAX) return KK_ERR(OVERFLOW);
  }
  if (v > UINT64_MAX) return KK_ERR(OVERFLOW);
  *out = (uint64_t)v;
  *rest = p;
  return 0;
}

int qty_parse_mass(const char *s, uint64_t *mg)
{
  static const struct { const char *unit; unsigned digits; } units[] = {
    { "mg", 0 }, { "kg", 6 }, { "g", 3 }, { "t", 9 },
  };
  /* Find the unit first: the decimal scale depends on it. */
  size_t n = strlen(s);
  while (n && s[n - 1] == ' ') n--;
  for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
    size_t ul = strlen(units[u].unit);
    if (n <= ul || strncmp(s + n - ul, units[u].unit, ul) != 0) continue;
    if (u == 2 && n >= 2 && (s[n - 2] == 'k' || s[n - 2] == 'm')) continue; /* kg, mg */
    char num[64];
    size_t nl = n - ul;
    while (nl && s[nl - 1] == ' ') nl--;
    if (nl == 0 || nl >= sizeof num) return KK_ERR(QUANTITY);
    memcpy(num, s, nl);
    num[nl] = 0;
    const char *rest;
    uint64_t v;
    int rc = qty_decimal(num, units[u].digits, &v, &rest);
    if (rc == KK_ERR(OVERFLOW)) return rc;
    if (rc || *rest) return KK_ERR(QUANTITY);
    *mg = v;
    return 0;
  }
  return KK_ERR(QUANTITY);
}

int qty_parse_share(const char *s, uint32_t *ppm)
{
  const char *rest;
  uint64_t v;
  if (qty_decimal(s, 4, &v, &rest)) return KK_ERR(SHARE);
  while (*rest == ' ') rest++;
  if (*rest == '%') rest++;
  if (*rest || v == 0 || v > 1000000) return KK_ERR(SHARE);
  *ppm = (uint32_t)v;
  return 0;
}

void qty_format_decimal(char *out, size_t n, uint64_t v, unsigned digits)
{
  uint64_t p = 1;
  for (unsigned i = 0; i < digits; i++) p *= 10;
  uint64_t whole = v / p, frac = v % p;
  if (!frac) { snprintf(out, n, "%llu", (unsigned long long)whole); return; }
  char f[24];
  snprintf(f, sizeof f, "%0*llu", (int)digits, (unsigned long long)frac);
  size_t fl = strlen(f);
  while (fl && f[fl - 1] == '0') f[--fl] = 0;
  snprintf(out, n, "%llu.%s", (unsigned long long)whole, f);
}

char *qty_format_mass(char *out, uint64_t mg)
{
  char num[32];
  const char *unit;
  if (mg >= 1000000000ull) { qty_format_decimal(num, sizeof num, mg, 9); unit = "t"; }
  else if (mg >= 1000000ull) { qty_format_decimal(num, sizeof num, mg, 6); unit = "kg"; }
  else if (mg >= 1000ull) { qty_format_decimal(num, sizeof num, mg, 3); unit = "g"; }
  else { qty_format_decimal(num, sizeof num, mg, 0); unit = "mg"; }
  snprintf(out, QTY_FMT, "%s %s", num, unit);
  return out;
}

char *qty_format_ppm(char *out, uint64_t ppm)
{
  char num[32];
  qty_format_decimal(num, sizeof num, ppm, 4);
  snprintf(out, QTY_FMT, "%s %%", num);
  return out;
}

uint64_t qty_ppm(uint64_t part, uint64_t whole)
{
  if (!whole) return 0;
  return (uint64_t)((unsigned __int128)part * 1000000u / whole);
}
