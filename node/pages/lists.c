/*
 * lists — the explorer's home (lots, search by code), members, checkpoints and evidence
 * (pages.h). Read from the views' JSON, as `lots`, `members`, `checkpoints` and
 * `evidence` print them.
 */
#include "pages.h"
#include "html.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/rules.h"
#include "../view/view.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static const char *str(const json_t *o, const char *k)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}
static long long num(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

#define PAGE_LOTS 200  /* lots on one page of the explorer's home */

static char *finish(struct buf *b)
{
  html_end(b);
  return buf_cstr(b);
}

int page_home(struct store_txn *txn, struct store *s, const char *search, size_t from, char **out)
{
  uint8_t (*keys)[36] = NULL;
  size_t n = 0, kept = 0, matching = 0;
  int rc = view_lot_keys(txn, s, NULL, &keys, &n);
  /* the lots that match, and of them the page asked for */
  for (size_t i = 0; i < n && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, s, keys[i], &l))) break;
    if (!search || !*search || strcasestr(l.code, search)) {
      if (matching >= from && kept < PAGE_LOTS) memmove(keys[kept++], keys[i], 36);
      matching++;
    }
    lot_free(&l);
  }
  struct view_figures *f = kept ? mem_alloc(kept * sizeof *f) : NULL;
  if (rc == 0 && kept && !f) rc = -ENOMEM;
  if (rc == 0) rc = view_lot_figures(txn, s, (const uint8_t(*)[36])keys, kept, f);
  struct buf b;
  buf_init(&b);
  html_begin(&b, search && *search ? "Kiroku — lots matching your search" : "Kiroku — lots", 0);
  html_raw(&b, "<h1>Lots</h1><p class=\"muted\">");
  if (search && *search) {
    html_textf(&b, "%zu lot%s whose code contains “%s”. ", matching, matching == 1 ? "" : "s", search);
    html_raw(&b, "<a href=\"/\">All lots</a>");
  } else html_textf(&b, "%zu lots on this node's ledger, with their verified recycled content.", matching);
  if (matching > PAGE_LOTS) html_textf(&b, " Showing %zu to %zu.", from + (kept > 0), from + kept);
  html_raw(&b, "</p><table><tr><th>code</th><th>held by</th><th>material</th><th class=\"n\">mass</th>"
               "<th class=\"n\">held now</th><th class=\"n\">verified recycled</th><th>model</th><th></th></tr>");
  for (size_t i = 0; i < kept && rc == 0; i++) {
    struct lot l;
    lot_init(&l);
    if ((rc = rules_lot_get(txn, s, keys[i], &l))) break;
    json_t *o = view_lot_json(txn, s, keys[i], &l, &f[i]);
    lot_free(&l);
    if (!o) { rc = -ENOMEM; break; }
    char m[48], a[48], sh[48];
    html_raw(&b, "<tr><td><a href=\"/ui/lots/");
    html_url_part(&b, str(o, "ref"));
    html_raw(&b, "\">");
    html_text(&b, str(o, "code"));
    html_raw(&b, "</a></td><td>");
    html_text(&b, str(o, "owner"));
    html_raw(&b, "</td><td>");
    html_text(&b, str(o, "material"));
    html_rawf(&b, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td>", html_mass(m, num(o, "mass_mg")),
              html_mass(a, num(o, "available_mg")), html_share(sh, num(json_object_get(o, "verified"), "share_ppm")));
    html_text(&b, str(o, "model"));
    html_raw(&b, "</td><td>");
    if (num(o, "tainted_mg")) html_raw(&b, "<span class=\"mark tainted\">TAINTED</span>");
    if (json_is_true(json_object_get(o, "flagged"))) html_raw(&b, "<span class=\"mark flagged\">FLAGGED</span>");
    html_raw(&b, "</td></tr>");
    json_decref(o);
  }
  if (!kept) html_raw(&b, "<tr><td colspan=\"8\" class=\"muted\">no lots</td></tr>");
  html_raw(&b, "</table>");
  /* pages of PAGE_LOTS: links that keep the search */
  if (from > 0 || from + kept < matching) {
    html_raw(&b, "<p>");
    for (int next = 0; next < 2; next++) {
      if (next ? from + kept >= matching : from == 0) continue;
      size_t at = next ? from + kept : (from > PAGE_LOTS ? from - PAGE_LOTS : 0);
      html_rawf(&b, "<a href=\"/?from=%zu", at);
      if (search && *search) { html_raw(&b, "&amp;code="); html_url_part(&b, search); }
      html_raw(&b, next ? "\">next lots →</a>" : "\">← earlier lots</a> ");
    }
    html_raw(&b, "</p>");
  }
  mem_free(keys);
  mem_free(f);
  if (rc) { buf_free(&b); return rc; }
  return (*out = finish(&b)) ? 0 : -ENOMEM;
}

int page_members(struct store_txn *txn, struct store *s, char **out)
{
  json_t *arr = NULL;
  int rc = view_members_json(txn, s, &arr);
  if (rc) return rc;
  struct buf b;
  buf_init(&b);
  html_begin(&b, "Kiroku — members", 0);
  html_raw(&b, "<h1>Members</h1><table><tr><th>name</th><th>roles</th><th>country</th><th>GLN</th><th class=\"n\">records</th>"
               "<th>key</th><th>standing</th></tr>");
  size_t i;
  json_t *m;
  json_array_foreach(arr, i, m) {
    html_raw(&b, "<tr><td>");
    html_text(&b, str(m, "name"));
    size_t k;
    json_t *f;
    json_array_foreach(json_object_get(m, "facilities"), k, f) {
      html_raw(&b, "<div class=\"muted\">");
      html_text(&b, json_string_value(f));
      html_raw(&b, "</div>");
    }
    html_raw(&b, "</td><td>");
    html_text(&b, str(m, "roles"));
    html_raw(&b, "</td><td>");
    html_text(&b, str(m, "country"));
    html_raw(&b, "</td><td class=\"mono\">");
    html_text(&b, str(m, "gln"));
    html_rawf(&b, "</td><td class=\"n\">%lld</td><td class=\"mono\">", num(m, "records"));
    html_textf(&b, "%.16s…", str(m, "key"));
    html_raw(&b, "</td><td>");
    if (json_is_integer(json_object_get(m, "suspended_from")))
      html_textf(&b, "suspended from seq %lld", num(m, "suspended_from"));
    else if (json_is_string(json_object_get(m, "succeeded_by")))
      html_textf(&b, "succeeded by %.16s…", str(m, "succeeded_by"));
    else html_text(&b, "admitted");
    html_raw(&b, "</td></tr>");
  }
  html_raw(&b, "</table>");
  json_decref(arr);
  return (*out = finish(&b)) ? 0 : -ENOMEM;
}

int page_checkpoints(struct store_txn *txn, struct store *s, char **out)
{
  json_t *feeds = NULL, *evidence = NULL;
  int rc = view_feeds_json(txn, s, &feeds);
  if (rc == 0) rc = view_evidence_list_json(txn, s, &evidence);
  if (rc) { json_decref(feeds); return rc; }
  struct buf b;
  buf_init(&b);
  html_begin(&b, "Kiroku — checkpoints", 0);
  html_raw(&b, "<h1>Feeds and checkpoints</h1><p class=\"muted\">Each member's feed, its newest checkpoint (a signed "
               "Merkle root over its records) and the members who cosigned it as witnesses.</p>"
               "<table><tr><th>feed</th><th class=\"n\">records</th><th class=\"n\">checkpoint</th><th>root</th>"
               "<th>cosigned by</th><th>standing</th></tr>");
  size_t i;
  json_t *f;
  json_array_foreach(feeds, i, f) {
    json_t *ck = json_object_get(f, "checkpoint");
    html_raw(&b, "<tr><td>");
    html_text(&b, str(f, "name"));
    html_rawf(&b, "</td><td class=\"n\">%lld</td><td class=\"n\">", num(f, "records"));
    if (json_is_object(ck)) html_rawf(&b, "%lld", num(ck, "size"));
    html_raw(&b, "</td><td class=\"mono\">");
    if (json_is_object(ck)) html_textf(&b, "%.16s…", str(ck, "root"));
    html_raw(&b, "</td><td>");
    size_t k;
    json_t *w;
    json_array_foreach(json_object_get(ck, "cosigned_by"), k, w) {
      if (k) html_text(&b, ", ");
      html_text(&b, str(w, "name"));
    }
    html_raw(&b, "</td><td>");
    if (json_is_integer(json_object_get(f, "frozen_at")))
      html_rawf(&b, "<span class=\"mark tainted\">FROZEN</span> at seq %lld (equivocation)", num(f, "frozen_at"));
    else html_text(&b, "live");
    html_raw(&b, "</td></tr>");
  }
  html_raw(&b, "</table><h2>Evidence of equivocation</h2>");
  if (!json_array_size(evidence)) html_raw(&b, "<p class=\"muted\">None: no member has been caught signing two versions of its feed.</p>");
  json_array_foreach(evidence, i, f) {
    html_raw(&b, "<p><span class=\"mark tainted\">EQUIVOCATION</span> ");
    html_textf(&b, "%s signed two different %s at %s %lld (evidence %.16s…)", str(f, "name"),
               !strcmp(str(f, "kind"), "checkpoints") ? "checkpoints" : "records",
               !strcmp(str(f, "kind"), "checkpoints") ? "size" : "seq",
               json_is_integer(json_object_get(f, "seq")) ? num(f, "seq") : num(f, "size"), str(f, "id"));
    html_raw(&b, "</p>");
  }
  json_decref(feeds);
  json_decref(evidence);
  return (*out = finish(&b)) ? 0 : -ENOMEM;
}

char *page_error(unsigned status, const char *title, const char *detail)
{
  struct buf b;
  char head[80];
  buf_init(&b);
  snprintf(head, sizeof head, "Kiroku — %u", status);
  html_begin(&b, head, 0);
  html_raw(&b, "<h1>");
  html_text(&b, title);
  html_raw(&b, "</h1><p>");
  html_text(&b, detail);
  html_raw(&b, "</p><p><a href=\"/\">All lots</a></p>");
  return finish(&b);
}
