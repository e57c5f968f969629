/*
 * ehash — the CBV 2.0 event hash (see ehash.h and docs/epcis.md).
 *
 * An event becomes a tree of named nodes in EPCIS's XML model (the JSON binding's
 * lists renamed to their elements, bizTransaction/source/destination carrying their id
 * as value), and the tree is written out: first the fields of the canonical order,
 * each group sorted, then every other field ("user extensions" and the lists the
 * reference leaves to this pass) written generically and sorted.
 */
#include "ehash.h"
#include "ejson.h"
#include "evalue.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- strings ------------------------------------------------------------------------ */

static int ends_with(const char *s, const char *t)
{
  size_t a = strlen(s), b = strlen(t);
  return a >= b && memcmp(s + a - b, t, b) == 0;
}
static int starts(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

/* ---- the document ------------------------------------------------------------------- */

struct ns { char *prefix, *iri; };

struct ehash_doc {
  json_t *doc, *events;
  size_t n;
  struct ns *ns;
  size_t nns;
  char **vocab;                 /* IRIs of vocabulary values the document uses */
  size_t nvocab;
};

static const char *ns_find(const struct ehash_doc *d, const char *prefix, size_t len)
{
  /* later entries (the document's own) win over the built-in ones */
  for (size_t i = d->nns; i-- > 0;)
    if (strlen(d->ns[i].prefix) == len && memcmp(d->ns[i].prefix, prefix, len) == 0) return d->ns[i].iri;
  return NULL;
}

static int ns_add(struct ehash_doc *d, const char *prefix, const char *iri)
{
  struct ns *n = mem_realloc(d->ns, (d->nns + 1) * sizeof *n);
  if (!n) return -ENOMEM;
  d->ns = n;
  char *p = mem_strdup(prefix), *i = mem_strdup(iri);
  if (!p || !i) { mem_free(p); mem_free(i); return -ENOMEM; }
  d->ns[d->nns].prefix = p;
  d->ns[d->nns].iri = i;
  d->nns++;
  return 0;
}

static int vocab_add(struct ehash_doc *d, const char *iri)
{
  if (!starts(iri, "https://ref.gs1.org/cbv") && !starts(iri, "https://gs1.org/voc") && !starts(iri, "https://ref.gs1.org/voc"))
    return 0;
  for (size_t i = 0; i < d->nvocab; i++)
    if (strcmp(d->vocab[i], iri) == 0) return 0;
  char **v = mem_realloc(d->vocab, (d->nvocab + 1) * sizeof *v);
  if (!v) return -ENOMEM;
  d->vocab = v;
  if (!(d->vocab[d->nvocab] = mem_strdup(iri))) return -ENOMEM;
  d->nvocab++;
  return 0;
}

/* Where the EPCIS 2.0 context types a value as vocabulary: the IRI a bare term there
 * stands for is base + term. NULL where it does not. */
static const char *vocab_base(const char *key, const char *parent)
{
  if (!key) return NULL;
  if (strcmp(key, "bizStep") == 0) return "https://ref.gs1.org/cbv/BizStep-";
  if (strcmp(key, "disposition") == 0) return "https://ref.gs1.org/cbv/Disp-";
  if (!parent) return NULL;
  if ((strcmp(key, "set") == 0 || strcmp(key, "unset") == 0) && strcmp(parent, "persistentDisposition") == 0)
    return "https://ref.gs1.org/cbv/Disp-";
  if (strcmp(key, "type") == 0 && strcmp(parent, "bizTransactionList") == 0) return "https://ref.gs1.org/cbv/BTT-";
  if (strcmp(key, "type") == 0 && (strcmp(parent, "sourceList") == 0 || strcmp(parent, "destinationList") == 0))
    return "https://ref.gs1.org/cbv/SDT-";
  if (strcmp(key, "reason") == 0 && strcmp(parent, "errorDeclaration") == 0) return "https://ref.gs1.org/cbv/ER-";
  if ((strcmp(key, "type") == 0 || strcmp(key, "exception") == 0) && strcmp(parent, "sensorReport") == 0)
    return "https://gs1.org/voc/";
  if (strcmp(key, "component") == 0 && strcmp(parent, "sensorReport") == 0) return "https://ref.gs1.org/cbv/Comp-";
  return NULL;
}

/* A CURIE's expansion with the document's namespaces ({namespace}local with braces):
 * 0 and *out (NULL when s is no CURIE of a known prefix), or -ENOMEM. */
static int curie(const struct ehash_doc *d, const char *s, int braces, char **out)
{
  *out = NULL;
  const char *colon = strchr(s, ':');
  if (!colon) return 0;
  const char *iri = ns_find(d, s, (size_t)(colon - s));
  if (!iri) return 0;
  struct buf b = { 0 };
  if (braces) buf_text(&b, "{");
  buf_text(&b, iri);
  if (braces) buf_text(&b, "}");
  buf_text(&b, colon + 1);
  return (*out = buf_cstr(&b)) ? 0 : -ENOMEM;
}

/* Gathers the vocabulary IRIs the document uses (what a JSON-LD expansion of it would
 * yield for them): key is j's member name, parent the member name above it. */
static int gather_vocab(struct ehash_doc *d, json_t *j, const char *key, const char *parent)
{
  if (json_is_object(j)) {
    const char *k;
    json_t *v;
    json_object_foreach(j, k, v) {
      int rc = gather_vocab(d, v, k, key);
      if (rc) return rc;
    }
    return 0;
  }
  if (json_is_array(j)) {
    size_t i;
    json_t *v;
    json_array_foreach(j, i, v) {
      int rc = gather_vocab(d, v, key, parent);
      if (rc) return rc;
    }
    return 0;
  }
  const char *s = ejson_string(j);
  if (!s) return 0;
  const char *base = vocab_base(key, parent);
  if (!base) return vocab_add(d, s);
  if (!strchr(s, ':')) {
    struct buf b = { 0 };
    buf_text(&b, base);
    buf_text(&b, s);
    char *iri = buf_cstr(&b);
    if (!iri) return -ENOMEM;
    int rc = vocab_add(d, iri);
    mem_free(iri);
    return rc;
  }
  char *x;
  int rc = curie(d, s, 0, &x);
  if (!rc) rc = vocab_add(d, x ? x : s);
  mem_free(x);
  return rc;
}

void ehash_close(struct ehash_doc *d)
{
  if (!d) return;
  for (size_t i = 0; i < d->nns; i++) {
    mem_free(d->ns[i].prefix);
    mem_free(d->ns[i].iri);
  }
  mem_free(d->ns);
  for (size_t i = 0; i < d->nvocab; i++) mem_free(d->vocab[i]);
  mem_free(d->vocab);
  mem_free(d);
}

int ehash_open(json_t *doc, struct ehash_doc **out, char *why, size_t whylen)
{
  *out = NULL;
  json_t *body = json_object_get(doc, "epcisBody"), *events = NULL;
  if (json_is_object(body)) {
    events = json_object_get(body, "eventList");
    json_t *qr = json_object_get(body, "queryResults");
    if (!events && json_is_object(qr)) events = json_object_get(json_object_get(qr, "resultsBody"), "eventList");
    if (!events) events = json_object_get(body, "event");
  }
  if (!events || !(json_is_array(events) || json_is_object(events))) {
    snprintf(why, whylen, "not an EPCIS document: no epcisBody.eventList (nor a query document's resultsBody.eventList)");
    return KK_ERR(USAGE);
  }
  struct ehash_doc *d = mem_calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  d->doc = doc;
  d->events = events;
  d->n = json_is_array(events) ? json_array_size(events) : 1;
  /* the EPCIS 2.0 context's prefixes, then the document's own */
  int rc = ns_add(d, "gs1", "https://gs1.org/voc/");
  if (!rc) rc = ns_add(d, "cbv", "https://ref.gs1.org/cbv/");
  if (!rc) rc = ns_add(d, "epcis", "https://ref.gs1.org/epcis/");
  if (!rc) rc = ns_add(d, "cbvmda", "urn:epcglobal:cbv:mda:");
  json_t *ctx = json_object_get(doc, "@context"), *c;
  size_t i;
  if (!rc && json_is_array(ctx)) {
    json_array_foreach(ctx, i, c) {
      const char *k;
      json_t *v;
      if (!json_is_object(c)) continue;
      json_object_foreach(c, k, v) {
        const char *iri = ejson_string(v);
        if (iri && (rc = ns_add(d, k, iri))) break;
      }
      if (rc) break;
    }
  } else if (!rc && json_is_object(ctx)) {
    const char *k;
    json_t *v;
    json_object_foreach(ctx, k, v) {
      const char *iri = ejson_string(v);
      if (iri && (rc = ns_add(d, k, iri))) break;
    }
  }
  if (!rc) rc = gather_vocab(d, doc, NULL, NULL);
  if (rc) {
    ehash_close(d);
    return rc;
  }
  *out = d;
  return 0;
}

size_t ehash_count(const struct ehash_doc *d) { return d->n; }

json_t *ehash_event(const struct ehash_doc *d, size_t i)
{
  if (i >= d->n) return NULL;
  return json_is_array(d->events) ? json_array_get(d->events, i) : d->events;
}

/* A string value as the reference reads it: a bare term that names exactly one of the
 * document's vocabulary IRIs (…-term or …/term) is that IRI; a CURIE in a GS1
 * namespace is expanded. New string, or NULL on allocation failure. */
static char *read_value(const struct ehash_doc *d, const char *s)
{
  const char *match = NULL;
  int count = 0;
  size_t sl = strlen(s);
  for (size_t i = 0; i < d->nvocab && sl; i++) {
    const char *v = d->vocab[i];
    size_t vl = strlen(v);
    if (vl > sl && memcmp(v + vl - sl, s, sl) == 0 && (v[vl - sl - 1] == '-' || v[vl - sl - 1] == '/')) {
      match = v;
      count++;
    }
  }
  if (count == 1) return mem_strdup(match);
  const char *colon = strchr(s, ':');
  if (colon) {
    const char *iri = ns_find(d, s, (size_t)(colon - s));
    char *x;
    if (iri && (starts(iri, "https://ref.gs1.org") || starts(iri, "https://gs1.org"))) return curie(d, s, 0, &x) ? NULL : x;
  }
  return mem_strdup(s);
}

/* ---- the event as a tree --------------------------------------------------------------- */

struct node {
  char *name, *value;           /* value NULL: none */
  struct node *kid;
  size_t n, cap;
};

static void node_free(struct node *x)
{
  for (size_t i = 0; i < x->n; i++) node_free(&x->kid[i]);
  mem_free(x->kid);
  mem_free(x->name);
  mem_free(x->value);
  memset(x, 0, sizeof *x);
}

static int node_push(struct node *p, struct node *c)
{
  if (p->n == p->cap) {
    size_t cap = p->cap ? p->cap * 2 : 4;
    struct node *k = mem_realloc(p->kid, cap * sizeof *k);
    if (!k) return -ENOMEM;
    p->kid = k;
    p->cap = cap;
  }
  p->kid[p->n++] = *c;
  memset(c, 0, sizeof *c);
  return 0;
}

static int ignored_key(const char *k)
{
  return k[0] == '@' || k[0] == '#' || strcmp(k, "rdfs:comment") == 0 || strcmp(k, "comment") == 0;
}

static int add_members(const struct ehash_doc *d, struct node *p, json_t *obj);

/* A member name as the XML model spells it: a CURIE's prefix as {namespace}. */
static char *read_key(const struct ehash_doc *d, const char *k)
{
  char *x;
  if (curie(d, k, 1, &x)) return NULL;
  return x ? x : mem_strdup(k);
}

/* Adds member (name, v) of an object to p: an array as one node per element. */
static int add_member(const struct ehash_doc *d, struct node *p, const char *name, json_t *v)
{
  if (json_is_null(v)) return 0;
  if (json_is_array(v)) {
    size_t i;
    json_t *e;
    json_array_foreach(v, i, e) {
      int rc = add_member(d, p, name, e);
      if (rc) return rc;
    }
    return 0;
  }
  struct node c = { 0 };
  int rc = 0;
  if (!(c.name = mem_strdup(name))) return -ENOMEM;
  if (json_is_object(v)) {
    rc = add_members(d, &c, v);
    const char *text = ejson_string(json_object_get(v, "#text"));
    if (!rc && text && !(c.value = read_value(d, text))) rc = -ENOMEM;
  } else if (json_is_boolean(v)) {
    if (!(c.value = mem_strdup(json_is_true(v) ? "true" : "false"))) rc = -ENOMEM;
  } else if (ejson_number(v)) {
    if (!(c.value = mem_strdup(ejson_number(v)))) rc = -ENOMEM;
  } else if (ejson_string(v)) {
    if (!(c.value = read_value(d, ejson_string(v)))) rc = -ENOMEM;
  }
  if (!rc) rc = node_push(p, &c);
  node_free(&c);
  return rc;
}

static int add_members(const struct ehash_doc *d, struct node *p, json_t *obj)
{
  const char *k;
  json_t *v;
  json_object_foreach(obj, k, v) {
    if (ignored_key(k)) continue;
    char *name = read_key(d, k);
    if (!name) return -ENOMEM;
    int rc = add_member(d, p, name, v);
    mem_free(name);
    if (rc) return rc;
  }
  return 0;
}

/* The JSON binding's shapes turned into the XML model's (the reference's
 * json_xml_model_mismatch_correction): xList members become one xList node of x
 * elements, childEPCs one node of epc elements; then, below, each node renamed. */
static int to_xml_model(struct node *p)
{
  struct node keep = { 0 }, groups = { 0 };
  int rc = 0;
  for (size_t i = 0; i < p->n && !rc; i++) {
    struct node *c = &p->kid[i];
    size_t l = strlen(c->name);
    int list = l > 4 && ends_with(c->name, "List"), child_epcs = strcmp(c->name, "childEPCs") == 0;
    if (!list && !child_epcs) { rc = node_push(&keep, c); continue; }
    struct node *g = NULL;
    for (size_t j = 0; j < groups.n; j++)
      if (strcmp(groups.kid[j].name, c->name) == 0) g = &groups.kid[j];
    if (!g) {
      struct node ng = { 0 };
      if (!(ng.name = mem_strdup(c->name)) || (rc = node_push(&groups, &ng))) { node_free(&ng); rc = rc ? rc : -ENOMEM; break; }
      g = &groups.kid[groups.n - 1];
    }
    if (child_epcs) {
      struct node e = { 0 };
      e.name = mem_strdup("epc");
      e.value = c->value;
      c->value = NULL;
      if (!e.name) rc = -ENOMEM;
      else rc = node_push(g, &e);
      node_free(&e);
    } else {
      c->name[l - 4] = 0;
      rc = node_push(g, c);
    }
  }
  for (size_t j = 0; j < groups.n && !rc; j++) rc = node_push(&keep, &groups.kid[j]);
  /* what was moved is zeroed; the rest (after a failure) is freed here */
  for (size_t j = 0; j < groups.n; j++) node_free(&groups.kid[j]);
  mem_free(groups.kid);
  for (size_t i = 0; i < p->n; i++) node_free(&p->kid[i]);
  mem_free(p->kid);
  p->kid = keep.kid;
  p->n = keep.n;
  p->cap = keep.cap;
  for (size_t i = 0; i < p->n && !rc; i++) {
    struct node *c = &p->kid[i];
    if ((rc = to_xml_model(c))) break;
    if (strcmp(c->name, "bizTransaction") == 0 || strcmp(c->name, "source") == 0 || strcmp(c->name, "destination") == 0) {
      /* the id is the element's value (an attribute-less text in XML) */
      for (size_t j = 0; j < c->n; j++)
        if (strcmp(c->kid[j].name, c->name) == 0) {
          mem_free(c->value);
          c->value = c->kid[j].value;
          c->kid[j].value = NULL;
          node_free(&c->kid[j]);
          memmove(&c->kid[j], &c->kid[j + 1], (c->n - j - 1) * sizeof *c->kid);
          c->n--;
          break;
        }
    }
    const char *rename = NULL;
    if (strcmp(c->name, "inputEPC") == 0 || strcmp(c->name, "outputEPC") == 0) rename = "epc";
    if (strcmp(c->name, "inputQuantity") == 0 || strcmp(c->name, "outputQuantity") == 0 ||
        strcmp(c->name, "childQuantity") == 0 || (strcmp(c->name, "quantity") == 0 && c->n > 0))
      rename = "quantityElement";
    if (rename) {
      char *nn = mem_strdup(rename);
      if (!nn) { rc = -ENOMEM; break; }
      mem_free(c->name);
      c->name = nn;
    }
  }
  return rc;
}

static int is_time_field(const char *name)
{
  char low[128];
  size_t n = strlen(name);
  if (n >= sizeof low) n = sizeof low - 1;
  for (size_t i = 0; i < n; i++) low[i] = (char)(name[i] >= 'A' && name[i] <= 'Z' ? name[i] + 32 : name[i]);
  low[n] = 0;
  return strstr(low, "time") && !strstr(low, "offset");
}

/* ---- writing the tree ------------------------------------------------------------------ */

struct order { const char *name; const struct order *sub; };

#define END { NULL, NULL }
static const struct order o_epc[] = { { "epc", NULL }, END };
static const struct order o_qty_elem[] = { { "epcClass", NULL }, { "quantity", NULL }, { "uom", NULL }, END };
static const struct order o_qty[] = { { "quantityElement", o_qty_elem }, END };
static const struct order o_pd[] = { { "set", NULL }, { "unset", NULL }, END };
static const struct order o_id[] = { { "id", NULL }, END };
static const struct order o_meta[] = { { "time", NULL }, { "startTime", NULL }, { "endTime", NULL }, { "deviceID", NULL },
                                       { "deviceMetadata", NULL }, { "rawData", NULL }, { "dataProcessingMethod", NULL },
                                       { "bizRules", NULL }, END };
static const struct order o_report[] = {
  { "type", NULL },         { "exception", NULL },      { "deviceID", NULL },       { "deviceMetadata", NULL },
  { "rawData", NULL },      { "dataProcessingMethod", NULL }, { "time", NULL },   { "microorganism", NULL },
  { "chemicalSubstance", NULL }, { "value", NULL },     { "component", NULL },      { "stringValue", NULL },
  { "booleanValue", NULL }, { "hexBinaryValue", NULL }, { "uriValue", NULL },       { "minValue", NULL },
  { "maxValue", NULL },     { "meanValue", NULL },      { "sDev", NULL },           { "percRank", NULL },
  { "percValue", NULL },    { "uom", NULL },            { "coordinateReferenceSystem", NULL }, END
};
static const struct order o_sensor_elem[] = { { "sensorMetadata", o_meta }, { "sensorReport", o_report }, END };
static const struct order o_sensor[] = { { "sensorElement", o_sensor_elem }, END };
/* The canonical order of an event's fields (the reference's PROP_ORDER). The
 * bizTransaction, source and destination lists are not in it: the reference writes them
 * with the other fields, sorted (docs/epcis.md). */
static const struct order o_event[] = {
  { "eventTime", NULL },           { "eventTimeZoneOffset", NULL }, { "certificationInfo", NULL },
  { "parentID", NULL },            { "epcList", o_epc },            { "inputEPCList", o_epc },
  { "childEPCs", o_epc },          { "quantityList", o_qty },       { "childQuantityList", o_qty },
  { "inputQuantityList", o_qty },  { "outputEPCList", o_epc },      { "outputQuantityList", o_qty },
  { "action", NULL },              { "transformationID", NULL },    { "bizStep", NULL },
  { "disposition", NULL },         { "persistentDisposition", o_pd }, { "readPoint", o_id },
  { "bizLocation", o_id },         { "sensorElementList", o_sensor }, END
};

struct strs { char **s; size_t n, cap; };

static int strs_push(struct strs *v, char *s)
{
  if (!s) return -ENOMEM;
  if (v->n == v->cap) {
    size_t cap = v->cap ? v->cap * 2 : 8;
    char **p = mem_realloc(v->s, cap * sizeof *p);
    if (!p) { mem_free(s); return -ENOMEM; }
    v->s = p;
    v->cap = cap;
  }
  v->s[v->n++] = s;
  return 0;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* The strings sorted and joined into b; the strings freed. */
static void strs_join_sorted(struct strs *v, struct buf *b)
{
  if (v->n > 1) qsort(v->s, v->n, sizeof *v->s, cmp_str);
  for (size_t i = 0; i < v->n; i++) {
    buf_text(b, v->s[i]);
    mem_free(v->s[i]);
  }
  mem_free(v->s);
  memset(v, 0, sizeof *v);
}

static void strs_free(struct strs *v)
{
  for (size_t i = 0; i < v->n; i++) mem_free(v->s[i]);
  mem_free(v->s);
  memset(v, 0, sizeof *v);
}

static char *write_generic(const struct node *x);
static int write_ordered(const struct node *p, const struct order *ord, const char *const *skip, struct buf *b);

/* The node outside the canonical order: name=value, then its children, sorted. A
 * bizTransaction, source or destination is written type first, then its id. */
static char *write_generic(const struct node *x)
{
  struct buf b = { 0 };
  struct strs kids = { 0 };
  int rc = 0;
  int typed = strcmp(x->name, "bizTransaction") == 0 || strcmp(x->name, "source") == 0 || strcmp(x->name, "destination") == 0;
  const struct node *type = NULL;
  if (typed)
    for (size_t i = 0; i < x->n; i++)
      if (strcmp(x->kid[i].name, "type") == 0 && !type) type = &x->kid[i];
  if (type) {
    char *t = write_generic(type);
    if (!t) rc = -ENOMEM;
    else { buf_text(&b, t); mem_free(t); }
  }
  buf_text(&b, x->name);
  if (x->value) {
    char *v = evalue_canon(x->value, 0);
    if (!v) rc = -ENOMEM;
    else {
      if (*v) { buf_text(&b, "="); buf_text(&b, v); }
      mem_free(v);
    }
  }
  for (size_t i = 0; i < x->n && !rc; i++)
    if (&x->kid[i] != type) rc = strs_push(&kids, write_generic(&x->kid[i]));
  if (rc) { strs_free(&kids); mem_free(b.p); return NULL; }
  strs_join_sorted(&kids, &b);
  return buf_cstr(&b);
}

/* A node in the canonical order: name=value (a time normalised), its children in their
 * order, then its other children; "" when it has neither value nor children. */
static char *write_in_order(const struct node *x, const struct order *sub)
{
  struct buf b = { 0 }, kids = { 0 };
  int rc = 0;
  if (x->n) {
    if (sub) rc = write_ordered(x, sub, NULL, &kids);
    else {
      struct strs rest = { 0 };
      for (size_t i = 0; i < x->n && !rc; i++) rc = strs_push(&rest, write_generic(&x->kid[i]));
      if (rc) strs_free(&rest);
      else strs_join_sorted(&rest, &kids);
    }
  }
  char *v = NULL;
  if (!rc && x->value && !(v = evalue_canon(x->value, is_time_field(x->name)))) rc = -ENOMEM;
  if (!rc && ((v && *v) || kids.len)) {
    buf_text(&b, x->name);
    if (v && *v) { buf_text(&b, "="); buf_text(&b, v); }
    if (kids.len) buf_put(&b, kids.p, kids.len);
  }
  mem_free(v);
  mem_free(kids.p);
  if (rc || kids.err) { mem_free(b.p); return NULL; }
  return buf_cstr(&b);
}

static int in_order(const struct order *ord, const char *name)
{
  for (; ord->name; ord++)
    if (strcmp(ord->name, name) == 0) return 1;
  return 0;
}

/* Members a repository adds to the events it stores, in its own namespace, which are
 * not part of the event: {ns}captureID and {ns}hash (the reference's "ignored
 * industry/repository fields", docs/epcis.md). */
static int repository_field(const char *name)
{
  const char *close = name[0] == '{' ? strchr(name, '}') : NULL;
  return close && (strcmp(close + 1, "captureID") == 0 || strcmp(close + 1, "hash") == 0);
}

static int skipped(const char *const *skip, const char *name)
{
  if (!skip) return 0;
  if (repository_field(name)) return 1;
  for (; *skip; skip++)
    if (strcmp(*skip, name) == 0) return 1;
  return 0;
}

/* p's children into b: those named in ord, in its order (each name's nodes sorted),
 * then the others (but those in skip) written generically, sorted. */
static int write_ordered(const struct node *p, const struct order *ord, const char *const *skip, struct buf *b)
{
  int rc = 0;
  for (const struct order *o = ord; o->name && !rc; o++) {
    struct strs same = { 0 };
    for (size_t i = 0; i < p->n && !rc; i++)
      if (strcmp(p->kid[i].name, o->name) == 0) rc = strs_push(&same, write_in_order(&p->kid[i], o->sub));
    if (rc) { strs_free(&same); break; }
    strs_join_sorted(&same, b);
  }
  struct strs rest = { 0 };
  for (size_t i = 0; i < p->n && !rc; i++)
    if (!in_order(ord, p->kid[i].name) && !skipped(skip, p->kid[i].name)) rc = strs_push(&rest, write_generic(&p->kid[i]));
  if (rc) { strs_free(&rest); return rc; }
  strs_join_sorted(&rest, b);
  return b->err;
}

int ehash_prehash_of(const struct ehash_doc *d, json_t *event, char **out)
{
  *out = NULL;
  if (!json_is_object(event)) return KK_ERR(USAGE);
  struct node root = { 0 };
  int rc = add_members(d, &root, event);
  if (!rc) rc = to_xml_model(&root);
  struct buf b = { 0 };
  if (!rc) {
    const char *type = ejson_string(json_object_get(event, "type"));
    buf_text(&b, "eventType=");
    buf_text(&b, type ? type : "");
    static const char *const skip[] = { "recordTime", "eventID", "type", "errorDeclaration", NULL };
    rc = write_ordered(&root, o_event, skip, &b);
  }
  node_free(&root);
  if (rc) { mem_free(b.p); return rc; }
  if (!(*out = buf_cstr(&b))) return -ENOMEM;
  return 0;
}

int ehash_prehash(const struct ehash_doc *d, size_t i, char **out)
{
  return ehash_prehash_of(d, ehash_event(d, i), out);
}

void ehash_ni_of(const uint8_t hash[32], char out[EHASH_NI_LEN])
{
  char hex[65];
  sodium_bin2hex(hex, sizeof hex, hash, 32);
  snprintf(out, EHASH_NI_LEN, "ni:///sha-256;%s?ver=CBV2.0", hex);
}

void ehash_ni(const char *prehash, char out[EHASH_NI_LEN])
{
  unsigned char h[crypto_hash_sha256_BYTES];
  crypto_hash_sha256(h, (const unsigned char *)prehash, strlen(prehash));
  ehash_ni_of(h, out);
}

int ehash_event_id(const struct ehash_doc *d, json_t *event, char out[EHASH_NI_LEN])
{
  char *pre;
  int rc = ehash_prehash_of(d, event, &pre);
  if (rc) return rc;
  ehash_ni(pre, out);
  mem_free(pre);
  return 0;
}
