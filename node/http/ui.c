/*
 * ui — the explorer's pages and the passport over HTTP (node/pages/pages.h):
 *
 *   GET /                          (a browser: Accept text/html) the lots, ?code= to search
 *   GET /ui/lots/{ref}             a lot: verified figures, provenance graph, certificates,
 *                                  claims, attestations, taint and incidents
 *   GET /ui/members, /ui/checkpoints
 *   GET /kiroku/v1/lots/{ref}/passport   the self-contained passport, with its proof bundle
 */
#include "http_int.h"
#include "../base/err.h"
#include "../base/mem.h"
#include "../ledger/bundle.h"
#include "../pages/pages.h"
#include "../view/view.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void send_page(struct http_resp *r, unsigned status, char *page)
{
  if (!page) { r->status = 500; return; }
  http_send_bytes(r, status, "text/html; charset=utf-8", page, strlen(page));
  mem_free(page);
  /* the pages load nothing: say so, so that a page with injected markup cannot either */
  http_header_add(r, "Content-Security-Policy",
                  "default-src 'none'; style-src 'unsafe-inline'; img-src data:; base-uri 'none'; form-action 'self'");
}

static void page_failed(const struct http_req *q, struct http_resp *r, int rc, const char *detail)
{
  unsigned status = rc == KK_ERR(UNKNOWN_LOT) || rc == STORE_ABSENT ? 404 : rc == KK_ERR(AMBIGUOUS) ? 409 : kk_err_is_input(rc) ? 400 : 500;
  (void)q;
  send_page(r, status, page_error(status, kk_strerror(rc), detail && *detail ? detail : kk_strerror(rc)));
}

/* A page read in one transaction: fn makes it. */
static void read_page(const struct http_req *q, struct http_resp *r, const char *ref, int passport)
{
  struct store_txn *txn;
  if (http_read_begin(q, r, &txn)) return;
  struct store *s = q->srv->cfg.s;
  char *page = NULL, why[1024] = "";
  uint8_t key[36], *bundle = NULL;
  size_t blen = 0;
  int rc;
  if (!ref) {
    const char *path = q->path;
    if (!strcmp(path, "/ui/members")) rc = page_members(txn, s, &page);
    else if (!strcmp(path, "/ui/checkpoints")) rc = page_checkpoints(txn, s, &page);
    else {
      const char *from = http_arg(q, "from");
      rc = page_home(txn, s, http_arg(q, "code"), from ? strtoul(from, NULL, 10) : 0, &page);
    }
  } else if ((rc = view_resolve_lot(txn, s, q->srv->cfg.pk, ref, key, why, sizeof why)) == 0) {
    struct page_lot_opts o = { passport, NULL, 0, q->srv->url, NULL };
    /* a bundle the node cannot prove yet (a feed without a checkpoint) leaves the
     * passport without its proof section; the figures stand */
    struct bundle_info info;
    char bwhy[320] = "";
    if (passport && bundle_prove(txn, s, key, q->srv->cfg.pk, q->srv->cfg.sk, &bundle, &blen, &info, bwhy, sizeof bwhy) == 0) {
      o.bundle = bundle;
      o.bundle_len = blen;
    } else o.no_bundle = bwhy;
    rc = page_lot(txn, s, key, &o, &page);
  }
  http_read_end(q, txn);
  mem_free(bundle);
  if (rc) { page_failed(q, r, rc, why); return; }
  if (passport) http_header_add(r, "Content-Disposition", "inline; filename=\"passport.html\"");
  send_page(r, 200, page);
}

int http_ui_route(const struct http_req *q, struct http_resp *r)
{
  const char *p = q->path;
  int get = !strcmp(q->method, "GET") || !strcmp(q->method, "HEAD");
  if (!get) return 0;
  if (!strcmp(p, "/") && http_wants_html(q)) { read_page(q, r, NULL, 0); return 1; }
  if (!strcmp(p, "/ui/members") || !strcmp(p, "/ui/checkpoints") || !strcmp(p, "/ui") || !strcmp(p, "/ui/")) {
    read_page(q, r, NULL, 0);
    return 1;
  }
  if (!strncmp(p, "/ui/lots/", 9) && p[9]) { read_page(q, r, p + 9, 0); return 1; }
  static const char pre[] = "/kiroku/v1/lots/", suf[] = "/passport";
  size_t n = strlen(p);
  if (!strncmp(p, pre, sizeof pre - 1) && n > sizeof pre - 1 + sizeof suf - 1 && !strcmp(p + n - (sizeof suf - 1), suf)) {
    char ref[512];
    size_t l = n - (sizeof pre - 1) - (sizeof suf - 1);
    if (l >= sizeof ref) return 0;
    memcpy(ref, p + sizeof pre - 1, l);
    ref[l] = 0;
    read_page(q, r, ref, 1);
    return 1;
  }
  if (!strncmp(p, "/ui/", 4)) {
    send_page(r, 404, page_error(404, "no such page", "the explorer has lots, members and checkpoints"));
    return 1;
  }
  return 0;
}
