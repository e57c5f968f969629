/*
 * pages — the ledger as pages a person would rather look at than read: the explorer
 * the node serves (lots with search by code, a lot's page, members, checkpoints and
 * evidence) and the product passport (`kiroku passport`, GET
 * /kiroku/v1/lots/{ref}/passport): plain HTML with inline CSS, the provenance drawn as
 * SVG by Graphviz (graph.c). No script, no fetch: a passport is one self-contained file.
 *
 * Every figure is read from the views' JSON (node/view/view.h): a page never says
 * other than `verify --json`. Text from the ledger is escaped.
 *
 * Ownership: *out is a new NUL-terminated string (mem_free). Reads through the caller's
 * transaction. Threads: Graphviz is not thread-safe, so the graph is laid out under a
 * lock of this module's. Errors: -ENOMEM, storage errors, KK_E_UNKNOWN_LOT, KK_E_INTERNAL
 * (Graphviz failed).
 */
#ifndef KK_PAGES_H
#define KK_PAGES_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include "../ledger/store.h"

/* How a lot's page is made. */
struct page_lot_opts {
  int passport;                /* the passport: self-contained, no links to the node */
  const uint8_t *bundle;       /* passport: the lot's proof bundle (its digest shown, the */
  size_t bundle_len;           /*   file embedded as a download when small enough) */
  const char *node_url;        /* passport: where it was made ("" when offline) */
  const char *no_bundle;       /* passport without a bundle: why none could be made */
};

/* The SVG (an <svg> element, no XML prologue) of a provenance tree (view_trace_json,
 * direction up): lots, certificates, unledgered inputs with their countries; revoked,
 * tainted and flagged parts marked. links: lots link to their explorer pages. */
int page_graph_svg(const json_t *trace, int links, char **out);

/* A lot's page (the explorer's, or the passport). */
int page_lot(struct store_txn *txn, struct store *s, const uint8_t key[36], const struct page_lot_opts *o, char **out);
/* The explorer's home: the lots whose code contains `search` (NULL or "": all), with
 * their verified figures, 200 a page from the `from`th, linked to the pages before and
 * after. */
int page_home(struct store_txn *txn, struct store *s, const char *search, size_t from, char **out);
int page_members(struct store_txn *txn, struct store *s, char **out);
int page_checkpoints(struct store_txn *txn, struct store *s, char **out);
/* A page saying what went wrong (status, title, detail), in the explorer's frame. */
char *page_error(unsigned status, const char *title, const char *detail);

#endif
