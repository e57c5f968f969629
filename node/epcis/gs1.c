/*
 * gs1 — check digits and canonical GS1 Digital Link URIs (see gs1.h). The rules follow
 * the CBV 2.0 event hash's reference implementation (dl_normaliser) scheme by scheme;
 * docs/epcis.md lists them and where this code departs from it.
 */
#include "gs1.h"

#include <stdio.h>
#include <string.h>

char gs1_check_digit(const char *d, size_t n)
{
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned v = (unsigned)(d[n - 1 - i] - '0');
    sum += i % 2 == 0 ? 3 * v : v; /* weight 3 on the rightmost digit */
  }
  return (char)('0' + (10 - sum % 10) % 10);
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'A' && c <= 'F') || (c >= 'a' && c <= 'f'); }

static size_t count_digits(const char *p)
{
  size_t n = 0;
  while (is_digit(p[n])) n++;
  return n;
}

int gs1_gln_valid(const char *s)
{
  return strlen(s) == 13 && count_digits(s) == 13 && gs1_check_digit(s, 12) == s[12];
}

/* ---- output ------------------------------------------------------------------------ */

struct out { char *p; size_t cap, len; int over; };

static void put(struct out *o, const char *s, size_t n)
{
  if (o->over || o->len + n >= o->cap) { o->over = 1; return; }
  memcpy(o->p + o->len, s, n);
  o->len += n;
  o->p[o->len] = 0;
}
static void puts_(struct out *o, const char *s) { put(o, s, strlen(s)); }

/* digits d[0..n) and their check digit */
static void put_checked(struct out *o, const char *d, size_t n)
{
  char c = gs1_check_digit(d, n);
  put(o, d, n);
  put(o, &c, 1);
}

/* Digital Link percent-encoding of the characters EPC URIs allow but a DL path does not
 * (GS1 Digital Link table 7-1): ! ( ) * + , : */
static void put_pct(struct out *o, const char *s)
{
  for (; *s; s++) {
    const char *e = NULL;
    switch (*s) {
    case '!': e = "%21"; break;
    case '(': e = "%28"; break;
    case ')': e = "%29"; break;
    case '*': e = "%2A"; break;
    case '+': e = "%2B"; break;
    case ',': e = "%2C"; break;
    case ':': e = "%3A"; break;
    }
    if (e) puts_(o, e);
    else put(o, s, 1);
  }
}

/* ---- EPC URI syntax ------------------------------------------------------------------ */

/* One character of an EPC serial (GS1 AI encodable character set 82, percent-encoded
 * where the URI syntax needs it): its length in p (1, or 3 for an escape), 0 if none. */
static size_t serial_char(const char *p)
{
  if (p[0] == '%') {
    if (!p[1]) return 0; /* p[2] is read only when p[1] is not the end */
    char h = p[1], l = p[2];
    if (!is_hex(l)) return 0;
    int ok = (h == '2' && (l == '1' || l == '2' || (l >= '5' && l <= '9') || (l >= 'A' && l <= 'F') || (l >= 'a' && l <= 'f'))) ||
             (h == '3' && is_hex(l)) || (h == '4' && l != '0') ||
             (h == '5' && (is_digit(l) || l == 'A' || l == 'a' || l == 'F' || l == 'f')) ||
             (h == '6' && l != '0') || (h == '7' && (is_digit(l) || l == 'A' || l == 'a'));
    return ok ? 3 : 0;
  }
  if (p[0] && strchr("!')(*+,.:;=_-", p[0])) return 1;
  if (is_digit(p[0]) || (p[0] >= 'A' && p[0] <= 'Z') || (p[0] >= 'a' && p[0] <= 'z')) return 1;
  return 0;
}

/* One character of a CPI's component/part reference: [0-9A-Z-] or %23 %2D %2F, %3x, … */
static size_t cpi_char(const char *p)
{
  if (p[0] == '%') {
    if (!p[1]) return 0;
    char h = p[1], l = p[2];
    int ok = (h == '2' && (l == '3' || l == 'd' || l == 'D' || l == 'f' || l == 'F')) || (h == '3' && is_digit(l)) ||
             (h == '4' && is_hex(l) && l != '0') || (h == '5' && (is_digit(l) || l == 'A' || l == 'a'));
    return ok ? 3 : 0;
  }
  return (is_digit(p[0]) || (p[0] >= 'A' && p[0] <= 'Z') || p[0] == '-') ? 1 : 0;
}

/* 1 when p to its end is between 1 and max characters of the class. */
static int run_to_end(const char *p, size_t max, size_t (*cls)(const char *))
{
  size_t n = 0;
  while (*p) {
    size_t l = cls(p);
    if (!l) return 0;
    p += l;
    n++;
  }
  return n >= 1 && n <= max;
}

/* A company prefix (6 to 12 digits), a dot and a reference of total − prefix digits:
 * sets cp/cpl and ref and returns what follows, NULL when p does not start so. */
static const char *cp_ref(const char *p, size_t total, const char **ref, size_t *cpl)
{
  size_t c = count_digits(p);
  if (c < 6 || c > 12 || c > total || p[c] != '.') return NULL;
  const char *r = p + c + 1;
  if (count_digits(r) != total - c) return NULL;
  *cpl = c;
  *ref = r;
  return r + (total - c);
}

/* The 13 digits of a GTIN before its check digit: indicator, company prefix, item ref. */
static void gtin13(char d[13], const char *cp, size_t cpl, const char *ref)
{
  d[0] = ref[0];
  memcpy(d + 1, cp, cpl);
  memcpy(d + 1 + cpl, ref + 1, 12 - cpl);
}

static int starts(const char *s, const char *prefix) { return strncmp(s, prefix, strlen(prefix)) == 0; }

/* EPC URIs, class URIs and ID patterns: 1 converted, 0 not such a URI. */
static int from_epc(const char *u, struct out *o)
{
  const char *ref, *after;
  size_t cpl;
  char d[32];
  if (starts(u, "urn:epc:id:sgtin:") || starts(u, "urn:epc:id:upui:")) {
    int upui = u[11] == 'u';
    const char *p = u + (upui ? 16 : 17);
    if (!(after = cp_ref(p, 13, &ref, &cpl)) || *after != '.' || !run_to_end(after + 1, upui ? 28 : 20, serial_char)) return 0;
    gtin13(d, p, cpl, ref);
    puts_(o, "https://id.gs1.org/01/");
    put_checked(o, d, 13);
    puts_(o, upui ? "/235/" : "/21/");
    put_pct(o, after + 1);
    return 1;
  }
  if (starts(u, "urn:epc:id:sscc:")) {
    const char *p = u + 16;
    if (!(after = cp_ref(p, 17, &ref, &cpl)) || *after) return 0;
    d[0] = ref[0];
    memcpy(d + 1, p, cpl);
    memcpy(d + 1 + cpl, ref + 1, 16 - cpl);
    puts_(o, "https://id.gs1.org/00/");
    put_checked(o, d, 17);
    return 1;
  }
  if (starts(u, "urn:epc:id:sgln:")) {
    const char *p = u + 16;
    if (!(after = cp_ref(p, 12, &ref, &cpl)) || *after != '.' || !run_to_end(after + 1, 20, serial_char)) return 0;
    memcpy(d, p, cpl);
    memcpy(d + cpl, ref, 12 - cpl);
    puts_(o, "https://id.gs1.org/414/");
    put_checked(o, d, 12);
    if (strcmp(after + 1, "0") != 0) {
      puts_(o, "/254/");
      put_pct(o, after + 1);
    }
    return 1;
  }
  if (starts(u, "urn:epc:id:grai:")) {
    const char *p = u + 16;
    if (!(after = cp_ref(p, 12, &ref, &cpl)) || *after != '.' || !run_to_end(after + 1, 16, serial_char)) return 0;
    d[0] = '0';
    memcpy(d + 1, p, cpl);
    memcpy(d + 1 + cpl, ref, 12 - cpl);
    puts_(o, "https://id.gs1.org/8003/");
    put_checked(o, d, 13);
    put_pct(o, after + 1);
    return 1;
  }
  if (starts(u, "urn:epc:id:giai:") || starts(u, "urn:epc:id:ginc:")) {
    int giai = u[11] == 'g' && u[12] == 'i' && u[13] == 'a';
    const char *p = u + 16;
    size_t c = count_digits(p);
    if (c < 6 || c > 12 || p[c] != '.' || !run_to_end(p + c + 1, 30 - c, serial_char)) return 0;
    puts_(o, giai ? "https://id.gs1.org/8004/" : "https://id.gs1.org/401/");
    put(o, p, c);
    put_pct(o, p + c + 1);
    return 1;
  }
  if (starts(u, "urn:epc:id:gsrn:") || starts(u, "urn:epc:id:gsrnp:")) {
    int gsrnp = u[15] == 'p';
    const char *p = u + (gsrnp ? 17 : 16);
    if (!(after = cp_ref(p, 17, &ref, &cpl)) || *after) return 0;
    memcpy(d, p, cpl);
    memcpy(d + cpl, ref, 17 - cpl);
    puts_(o, gsrnp ? "https://id.gs1.org/8017/" : "https://id.gs1.org/8018/");
    put_checked(o, d, 17);
    return 1;
  }
  if (starts(u, "urn:epc:id:gdti:") || starts(u, "urn:epc:id:sgcn:")) {
    int sgcn = u[11] == 's';
    const char *p = u + 16;
    if (!(after = cp_ref(p, 12, &ref, &cpl)) || *after != '.') return 0;
    if (sgcn ? !(count_digits(after + 1) >= 1 && count_digits(after + 1) <= 12 && !after[1 + count_digits(after + 1)])
             : (after[1] && !run_to_end(after + 1, 19, serial_char)))
      return 0;
    memcpy(d, p, cpl);
    memcpy(d + cpl, ref, 12 - cpl);
    puts_(o, sgcn ? "https://id.gs1.org/255/" : "https://id.gs1.org/253/");
    put_checked(o, d, 12);
    put_pct(o, after + 1);
    return 1;
  }
  if (starts(u, "urn:epc:id:cpi:")) {
    const char *p = u + 15;
    size_t c = count_digits(p);
    if (c < 6 || c > 12 || p[c] != '.') return 0;
    const char *r = p + c + 1, *dot = strrchr(r, '.');
    if (!dot || dot == r) return 0;
    size_t n = 0;
    for (const char *q = r; q < dot;) {
      size_t l = cpi_char(q);
      if (!l) return 0;
      q += l;
      n++;
    }
    size_t sd = count_digits(dot + 1);
    if (n > 30 - c || sd < 1 || sd > 12 || dot[1 + sd]) return 0;
    char cpref[64];
    if ((size_t)(dot - p) >= sizeof cpref) return 0;
    memcpy(cpref, p, c);
    memcpy(cpref + c, r, (size_t)(dot - r));
    cpref[c + (size_t)(dot - r)] = 0;
    puts_(o, "https://id.gs1.org/8010/");
    put_pct(o, cpref);
    puts_(o, "/8011/");
    puts_(o, dot + 1);
    return 1;
  }
  if (starts(u, "urn:epc:id:gsin:")) {
    const char *p = u + 16;
    if (!(after = cp_ref(p, 16, &ref, &cpl)) || *after) return 0;
    memcpy(d, p, cpl);
    memcpy(d + cpl, ref, 16 - cpl);
    puts_(o, "https://id.gs1.org/402/");
    put_checked(o, d, 16);
    return 1;
  }
  if (starts(u, "urn:epc:id:itip:") || starts(u, "urn:epc:idpat:itip:")) {
    int pat = u[8] == 'i' && u[9] == 'd' && u[10] == 'p';
    const char *p = u + (pat ? 19 : 16);
    if (!(after = cp_ref(p, 13, &ref, &cpl)) || after[0] != '.' || count_digits(after + 1) != 2 || after[3] != '.' ||
        count_digits(after + 4) != 2 || after[6] != '.')
      return 0;
    if (pat ? strcmp(after + 7, "*") != 0 : !run_to_end(after + 7, 20, serial_char)) return 0;
    gtin13(d, p, cpl, ref);
    puts_(o, "https://id.gs1.org/8006/");
    put_checked(o, d, 13);
    put(o, after + 1, 2);
    put(o, after + 4, 2);
    if (!pat) {
      puts_(o, "/21/");
      put_pct(o, after + 7);
    }
    return 1;
  }
  if (starts(u, "urn:epc:id:pgln:")) {
    const char *p = u + 16;
    if (!(after = cp_ref(p, 12, &ref, &cpl)) || *after) return 0;
    memcpy(d, p, cpl);
    memcpy(d + cpl, ref, 12 - cpl);
    puts_(o, "https://id.gs1.org/417/");
    put_checked(o, d, 12);
    return 1;
  }
  if (starts(u, "urn:epc:class:lgtin:")) {
    const char *p = u + 20;
    if (!(after = cp_ref(p, 13, &ref, &cpl)) || *after != '.' || !run_to_end(after + 1, 20, serial_char)) return 0;
    gtin13(d, p, cpl, ref);
    puts_(o, "https://id.gs1.org/01/");
    put_checked(o, d, 13);
    puts_(o, "/10/");
    put_pct(o, after + 1);
    return 1;
  }
  if (starts(u, "urn:epc:idpat:sgtin:") || starts(u, "urn:epc:idpat:upui:")) {
    const char *p = u + (u[14] == 's' ? 20 : 19);
    if (!(after = cp_ref(p, 13, &ref, &cpl)) || strcmp(after, ".*") != 0) return 0;
    gtin13(d, p, cpl, ref);
    puts_(o, "https://id.gs1.org/01/");
    put_checked(o, d, 13);
    return 1;
  }
  if (starts(u, "urn:epc:idpat:grai:") || starts(u, "urn:epc:idpat:gdti:") || starts(u, "urn:epc:idpat:sgcn:")) {
    char k = u[14];
    const char *p = u + 19;
    if (!(after = cp_ref(p, 12, &ref, &cpl)) || strcmp(after, ".*") != 0) return 0;
    size_t n = 0;
    if (k == 'g' && u[15] == 'r') d[n++] = '0';
    memcpy(d + n, p, cpl);
    memcpy(d + n + cpl, ref, 12 - cpl);
    puts_(o, k == 's' ? "https://id.gs1.org/255/" : u[15] == 'r' ? "https://id.gs1.org/8003/" : "https://id.gs1.org/253/");
    put_checked(o, d, n + 12);
    return 1;
  }
  if (starts(u, "urn:epc:idpat:cpi:")) {
    const char *p = u + 18;
    size_t c = count_digits(p);
    if (c < 6 || c > 12 || p[c] != '.') return 0;
    const char *r = p + c + 1;
    size_t n = 0;
    const char *q = r;
    while (*q && *q != '.') {
      size_t l = cpi_char(q);
      if (!l) return 0;
      q += l;
      n++;
    }
    if (n < 1 || n > 30 - c || strcmp(q, ".*") != 0) return 0;
    char cpref[64];
    if ((size_t)(q - p) >= sizeof cpref) return 0;
    memcpy(cpref, p, c);
    memcpy(cpref + c, r, (size_t)(q - r));
    cpref[c + (size_t)(q - r)] = 0;
    puts_(o, "https://id.gs1.org/8010/");
    put_pct(o, cpref);
    return 1;
  }
  return 0;
}

/* ---- GS1 Digital Link URIs ------------------------------------------------------------ */

/* The primary keys' AIs and short names, in the order the domain is looked for. */
static const char *const dl_ais[] = { "00", "01", "253", "255", "401", "402", "414", "417", "8003", "8004", "8006", "8010", "8017", "8018" };
static const struct { const char *from, *to; } dl_short[] = {
  { "/gtin/", "/01/" },   { "/itip/", "/8006/" }, { "/cpid/", "/8010/" }, { "/gln/", "/414/" },  { "/party/", "/417/" },
  { "/gsrnp/", "/8017/" }, { "/gsrn/", "/8018/" }, { "/gcn/", "/255/" },   { "/sscc/", "/00/" },  { "/gdti/", "/253/" },
  { "/ginc/", "/401/" },  { "/gsin/", "/402/" },  { "/grai/", "/8003/" }, { "/giai/", "/8004/" }, { "/cpv/", "/22/" },
  { "/lot/", "/10/" },    { "/ser/", "/21/" },
};

/* s with every `from` replaced by `to`, in place (s has room for GS1_DL_MAX bytes). */
static int replace_all(char *s, const char *from, const char *to)
{
  size_t fl = strlen(from), tl = strlen(to);
  char tmp[GS1_DL_MAX];
  size_t w = 0;
  for (const char *p = s; *p;) {
    if (strncmp(p, from, fl) == 0) {
      if (w + tl >= sizeof tmp) return -1;
      memcpy(tmp + w, to, tl);
      w += tl;
      p += fl;
    } else {
      if (w + 1 >= sizeof tmp) return -1;
      tmp[w++] = *p++;
    }
  }
  tmp[w] = 0;
  memcpy(s, tmp, w + 1);
  return 0;
}

/* A character of a DL path value: " ' - . 0-9 ; < = > ? A-Z _ a-z */
static int dl_char(char c)
{
  return c == '"' || c == '\'' || c == '-' || c == '.' || is_digit(c) || (c >= ';' && c <= '?') || (c >= 'A' && c <= 'Z') ||
         c == '_' || (c >= 'a' && c <= 'z');
}

/* Length of the run of dl_char at p. */
static size_t dl_run(const char *p)
{
  size_t n = 0;
  while (p[n] && dl_char(p[n])) n++;
  return n;
}

/* 1 when p is "/AI/" followed by at least four digits and one more character that is
 * not a slash: where a DL path names its primary key. */
static int key_at(const char *p, const char **ai_end)
{
  static const char *const all[] = { "01", "gtin", "8006", "itip", "8010", "cpid", "414", "gln", "417", "party",
                                     "8017", "gsrnp", "8018", "gsrn", "255", "gcn", "00", "sscc", "253", "gdti",
                                     "401", "ginc", "402", "gsin", "8003", "grai", "8004", "giai" };
  if (*p != '/') return 0;
  for (size_t i = 0; i < sizeof all / sizeof all[0]; i++) {
    size_t l = strlen(all[i]);
    if (strncmp(p + 1, all[i], l) == 0 && p[1 + l] == '/') {
      const char *v = p + 2 + l;
      if (count_digits(v) >= 4 && v[4] && v[4] != '/') {
        if (ai_end) *ai_end = v;
        return 1;
      }
    }
  }
  return 0;
}

/* The canonical form's last check: one of the shapes a constrained DL URI may take. */
static int dl_valid(const char *u)
{
  const char *base = "https://id.gs1.org/";
  if (!starts(u, base)) return 0;
  const char *p = u + strlen(base);
  size_t n;
#define AI(x) (starts(p, x "/") ? (p += strlen(x) + 1, 1) : 0)
  if (AI("00")) return count_digits(p) == 18 && !p[18];
  if (AI("01")) {
    if (count_digits(p) != 14) return 0;
    p += 14;
    if (!*p) return 1;
    if (starts(p, "/21/") || starts(p, "/10/")) return (n = dl_run(p + 4)) <= 20 && !p[4 + n];
    if (starts(p, "/235/")) return (n = dl_run(p + 5)) <= 28 && !p[5 + n];
    return 0;
  }
  if (AI("253")) return count_digits(p) >= 13 && (n = dl_run(p + 13)) <= 17 && !p[13 + n];
  if (AI("255")) return (n = count_digits(p)) >= 13 && n <= 25 && !p[n];
  if (AI("401") || AI("8004")) return (n = dl_run(p)) <= 30 && !p[n];
  if (AI("402")) return count_digits(p) == 17 && !p[17];
  if (AI("414")) {
    if (count_digits(p) != 13) return 0;
    p += 13;
    return !*p || (starts(p, "/254/") && (n = dl_run(p + 5)) <= 20 && !p[5 + n]);
  }
  if (AI("417")) return count_digits(p) == 13 && !p[13];
  if (AI("8003")) return count_digits(p) >= 14 && (n = dl_run(p + 14)) <= 16 && !p[14 + n];
  if (AI("8006")) {
    if (count_digits(p) != 18) return 0;
    p += 18;
    return !*p || ((starts(p, "/21/") || starts(p, "/10/")) && (n = dl_run(p + 4)) <= 20 && !p[4 + n]);
  }
  if (AI("8010")) {
    n = 0;
    while (p[n] == '#' || p[n] == '-' || p[n] == '/' || is_digit(p[n]) || (p[n] >= 'A' && p[n] <= 'Z')) n++;
    if (!p[n] && n <= 30) return 1;
    const char *s = strstr(p, "/8011/");
    return s && (size_t)(s - p) <= 30 && count_digits(s + 6) <= 12 && !s[6 + count_digits(s + 6)];
  }
  if (AI("8017") || AI("8018")) return count_digits(p) == 18 && !p[18];
#undef AI
  return 0;
}

/* A key (01/GTIN-14 or 8006/ITIP-18) followed by /SEG/ and a value to its end: where
 * that /SEG/ starts, NULL otherwise. */
static const char *after_key(const char *u, const char *seg)
{
  const char *base = "https://id.gs1.org/";
  if (!starts(u, base)) return NULL;
  const char *p = u + strlen(base);
  if (starts(p, "01/") && count_digits(p + 3) == 14) p += 17;
  else if (starts(p, "8006/") && count_digits(p + 5) == 18) p += 23;
  else return NULL;
  return starts(p, seg) ? p : NULL;
}

static int from_dl(const char *uri, struct out *o)
{
  char u[GS1_DL_MAX];
  const char *auth;
  if (starts(uri, "https://")) auth = uri + 8;
  else if (starts(uri, "http://")) auth = uri + 7;
  else return 0;
  if (strlen(uri) >= sizeof u) return 0;
  /* a primary key's AI somewhere in the path (before any query or fragment) */
  const char *path = auth + strcspn(auth, "/?#");
  int found = 0;
  for (const char *p = path; *p && *p != '?' && *p != '#'; p++)
    if (key_at(p, NULL)) { found = 1; break; }
  if (!found) return 0;
  memcpy(u, uri, strlen(uri) + 1);
  char *q = strchr(u, '?');
  if (q) *q = 0;
  for (size_t i = 0; i < sizeof dl_short / sizeof dl_short[0]; i++)
    if (replace_all(u, dl_short[i].from, dl_short[i].to)) return 0;
  /* the canonical domain */
  const char *base = "https://id.gs1.org";
  if (!(starts(u, "https://id.gs1.org/") && key_at(u + strlen(base), NULL))) {
    for (size_t i = 0; i < sizeof dl_ais / sizeof dl_ais[0]; i++) {
      char seg[8];
      snprintf(seg, sizeof seg, "/%s/", dl_ais[i]);
      char *at = strstr(u, seg);
      if (!at) continue;
      char tmp[GS1_DL_MAX];
      size_t bl = strlen(base), rl = strlen(at);
      if (bl + rl >= sizeof tmp) return 0;
      memcpy(tmp, base, bl);
      memcpy(tmp + bl, at, rl + 1);
      memcpy(u, tmp, bl + rl + 1);
      break;
    }
  }
  /* GTIN-8, -12 and -13 padded to 14 digits */
  if (starts(u, "https://id.gs1.org/01/")) {
    char *g = u + 22;
    size_t n = count_digits(g), pad = n >= 14 ? 0 : n >= 13 ? 1 : n >= 12 ? 2 : n >= 8 ? 6 : 0;
    size_t l = strlen(u);
    if (pad && l + pad < sizeof u) {
      memmove(g + pad, g, strlen(g) + 1);
      memset(g, '0', pad);
    }
  }
  /* no CPV: /22/ after the key goes, with its value */
  const char *cpv = after_key(u, "/22/");
  if (cpv) {
    const char *v = cpv + 4;
    size_t n = 0;
    while (v[n] && (dl_char(v[n]) || v[n] == '/')) n++;
    if (!v[n] && n <= 20) {
      const char *slash = strchr(v, '/');
      size_t at = (size_t)(cpv - u);
      if (slash) memmove(u + at, slash, strlen(slash) + 1);
      else u[at] = 0;
    }
  }
  /* the finest level only: a serial, not the lot it belongs to */
  const char *lot = after_key(u, "/10/");
  if (lot) {
    const char *v = lot + 4;
    size_t n = dl_run(v);
    if (n <= 20 && starts(v + n, "/21/")) {
      size_t m = dl_run(v + n + 4);
      if (m <= 20 && !v[n + 4 + m]) memmove(u + (lot - u), v + n, strlen(v + n) + 1);
    }
  }
  if (!dl_valid(u)) return 0;
  puts_(o, u);
  return 1;
}

int gs1_canonical_dl(const char *uri, char *out, size_t cap)
{
  char tmp[GS1_DL_MAX];
  struct out o = { tmp, sizeof tmp, 0, 0 };
  tmp[0] = 0;
  int r = from_epc(uri, &o);
  if (!r) {
    o.len = 0;
    o.over = 0;
    tmp[0] = 0;
    r = from_dl(uri, &o);
  }
  if (!r || o.over) return 0;
  if (o.len + 1 > cap) return -1;
  memcpy(out, tmp, o.len + 1);
  return 1;
}

void gs1_canonical_or_self(const char *in, char out[GS1_DL_MAX])
{
  if (gs1_canonical_dl(in, out, GS1_DL_MAX) != 1) snprintf(out, GS1_DL_MAX, "%s", in);
}
