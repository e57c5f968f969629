/*
 * evalue — canonical values of the event hash (see evalue.h).
 */
#include "evalue.h"
#include "gs1.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int days_from_civil(long y, unsigned m, unsigned d, long *out)
{
  y -= m <= 2;
  long era = (y >= 0 ? y : y - 399) / 400;
  unsigned yoe = (unsigned)(y - era * 400);
  unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  *out = era * 146097 + (long)doe - 719468;
  return 0;
}

static void civil_from_days(long z, long *y, unsigned *m, unsigned *d)
{
  z += 719468;
  long era = (z >= 0 ? z : z - 146096) / 146097;
  unsigned doe = (unsigned)(z - era * 146097);
  unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  long yy = (long)yoe + era * 400;
  unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  unsigned mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = yy + (*m <= 2);
}

static int num(const char *p, int n, int *v)
{
  *v = 0;
  for (int i = 0; i < n; i++) {
    if (p[i] < '0' || p[i] > '9') return 0;
    *v = *v * 10 + (p[i] - '0');
  }
  return 1;
}

/* An ISO 8601 date-time as seconds since the epoch and milliseconds: 1, or 0. */
static int parse_time(const char *s, long long *tsec, int *tms)
{
  int Y, M, D, h, m, sec = 0, us = 0;
  if (!num(s, 4, &Y) || s[4] != '-' || !num(s + 5, 2, &M) || s[7] != '-' || !num(s + 8, 2, &D) || (s[10] != 'T' && s[10] != ' ') ||
      !num(s + 11, 2, &h) || s[13] != ':' || !num(s + 14, 2, &m))
    return 0;
  const char *p = s + 16;
  if (*p == ':') {
    if (!num(p + 1, 2, &sec)) return 0;
    p += 3;
    if (*p == '.' || *p == ',') {
      p++;
      int digits = 0;
      while (*p >= '0' && *p <= '9') {
        if (digits < 6) us = us * 10 + (*p - '0');
        digits++;
        p++;
      }
      if (!digits) return 0;
      for (int i = digits; i < 6; i++) us *= 10;
    }
  }
  int off = 0; /* minutes east of UTC */
  if (*p == 'Z' || *p == 'z') p++;
  else if (*p == '+' || *p == '-') {
    int sign = *p == '-' ? -1 : 1, oh, om = 0;
    p++;
    if (!num(p, 2, &oh)) return 0;
    p += 2;
    if (*p == ':') p++;
    if (*p) {
      if (!num(p, 2, &om)) return 0;
      p += 2;
    }
    off = sign * (oh * 60 + om);
  }
  if (*p || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 || sec > 60) return 0;
  /* microseconds to milliseconds, half to even (Python's round(µs, -3)); a round-up to
   * the next second carries into it */
  int ms = us / 1000, r = us % 1000;
  if (r > 500 || (r == 500 && ms % 2 == 1)) ms++;
  long days;
  days_from_civil(Y, (unsigned)M, (unsigned)D, &days);
  long long t = (long long)days * 86400 + h * 3600 + m * 60 + sec - off * 60;
  if (ms == 1000) { ms = 0; t++; }
  *tsec = t;
  *tms = ms;
  return 1;
}

int evalue_time_ms(const char *s, uint64_t *out)
{
  long long t;
  int ms;
  if (!parse_time(s, &t, &ms) || t < 0) return 0;
  *out = (uint64_t)t * 1000 + (uint64_t)ms;
  return 1;
}

int evalue_time(const char *s, char out[EVALUE_MAX])
{
  long long t;
  int ms;
  if (!parse_time(s, &t, &ms)) return 0;
  long long dd = t >= 0 ? t / 86400 : -((-t + 86399) / 86400);
  long long rem = t - dd * 86400;
  long y;
  unsigned mo, da;
  civil_from_days((long)dd, &y, &mo, &da);
  snprintf(out, EVALUE_MAX, "%04ld-%02u-%02uT%02d:%02d:%02d.%03dZ", y, mo, da, (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60), ms);
  return 1;
}

int evalue_number(const char *s, char out[EVALUE_MAX])
{
  char clean[64];
  size_t w = 0, digits = 0;
  const char *p = s;
  if (*p == '+' || *p == '-') clean[w++] = *p++;
  int seen_dot = 0, seen_exp = 0;
  for (; *p; p++) {
    char c = *p;
    if (w + 2 >= sizeof clean) return 0;
    if (c >= '0' && c <= '9') { clean[w++] = c; digits += !seen_exp; continue; }
    if (c == '_' && p > s && p[-1] >= '0' && p[-1] <= '9' && p[1] >= '0' && p[1] <= '9') continue;
    if (c == '.' && !seen_dot && !seen_exp) { seen_dot = 1; clean[w++] = c; continue; }
    if ((c == 'e' || c == 'E') && !seen_exp && digits) {
      seen_exp = 1;
      clean[w++] = c;
      if (p[1] == '+' || p[1] == '-') clean[w++] = *++p;
      if (!(p[1] >= '0' && p[1] <= '9')) return 0;
      continue;
    }
    return 0;
  }
  if (!digits) return 0;
  clean[w] = 0;
  char *end;
  double v = strtod(clean, &end);
  if (*end || !isfinite(v)) return 0;
  if (v == floor(v)) {
    if (fabs(v) < 9e18) snprintf(out, EVALUE_MAX, "%lld", (long long)v);
    else snprintf(out, EVALUE_MAX, "%.0f", v);
    return 1;
  }
  for (int prec = 1; prec <= 17; prec++) {
    snprintf(out, EVALUE_MAX, "%.*g", prec, v);
    if (strtod(out, NULL) == v) return 1;
  }
  return 1;
}

/* s with every occurrence of from replaced by to; new string or NULL. */
static char *replace(const char *s, const char *from, const char *to)
{
  struct buf b = { 0 };
  size_t fl = strlen(from);
  for (const char *p = s; *p;) {
    const char *q = strstr(p, from);
    if (!q) { buf_text(&b, p); break; }
    buf_put(&b, p, (size_t)(q - p));
    buf_text(&b, to);
    p = q + fl;
  }
  return buf_cstr(&b);
}

char *evalue_canon(const char *value, int time)
{
  const char *b = value, *e = value + strlen(value);
  while (b < e && (*b == ' ' || *b == '\t' || *b == '\n' || *b == '\r' || *b == '\f' || *b == '\v')) b++;
  while (e > b && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' || e[-1] == '\r' || e[-1] == '\f' || e[-1] == '\v')) e--;
  char *t = mem_alloc((size_t)(e - b) + 1);
  if (!t) return NULL;
  memcpy(t, b, (size_t)(e - b));
  t[e - b] = 0;
  char buf[EVALUE_MAX];
  if (time) {
    if (evalue_time(t, buf)) { mem_free(t); return mem_strdup(buf); }
    return t;
  }
  static const char *const urn[][2] = {
    { "urn:epcglobal:cbv:bizstep:", "https://ref.gs1.org/cbv/BizStep-" }, { "urn:epcglobal:cbv:disp:", "https://ref.gs1.org/cbv/Disp-" },
    { "urn:epcglobal:cbv:btt:", "https://ref.gs1.org/cbv/BTT-" },         { "urn:epcglobal:cbv:sdt:", "https://ref.gs1.org/cbv/SDT-" },
    { "urn:epcglobal:cbv:er:", "https://ref.gs1.org/cbv/ER-" },
  };
  for (size_t i = 0; i < sizeof urn / sizeof urn[0]; i++) {
    if (!strstr(t, urn[i][0])) continue;
    char *r = replace(t, urn[i][0], urn[i][1]);
    mem_free(t);
    if (!(t = r)) return NULL;
  }
  if (evalue_number(t, buf)) { mem_free(t); return mem_strdup(buf); }
  if (gs1_canonical_dl(t, buf, sizeof buf) == 1) { mem_free(t); return mem_strdup(buf); }
  return t;
}

/* ---- exact quantities ----------------------------------------------------------------- */

int epcis_quantity_mg(const char *text, const char *uom, uint64_t *mg, char *why, size_t whylen)
{
  /* milligrams per unit, as num/den */
  static const struct { const char *code; unsigned __int128 num, den; } units[] = {
    { "KGM", 1000000, 1 }, { "TNE", 1000000000, 1 }, { "GRM", 1000, 1 }, { "MGM", 1, 1 },
    { "LBR", 45359237, 100 }, /* the international pound: 0.45359237 kg exactly */
  };
  size_t u = 0;
  if (!uom || !*uom || strcmp(uom, "H87") == 0) {
    snprintf(why, whylen, "a quantity in pieces (%s) becomes mass only through master data: load the net mass of the class (kiroku masterdata load FILE), or give the mass in KGM",
             uom && *uom ? "H87" : "no uom");
    return KK_ERR(QUANTITY);
  }
  while (u < sizeof units / sizeof units[0] && strcmp(units[u].code, uom) != 0) u++;
  if (u == sizeof units / sizeof units[0]) {
    snprintf(why, whylen, "unknown unit '%s': use KGM, TNE, GRM, MGM or LBR", uom);
    return KK_ERR(QUANTITY);
  }
  /* digits[.digits][e[+-]digits], exactly */
  const char *p = text;
  unsigned __int128 n = 0;
  int scale = 0, digits = 0;
  if (*p == '-') { snprintf(why, whylen, "quantity %s is negative", text); return KK_ERR(QUANTITY); }
  for (; *p >= '0' && *p <= '9'; p++, digits++) {
    if (n > ((unsigned __int128)1 << 120)) return KK_ERR(OVERFLOW);
    n = n * 10 + (unsigned)(*p - '0');
  }
  if (*p == '.')
    for (p++; *p >= '0' && *p <= '9'; p++, digits++, scale--) {
      if (n > ((unsigned __int128)1 << 120)) return KK_ERR(OVERFLOW);
      n = n * 10 + (unsigned)(*p - '0');
    }
  if (*p == 'e' || *p == 'E') {
    int sign = 1, e = 0;
    p++;
    if (*p == '+' || *p == '-') sign = *p++ == '-' ? -1 : 1;
    if (!(*p >= '0' && *p <= '9')) digits = 0;
    for (; *p >= '0' && *p <= '9'; p++) {
      if (e > 1000) return KK_ERR(OVERFLOW);
      e = e * 10 + (*p - '0');
    }
    scale += sign * e;
  }
  if (!digits || *p) { snprintf(why, whylen, "quantity '%s' is not a decimal number", text); return KK_ERR(QUANTITY); }
  unsigned __int128 num = n * units[u].num, den = units[u].den;
  if (n && num / n != units[u].num) return KK_ERR(OVERFLOW);
  for (; scale > 0; scale--) {
    if (num > ((unsigned __int128)1 << 124)) return KK_ERR(OVERFLOW);
    num *= 10;
  }
  for (; scale < 0; scale++) {
    if (den > ((unsigned __int128)1 << 124)) break; /* then it is not whole anyway */
    den *= 10;
  }
  if (scale < 0 || num % den) {
    snprintf(why, whylen, "%s %s is not a whole number of milligrams", text, uom);
    return KK_ERR(QUANTITY);
  }
  if (num / den > UINT64_MAX) return KK_ERR(OVERFLOW);
  *mg = (uint64_t)(num / den);
  return 0;
}

int epcis_percent_ppm(const char *text, uint32_t *ppm)
{
  uint64_t v;
  char why[8];
  /* the same exact reading: a percent is 10^4 ppm, i.e. "MGM" of 10^4 */
  if (epcis_quantity_mg(text, "MGM", &v, why, sizeof why) == 0 && v <= 100) { *ppm = (uint32_t)(v * 10000); return 0; }
  /* fractions of a percent */
  size_t l = strlen(text);
  char buf[64];
  if (l + 6 >= sizeof buf) return KK_ERR(SHARE);
  snprintf(buf, sizeof buf, "%se4", text);
  if (epcis_quantity_mg(buf, "MGM", &v, why, sizeof why) || v == 0 || v > 1000000) return KK_ERR(SHARE);
  *ppm = (uint32_t)v;
  return 0;
}

