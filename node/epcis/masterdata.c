/*
 * masterdata — net mass per product class (see masterdata.h).
 */
#include "masterdata.h"
#include "ejson.h"
#include "evalue.h"
#include "gs1.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/qty.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void epcis_masterdata_free(struct epcis_masterdata *md)
{
  if (!md) return;
  for (size_t i = 0; i < md->n; i++) mem_free(md->e[i].cls);
  mem_free(md->e);
  memset(md, 0, sizeof *md);
}

/* Sets cls's mass in md (the class already canonical). */
static int put(struct epcis_masterdata *md, const char *cls, uint64_t mg)
{
  for (size_t i = 0; i < md->n; i++)
    if (strcmp(md->e[i].cls, cls) == 0) { md->e[i].mg = mg; return 0; }
  if (md->n == md->cap) {
    size_t cap = md->cap ? md->cap * 2 : 16;
    struct epcis_md_entry *e = mem_realloc(md->e, cap * sizeof *e);
    if (!e) return -ENOMEM;
    md->e = e;
    md->cap = cap;
  }
  if (!(md->e[md->n].cls = mem_strdup(cls))) return -ENOMEM;
  md->e[md->n++].mg = mg;
  return 0;
}

int epcis_masterdata_get(const struct epcis_masterdata *md, const char *cls, uint64_t *mg)
{
  char c[GS1_DL_MAX];
  gs1_canonical_or_self(cls, c);
  for (size_t i = 0; md && i < md->n; i++)
    if (strcmp(md->e[i].cls, c) == 0) { *mg = md->e[i].mg; return 1; }
  return 0;
}

/* ---- CSV ---------------------------------------------------------------------------------- */

static int read_csv(struct epcis_masterdata *md, const char *text, size_t len, size_t *added, char *why, size_t whylen)
{
  int line = 0, rc = 0;
  for (const char *p = text, *end = text + len; p < end && !rc;) {
    const char *nl = memchr(p, '\n', (size_t)(end - p));
    const char *le = nl ? nl : end;
    char row[1024];
    size_t n = (size_t)(le - p);
    line++;
    if (n && p[n - 1] == '\r') n--;
    if (n >= sizeof row) { snprintf(why, whylen, "line %d is longer than %zu bytes", line, sizeof row - 1); return KK_ERR(USAGE); }
    memcpy(row, p, n);
    row[n] = 0;
    p = nl ? nl + 1 : end;
    if (n == 0 || row[0] == '#') continue;
    if (line == 1) {
      if (strcasecmp(row, "class,net_mass") != 0) {
        snprintf(why, whylen, "line 1 is not the header class,net_mass");
        return KK_ERR(USAGE);
      }
      continue;
    }
    char *comma = strrchr(row, ','); /* a class may hold commas; the mass never does */
    if (!comma || comma == row) { snprintf(why, whylen, "line %d is not CLASS,MASS", line); return KK_ERR(USAGE); }
    *comma = 0;
    uint64_t mg;
    char *mass = comma + 1;
    while (*mass == ' ') mass++;
    if (qty_parse_mass(mass, &mg) || mg == 0) {
      snprintf(why, whylen, "line %d: '%s' is not a mass with a unit (t, kg, g, mg) above zero", line, mass);
      return KK_ERR(USAGE);
    }
    char c[GS1_DL_MAX];
    gs1_canonical_or_self(row, c);
    if ((rc = put(md, c, mg))) return rc;
    (*added)++;
  }
  return rc;
}

/* ---- EPCIS master data -------------------------------------------------------------------- */

static int is_net_weight(const char *id)
{
  static const char *const names[] = { "urn:epcglobal:cbv:mda#netWeight", "urn:epcglobal:cbv:mda:netWeight",
                                       "cbvmda:netWeight",                "gs1:netWeight",
                                       "https://gs1.org/voc/netWeight",   "https://ref.gs1.org/voc/netWeight" };
  for (size_t i = 0; id && i < sizeof names / sizeof names[0]; i++)
    if (strcmp(id, names[i]) == 0) return 1;
  return 0;
}

/* A net weight attribute's value: kilograms (a number or its text), or a GS1
 * QuantitativeValue {"value", "unitCode"}. */
static int weight_mg(json_t *v, uint64_t *mg, char *why, size_t whylen)
{
  const char *text = ejson_number(v) ? ejson_number(v) : ejson_string(v), *unit = "KGM";
  if (json_is_object(v)) {
    json_t *x = json_object_get(v, "value");
    text = ejson_number(x) ? ejson_number(x) : ejson_string(x);
    unit = ejson_string(json_object_get(v, "unitCode"));
    if (!unit) unit = "KGM";
  }
  if (!text) { snprintf(why, whylen, "a net weight without a value"); return KK_ERR(USAGE); }
  if (strcmp(unit, "H87") == 0) { snprintf(why, whylen, "a net weight in pieces"); return KK_ERR(USAGE); }
  int rc = epcis_quantity_mg(text, unit, mg, why, whylen);
  if (rc == KK_ERR(OVERFLOW)) snprintf(why, whylen, "net weight %s %s overflows 64-bit milligrams", text, unit);
  if (!rc && *mg == 0) { snprintf(why, whylen, "a net weight of zero"); rc = KK_ERR(USAGE); }
  return rc ? KK_ERR(USAGE) : 0;
}

static int read_vocabularies(struct epcis_masterdata *md, json_t *list, size_t *added, char *why, size_t whylen)
{
  size_t i, k, a;
  json_t *voc, *el, *at;
  int rc = 0;
  json_array_foreach(list, i, voc) {
    const char *type = ejson_string(json_object_get(voc, "type"));
    if (!type || !strstr(type, "EPCClass")) continue;
    json_array_foreach(json_object_get(voc, "vocabularyElementList"), k, el) {
      const char *cls = ejson_string(json_object_get(el, "id"));
      if (!cls) { snprintf(why, whylen, "vocabulary %zu, element %zu has no id", i, k); return KK_ERR(USAGE); }
      json_array_foreach(json_object_get(el, "attributes"), a, at) {
        if (!is_net_weight(ejson_string(json_object_get(at, "id")))) continue;
        uint64_t mg;
        char w[200];
        if (weight_mg(json_object_get(at, "attribute"), &mg, w, sizeof w)) {
          snprintf(why, whylen, "%s: %s", cls, w);
          return KK_ERR(USAGE);
        }
        char c[GS1_DL_MAX];
        gs1_canonical_or_self(cls, c);
        if ((rc = put(md, c, mg))) return rc;
        (*added)++;
      }
    }
  }
  return 0;
}

static int read_json(struct epcis_masterdata *md, const char *text, size_t len, size_t *added, char *why, size_t whylen)
{
  json_t *j;
  int rc = ejson_load(text, len, &j, why, whylen);
  if (rc) return rc;
  json_t *list = json_object_get(json_object_get(json_object_get(j, "epcisHeader"), "epcisMasterData"), "vocabularyList");
  if (!list) list = json_object_get(json_object_get(j, "epcisMasterData"), "vocabularyList");
  if (!list) list = json_object_get(j, "vocabularyList");
  if (!json_is_array(list)) {
    snprintf(why, whylen, "no vocabularyList (at epcisHeader.epcisMasterData, epcisMasterData or the top)");
    rc = KK_ERR(USAGE);
  } else rc = read_vocabularies(md, list, added, why, whylen);
  json_decref(j);
  return rc;
}

int epcis_masterdata_read(struct epcis_masterdata *md, const char *text, size_t len, size_t *added, char *why,
                          size_t whylen)
{
  /* into a copy: a file with an error changes nothing */
  struct epcis_masterdata tmp = { NULL, 0, 0 };
  int rc = 0;
  *added = 0;
  for (size_t i = 0; i < md->n && !rc; i++) rc = put(&tmp, md->e[i].cls, md->e[i].mg);
  size_t skip = 0;
  while (skip < len && (text[skip] == ' ' || text[skip] == '\t' || text[skip] == '\r' || text[skip] == '\n')) skip++;
  if (!rc) rc = skip < len && text[skip] == '{' ? read_json(&tmp, text, len, added, why, whylen)
                                                : read_csv(&tmp, text, len, added, why, whylen);
  if (rc) { epcis_masterdata_free(&tmp); *added = 0; return rc; }
  epcis_masterdata_free(md);
  *md = tmp;
  return 0;
}

static int entry_cmp(const void *a, const void *b)
{
  return strcmp(((const struct epcis_md_entry *)a)->cls, ((const struct epcis_md_entry *)b)->cls);
}

char *epcis_masterdata_csv(const struct epcis_masterdata *md)
{
  struct epcis_md_entry *e = mem_alloc((md->n ? md->n : 1) * sizeof *e);
  if (!e) return NULL;
  if (md->n) memcpy(e, md->e, md->n * sizeof *e);
  if (md->n > 1) qsort(e, md->n, sizeof *e, entry_cmp);
  struct buf b;
  buf_init(&b);
  buf_text(&b, "class,net_mass\n");
  for (size_t i = 0; i < md->n; i++) {
    char m[32];
    snprintf(m, sizeof m, ",%llumg\n", (unsigned long long)e[i].mg);
    buf_text(&b, e[i].cls);
    buf_text(&b, m);
  }
  mem_free(e);
  return buf_cstr(&b);
}

int epcis_masterdata_load(struct epcis_masterdata *md, const char *dir, char *why, size_t whylen)
{
  char path[4200];
  snprintf(path, sizeof path, "%s/%s", dir, EPCIS_MASTERDATA_FILE);
  FILE *f = fopen(path, "rb");
  if (!f) return errno == ENOENT ? 0 : -errno;
  char *buf = NULL;
  size_t len = 0, cap = 0, got;
  int rc = 0;
  do {
    if (len == cap) {
      if (cap >= EPCIS_MASTERDATA_MAX) { rc = KK_ERR(TOO_LARGE); break; }
      cap = cap ? cap * 2 : 4096;
      char *p = mem_realloc(buf, cap + 1);
      if (!p) { rc = -ENOMEM; break; }
      buf = p;
    }
    got = fread(buf + len, 1, cap - len, f);
    len += got;
  } while (got > 0);
  if (!rc && ferror(f)) rc = -EIO;
  fclose(f);
  size_t added;
  if (!rc) rc = epcis_masterdata_read(md, buf, len, &added, why, whylen);
  mem_free(buf);
  return rc;
}
