/*
 * html — building a page: text escaped, markup as written (private to node/pages/).
 */
#ifndef KK_HTML_H
#define KK_HTML_H

#include <stdarg.h>
#include "../base/buf.h"

/* Markup as given. */
void html_raw(struct buf *b, const char *s);
void html_rawf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Text: & < > " ' escaped. */
void html_text(struct buf *b, const char *s);
void html_textf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A path segment, percent-encoded (a lot ref in a link). */
void html_url_part(struct buf *b, const char *s);
/* The page's head (title escaped, the style sheet inline) and, unless bare, the
 * explorer's navigation; html_end closes it. */
void html_begin(struct buf *b, const char *title, int bare);
void html_end(struct buf *b);
/* mg and ppm as people read them (the CLI's formats). */
const char *html_mass(char out[48], long long mg);
const char *html_share(char out[48], long long ppm);

#endif
