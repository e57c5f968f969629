/*
 * lot — a lot's page: the explorer's, or the passport (pages.h). The verdict and every
 * figure come from view_verify_json, the graph from view_trace_json.
 */
#include "pages.h"
#include "html.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/verify.h"
#include "../view/view.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define PASSPORT_EMBED_MAX (8u << 20)  /* bundles up to this are embedded in the passport */

static const char *str(const json_t *o, const char *k)
{
  const char *v = json_string_value(json_object_get(o, k));
  return v ? v : "";
}
static long long num(const json_t *o, const char *k) { return (long long)json_integer_value(json_object_get(o, k)); }

static void figure(struct buf *b, const char *value, const char *what)
{
  html_raw(b, "<div class=\"fig\"><b>");
  html_text(b, value);
  html_raw(b, "</b><span>");
  html_text(b, what);
  html_raw(b, "</span></div>");
}

static void figures(struct buf *b, const json_t *v)
{
  char m[48], s[48], x[48];
  const json_t *rec = json_object_get(v, "recycled"), *un = json_object_get(v, "unclaimed");
  html_raw(b, "<div class=\"figures\">");
  figure(b, html_share(s, num(rec, "share_ppm")), "verified recycled content");
  snprintf(x, sizeof x, "%s", html_mass(m, num(rec, "post_consumer_mg")));
  figure(b, x, "post-consumer (verified)");
  figure(b, html_mass(m, num(rec, "pre_consumer_mg")), "pre-consumer (verified)");
  figure(b, html_mass(m, num(v, "mass_mg")), "mass of the lot");
  figure(b, html_mass(m, num(v, "available_mg")), "held now");
  figure(b, html_mass(m, num(un, "verified_mg")), "verified recycled content not yet claimed");
  if (num(v, "tainted_mg")) figure(b, html_mass(m, num(v, "tainted_mg")), "recorded recycled content that does not count (tainted)");
  html_raw(b, "</div>");
}

static void verdict(struct buf *b, const json_t *v)
{
  int ok = json_is_true(json_object_get(v, "ok"));
  html_rawf(b, "<div class=\"verdict %s\">", ok ? "ok" : "fail");
  if (ok) html_text(b, "OK: nothing tainted or flagged; every claim holds");
  else {
    html_text(b, "FAILED: ");
    size_t i;
    json_t *r;
    json_array_foreach(json_object_get(v, "reasons"), i, r) {
      if (i) html_text(b, "; ");
      html_text(b, json_string_value(r));
    }
  }
  html_raw(b, "</div>");
}

static void origins(struct buf *b, const json_t *v)
{
  char m[48], s[48], r[48], t[48];
  html_raw(b, "<h2>Where its mass came from</h2><table><tr><th>country of origin</th><th class=\"n\">mass</th>"
              "<th class=\"n\">share of mass</th><th class=\"n\">recycled</th><th class=\"n\">share of recycled</th></tr>");
  size_t i;
  json_t *o;
  json_array_foreach(json_object_get(v, "origins"), i, o) {
    html_raw(b, "<tr><td>");
    html_text(b, str(o, "country"));
    html_rawf(b, "</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td><td class=\"n\">%s</td></tr>",
              html_mass(m, num(o, "mass_mg")), html_share(s, (long long)(json_real_value(json_object_get(o, "share_of_mass")) * 1e6 + 0.5)),
              html_mass(r, num(o, "recycled_mg")),
              html_share(t, (long long)(json_real_value(json_object_get(o, "share_of_recycled")) * 1e6 + 0.5)));
  }
  html_raw(b, "</table>");
}

static int certificates(struct buf *b, struct store_txn *txn, struct store *s, const json_t *v)
{
  char m[48];
  html_raw(b, "<h2>Certificates</h2><table><tr><th>scheme and certificate</th><th>issued by</th><th>origin</th>"
              "<th class=\"n\">recycled mass</th><th>standing</th><th>attestations</th></tr>");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(v, "certificates"), i, c) {
    html_raw(b, "<tr><td>");
    html_textf(b, "%s %s", str(c, "scheme"), str(c, "certificate"));
    html_raw(b, "<div class=\"mono muted\">");
    html_textf(b, "record %.16s…", str(c, "record"));
    html_raw(b, "</div></td><td>");
    html_text(b, str(c, "issuer_name"));
    if (json_is_string(json_object_get(c, "facility"))) { html_text(b, " at "); html_text(b, str(c, "facility")); }
    html_raw(b, "</td><td>");
    html_text(b, str(c, "origin"));
    html_rawf(b, "</td><td class=\"n\">%s</td><td>", html_mass(m, num(c, "recycled_mg")));
    if (json_is_true(json_object_get(c, "revoked"))) html_raw(b, "<span class=\"mark revoked\">REVOKED</span> not counted");
    else if (json_is_integer(json_object_get(c, "issuer_frozen_at")))
      html_raw(b, "<span class=\"mark tainted\">ISSUER EQUIVOCATED</span> not counted");
    else html_raw(b, "counted");
    html_raw(b, "</td><td>");
    uint8_t id[32];
    json_t *att = NULL;
    if (sig_unhex(id, 32, str(c, "record")) == 0) {
      int rc = view_attestations_json(txn, s, id, &att);
      if (rc) return rc;
    }
    size_t k;
    json_t *a;
    json_array_foreach(att, k, a) {
      html_raw(b, "<div>");
      html_text(b, str(a, "author_name"));
      html_text(b, ": “");
      html_text(b, str(a, "statement"));
      html_text(b, "”");
      if (json_is_true(json_object_get(a, "revoked"))) html_raw(b, " <span class=\"mark revoked\">REVOKED</span>");
      html_raw(b, "</div>");
    }
    if (!json_array_size(att)) html_raw(b, "<span class=\"muted\">none</span>");
    json_decref(att);
    html_raw(b, "</td></tr>");
  }
  if (!json_array_size(json_object_get(v, "certificates")))
    html_raw(b, "<tr><td colspan=\"6\" class=\"muted\">no certified recycled content</td></tr>");
  html_raw(b, "</table>");
  return 0;
}

static void claims(struct buf *b, const json_t *v)
{
  char m[48], s[48];
  html_raw(b, "<h2>Claims</h2>");
  if (!json_array_size(json_object_get(v, "claims"))) { html_raw(b, "<p class=\"muted\">No claim has been made on this lot.</p>"); return; }
  html_raw(b, "<table><tr><th class=\"n\">recycled share claimed</th><th class=\"n\">charged</th><th>scope</th><th>standing</th></tr>");
  size_t i;
  json_t *c;
  json_array_foreach(json_object_get(v, "claims"), i, c) {
    html_rawf(b, "<tr><td class=\"n\">%s</td><td class=\"n\">%s</td><td>", html_share(s, num(c, "share_ppm")),
              html_mass(m, num(c, "claimed_mg")));
    html_text(b, str(c, "scope"));
    html_raw(b, "</td><td>");
    if (json_is_true(json_object_get(c, "revoked"))) html_raw(b, "<span class=\"mark revoked\">WITHDRAWN</span>");
    else if (json_is_true(json_object_get(c, "holds"))) html_raw(b, "holds");
    else html_raw(b, "<span class=\"mark tainted\">DOES NOT HOLD</span>");
    html_raw(b, "</td></tr>");
  }
  html_raw(b, "</table>");
}

static void incidents_and_taint(struct buf *b, const json_t *v)
{
  char m[48];
  json_t *taint = json_object_get(v, "taint"), *inc = json_object_get(v, "incidents"), *eq = json_object_get(v, "equivocation");
  if (json_array_size(taint) || json_is_object(eq)) {
    html_raw(b, "<h2>Taint</h2><table><tr><th>certificate</th><th>cause</th><th class=\"n\">recycled mass not counted</th></tr>");
    size_t i;
    json_t *t;
    json_array_foreach(taint, i, t) {
      html_raw(b, "<tr><td class=\"mono\">");
      html_textf(b, "%.16s…", str(t, "certificate"));
      html_raw(b, "</td><td>");
      html_text(b, !strcmp(str(t, "cause"), "revoked") ? "revoked" : "its issuer equivocated");
      if (*str(t, "reason")) { html_text(b, ": "); html_text(b, str(t, "reason")); }
      html_rawf(b, "</td><td class=\"n\">%s</td></tr>", html_mass(m, num(t, "recycled_mg")));
    }
    html_raw(b, "</table>");
    if (json_is_object(eq)) {
      html_raw(b, "<p><span class=\"mark flagged\">FLAGGED</span> ");
      html_textf(b, "%s of this lot came through a participant proven to have equivocated:", html_mass(m, num(eq, "mass_mg")));
      json_array_foreach(json_object_get(eq, "participants"), i, t) {
        html_text(b, i ? ", " : " ");
        html_textf(b, "%s (two versions of its feed at seq %lld)", str(t, "name"), num(t, "frozen_at"));
      }
      html_raw(b, "</p>");
    }
  }
  html_raw(b, "<h2>Incidents</h2>");
  if (!json_array_size(inc)) { html_raw(b, "<p class=\"muted\">No incident names this lot, a record or a member of its provenance.</p>"); return; }
  html_raw(b, "<table><tr><th>kind</th><th>reported by</th><th>about</th><th>report</th></tr>");
  size_t i;
  json_t *x;
  json_array_foreach(inc, i, x) {
    html_raw(b, "<tr><td>");
    html_text(b, str(x, "kind"));
    html_raw(b, "</td><td>");
    html_text(b, str(x, "author_name"));
    html_raw(b, "</td><td class=\"mono\">");
    html_textf(b, "%.16s…", str(x, "about"));
    html_raw(b, "</td><td>");
    html_text(b, str(x, "text"));
    html_raw(b, "</td></tr>");
  }
  html_raw(b, "</table>");
}

/* The passport's proof: the bundle's digest, the file itself, and how to check it. */
static void proof(struct buf *b, const json_t *v, const struct page_lot_opts *o)
{
  uint8_t h[32];
  char hex[65];
  crypto_hash_sha256(h, o->bundle, o->bundle_len);
  sig_hex(hex, h, 32);
  html_raw(b, "<h2>Check it yourself</h2><p>Every figure on this page can be checked offline, with no node and no trust "
              "in whoever handed you this page: the proof bundle below carries the records of the lot's whole provenance, "
              "each with its inclusion proof in a checkpoint its author signed and other members cosigned.</p>");
  html_raw(b, "<table><tr><th>proof bundle</th><td>");
  if (o->bundle_len <= PASSPORT_EMBED_MAX) {
    size_t n = sodium_base64_encoded_len(o->bundle_len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = mem_alloc(n);
    if (b64) {
      sodium_bin2base64(b64, n, o->bundle, o->bundle_len, sodium_base64_VARIANT_ORIGINAL);
      html_raw(b, "<a download=\"");
      html_textf(b, "%s.bundle", str(v, "code"));
      html_raw(b, "\" href=\"data:application/octet-stream;base64,");
      html_raw(b, b64);
      html_raw(b, "\">");
      html_textf(b, "%s.bundle", str(v, "code"));
      html_rawf(b, "</a> (%zu bytes, inside this page)", o->bundle_len);
      mem_free(b64);
    }
  } else html_rawf(b, "%zu bytes: <code>kiroku prove REF &gt; lot.bundle</code> on any node that holds the lot", o->bundle_len);
  html_raw(b, "</td></tr><tr><th>its SHA-256</th><td class=\"mono\">");
  html_text(b, hex);
  html_raw(b, "</td></tr>");
  if (o->node_url && *o->node_url) {
    html_raw(b, "<tr><th>made by the node at</th><td class=\"mono\">");
    html_text(b, o->node_url);
    html_raw(b, "</td></tr>");
  }
  html_raw(b, "</table><ol><li>Save the bundle; <code>sha256sum ");
  html_textf(b, "%s.bundle", str(v, "code"));
  html_raw(b, "</code> prints the digest above.</li><li>Get the network's genesis record (<code>genesis.bin</code>) from "
              "any member, or from the registry.</li><li><code>kiroku verify-bundle ");
  html_textf(b, "%s.bundle", str(v, "code"));
  html_raw(b, " --genesis genesis.bin --witnesses 2</code> checks every signature, proof and rule and prints these "
              "figures; its exit code is 0 only when the lot passes.</li></ol><p class=\"muted\">A bundle proves the figures "
              "as of its checkpoints; a later revocation of a certificate upstream is on the ledger, not in this file.</p>");
}

int page_lot(struct store_txn *txn, struct store *s, const uint8_t key[36], const struct page_lot_opts *o, char **out)
{
  struct verify_report rep;
  int rc = verify_lot(txn, s, key, 0, &rep);
  if (rc == STORE_ABSENT) rc = KK_ERR(UNKNOWN_LOT);
  if (rc) return rc;
  json_t *v = view_verify_json(&rep), *trace = NULL;
  verify_report_free(&rep);
  if (!v) return -ENOMEM;
  char *svg = NULL;
  if ((rc = view_trace_json(txn, s, key, 0, &trace)) == 0) rc = page_graph_svg(trace, !o->passport, &svg);
  json_decref(trace);
  if (rc) { json_decref(v); return rc; }
  struct buf b;
  buf_init(&b);
  char title[200];
  snprintf(title, sizeof title, "%s %s — %s", o->passport ? "Passport of lot" : "Lot", str(v, "code"),
           json_is_true(json_object_get(v, "ok")) ? "verified" : "FAILED");
  html_begin(&b, title, o->passport);
  html_raw(&b, "<h1>");
  html_textf(&b, "Lot %s", str(v, "code"));
  html_raw(&b, "</h1><p class=\"muted\">");
  html_textf(&b, "%s, held by %s, model %s · ref ", str(v, "material"), str(v, "owner"), str(v, "model"));
  html_raw(&b, "<span class=\"mono\">");
  html_text(&b, str(v, "lot"));
  html_raw(&b, "</span></p>");
  verdict(&b, v);
  figures(&b, v);
  html_raw(&b, "<h2>Provenance</h2><div class=\"graph\">");
  html_raw(&b, svg);
  html_raw(&b, "</div>");
  mem_free(svg);
  if (!o->passport) {
    html_raw(&b, "<p><a href=\"/kiroku/v1/lots/");
    html_url_part(&b, str(v, "lot"));
    html_raw(&b, "/passport\">Passport</a> · <a href=\"/kiroku/v1/lots/");
    html_url_part(&b, str(v, "lot"));
    html_raw(&b, "\">verify (JSON)</a> · <a href=\"/kiroku/v1/lots/");
    html_url_part(&b, str(v, "lot"));
    html_raw(&b, "/trace?direction=down\">where it went (JSON)</a> · <a href=\"/kiroku/v1/lots/");
    html_url_part(&b, str(v, "lot"));
    html_raw(&b, "/bundle\">proof bundle</a></p>");
  }
  origins(&b, v);
  rc = certificates(&b, txn, s, v);
  claims(&b, v);
  incidents_and_taint(&b, v);
  if (o->passport && o->bundle) proof(&b, v, o);
  else if (o->passport) {
    html_raw(&b, "<h2>Check it yourself</h2><p>No proof bundle could be made for this lot yet: ");
    html_text(&b, o->no_bundle && *o->no_bundle ? o->no_bundle : "its feeds' checkpoints are not witnessed yet");
    html_raw(&b, ". Ask for the passport again once the nodes have exchanged checkpoints, or make the bundle with "
                 "<code>kiroku prove REF &gt; lot.bundle</code> and check it with <code>kiroku verify-bundle</code>.</p>");
  }
  html_raw(&b, "<footer>Figures as `kiroku verify` computes them from the replicated ledger; exact to the milligram.</footer>");
  html_end(&b);
  json_decref(v);
  char *page = rc ? NULL : buf_cstr(&b);
  if (!page) { buf_free(&b); return rc ? rc : -ENOMEM; }
  *out = page;
  return 0;
}
