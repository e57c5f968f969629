/*
 * graph — a lot's provenance drawn by Graphviz (pages.h): laid out with `dot`, left to
 * right from certificates and unledgered inputs to the lot, rendered as SVG.
 */
#include "pages.h"
#include "html.h"
#include "../base/err.h"
#include "../base/mem.h"

#include <errno.h>
#include <gvc.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

/* Graphviz keeps global state: one layout at a time in this process, with one context
 * made once and kept (its text-layout plugin caches what an earlier context owned, so a
 * context freed and made again reads freed memory: Graphviz 2.42). */
static pthread_mutex_t gv_lock = PTHREAD_MUTEX_INITIALIZER;
static GVC_t *gv_context;

#define GRAPH_NODES_MAX 2000

struct drawing {
  Agraph_t *g;
  int links;
  size_t n;
  struct { const char *ref; Agnode_t *node; } seen[GRAPH_NODES_MAX];
};

/* s with Graphviz's label escapes neutralised (a backslash doubled), into out. */
static void label_text(char *out, size_t n, const char *s)
{
  size_t j = 0;
  for (; s && *s && j + 2 < n; s++) {
    if (*s == '\\') out[j++] = '\\';
    out[j++] = *s;
  }
  out[j] = 0;
}

static Agnode_t *new_node(struct drawing *d, const char *label, const char *fill, const char *shape, const char *style)
{
  char name[32];
  snprintf(name, sizeof name, "n%zu", d->n++);
  Agnode_t *v = agnode(d->g, name, 1);
  agsafeset(v, "label", (char *)label, "");
  agsafeset(v, "fillcolor", (char *)fill, "");
  agsafeset(v, "shape", (char *)shape, "");
  agsafeset(v, "style", (char *)style, "");
  return v;
}

static const char *str(const json_t *o, const char *k)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}
static long long num(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static void edge(struct drawing *d, Agnode_t *from, Agnode_t *to, const char *via, long long mg)
{
  char m[48], label[96];
  Agedge_t *e = agedge(d->g, from, to, NULL, 1);
  snprintf(label, sizeof label, "%s %s", via, html_mass(m, mg));
  agsafeset(e, "label", label, "");
}

/* The lot node of t (once per lot: a diamond is drawn as one), and what it came from. */
static Agnode_t *draw(struct drawing *d, const json_t *t)
{
  const char *ref = str(t, "lot");
  for (size_t i = 0; i < d->n && i < GRAPH_NODES_MAX; i++)
    if (d->seen[i].ref && !strcmp(d->seen[i].ref, ref)) return d->seen[i].node;
  if (d->n >= GRAPH_NODES_MAX - 2) return NULL;
  char code[160], owner[160], label[640], m[48], sh[48], material[160];
  json_t *ver = json_object_get(t, "verified");
  long long mass = num(t, "mass_mg"), vmg = num(ver, "post_consumer_mg") + num(ver, "pre_consumer_mg");
  int tainted = num(t, "tainted_mg") > 0, flagged = json_is_true(json_object_get(t, "flagged"));
  label_text(code, sizeof code, str(t, "code"));
  label_text(owner, sizeof owner, str(t, "owner"));
  label_text(material, sizeof material, str(t, "material"));
  snprintf(label, sizeof label, "%s\n%s %s · %s\n%s verified recycled%s%s", code, html_mass(m, mass), material, owner,
           html_share(sh, num(ver, "share_ppm")), tainted ? "\nTAINTED" : "", flagged ? "\nFLAGGED" : "");
  (void)vmg;
  Agnode_t *v = new_node(d, label, tainted ? "#fbe0dc" : flagged ? "#fdeccc" : "#ffffff", "box", "rounded,filled");
  size_t slot = d->n - 1;
  d->seen[slot].ref = ref;
  d->seen[slot].node = v;
  if (d->links) {
    char url[200];
    snprintf(url, sizeof url, "/ui/lots/%s", ref);
    agsafeset(v, "URL", url, "");
    agsafeset(v, "target", "_top", "");
  }
  json_t *cert = json_object_get(t, "certificate");
  if (cert) {
    char scheme[200], certid[200];
    int revoked = json_is_true(json_object_get(cert, "revoked")), equiv = json_is_true(json_object_get(cert, "issuer_equivocated"));
    label_text(scheme, sizeof scheme, str(cert, "scheme"));
    label_text(certid, sizeof certid, str(cert, "certificate"));
    snprintf(label, sizeof label, "certificate %s %s\norigin %s%s%s", scheme, certid, str(cert, "origin"),
             revoked ? "\nREVOKED" : "", equiv ? "\nISSUER EQUIVOCATED" : "");
    Agnode_t *c = new_node(d, label, revoked || equiv ? "#e7e7e7" : "#e3f1e6", "note", revoked || equiv ? "filled,dashed" : "filled");
    Agedge_t *e = agedge(d->g, c, v, NULL, 1);
    agsafeset(e, "style", "dotted", "");
  }
  size_t i;
  json_t *from;
  json_array_foreach(json_object_get(t, "from"), i, from) {
    if (json_object_get(from, "unledgered")) {
      char mat[160];
      label_text(mat, sizeof mat, str(from, "unledgered"));
      snprintf(label, sizeof label, "unledgered %s\nfrom %s", mat, str(from, "origin"));
      Agnode_t *u = new_node(d, label, "#f1f1ec", "box", "filled,dashed");
      edge(d, u, v, str(from, "via"), num(from, "via_mass_mg"));
      continue;
    }
    Agnode_t *w = draw(d, from);
    if (w) edge(d, w, v, str(from, "via"), num(from, "via_mass_mg"));
  }
  return v;
}

int page_graph_svg(const json_t *trace, int links, char **out)
{
  struct drawing *d = mem_calloc(1, sizeof *d);
  if (!d) return -ENOMEM;
  int rc = KK_ERR(INTERNAL);
  *out = NULL;
  pthread_mutex_lock(&gv_lock);
  if (!gv_context) gv_context = gvContext();
  GVC_t *gvc = gv_context;
  d->links = links;
  d->g = gvc ? agopen("provenance", Agdirected, NULL) : NULL;
  if (d->g) {
    agattr(d->g, AGRAPH, "rankdir", "LR");
    agattr(d->g, AGRAPH, "bgcolor", "transparent");
    agattr(d->g, AGNODE, "fontname", "Helvetica");
    agattr(d->g, AGNODE, "fontsize", "10");
    agattr(d->g, AGEDGE, "fontname", "Helvetica");
    agattr(d->g, AGEDGE, "fontsize", "9");
    agattr(d->g, AGEDGE, "color", "#4b6b55");
    Agnode_t *root = draw(d, trace);
    if (root) agsafeset(root, "penwidth", "2.5", ""); /* the lot the page is about */
    char *data = NULL;
    unsigned int len = 0;
    if (gvLayout(gvc, d->g, "dot") == 0) {
      if (gvRenderData(gvc, d->g, "svg", &data, &len) == 0 && data) {
        const char *svg = strstr(data, "<svg");
        size_t n = svg ? len - (size_t)(svg - data) : 0;
        if (svg && (*out = mem_alloc(n + 1))) {
          memcpy(*out, svg, n);
          (*out)[n] = 0;
          rc = 0;
        } else if (svg) rc = -ENOMEM;
        gvFreeRenderData(data);
      }
      gvFreeLayout(gvc, d->g);
    }
    agclose(d->g);
  }
  pthread_mutex_unlock(&gv_lock);
  mem_free(d);
  return rc;
}
