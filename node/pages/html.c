/*
 * html — building a page (html.h).
 */
#include "html.h"
#include "../ledger/qty.h"

#include <stdio.h>
#include <string.h>

void html_raw(struct buf *b, const char *s) { buf_put(b, s, strlen(s)); }

void html_rawf(struct buf *b, const char *fmt, ...)
{
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  html_raw(b, tmp);
}

void html_text(struct buf *b, const char *s)
{
  for (; s && *s; s++) {
    switch (*s) {
    case '&': html_raw(b, "&amp;"); break;
    case '<': html_raw(b, "&lt;"); break;
    case '>': html_raw(b, "&gt;"); break;
    case '"': html_raw(b, "&quot;"); break;
    case '\'': html_raw(b, "&#39;"); break;
    default: buf_put(b, s, 1);
    }
  }
}

void html_textf(struct buf *b, const char *fmt, ...)
{
  char tmp[2048];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(tmp, sizeof tmp, fmt, ap);
  va_end(ap);
  html_text(b, tmp);
}

void html_url_part(struct buf *b, const char *s)
{
  static const char hex[] = "0123456789ABCDEF";
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
        c == '~' || c == ':')
      buf_put(b, s, 1);
    else {
      char e[3] = { '%', hex[c >> 4], hex[c & 15] };
      buf_put(b, e, 3);
    }
  }
}

static const char style[] =
  "body{font:15px/1.45 system-ui,-apple-system,'Segoe UI',sans-serif;margin:0;color:#1d2a22;background:#f6f8f5}"
  "header{background:#1f5133;color:#fff;padding:10px 24px;display:flex;gap:24px;align-items:center;flex-wrap:wrap}"
  "header a{color:#fff;text-decoration:none;font-weight:600}header .brand{font-size:18px;letter-spacing:.04em}"
  "header form{margin-left:auto}header input{padding:4px 8px;border-radius:4px;border:0;min-width:14em}"
  "main{max-width:1100px;margin:0 auto;padding:16px 24px 48px}h1{font-size:24px;margin:12px 0 4px}"
  "h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #cfd8cf;padding-bottom:4px}"
  "table{border-collapse:collapse;width:100%;background:#fff}th,td{text-align:left;padding:6px 8px;"
  "border-bottom:1px solid #e3e9e2;vertical-align:top}th{background:#eaf0e8;font-weight:600}"
  "td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}"
  ".verdict{display:inline-block;padding:6px 14px;border-radius:6px;font-weight:700;margin:8px 0}"
  ".ok{background:#d9f2df;color:#145c2a}.fail{background:#fbe0dc;color:#8a1c0e}"
  ".mark{display:inline-block;padding:1px 6px;border-radius:4px;font-size:12px;font-weight:700;margin-left:4px}"
  ".tainted{background:#fbe0dc;color:#8a1c0e}.flagged{background:#fdeccc;color:#7a4a00}.revoked{background:#e7e7e7;color:#555}"
  ".figures{display:grid;grid-template-columns:repeat(auto-fit,minmax(200px,1fr));gap:12px;margin:12px 0}"
  ".fig{background:#fff;border:1px solid #dfe6de;border-radius:8px;padding:10px 14px}"
  ".fig b{display:block;font-size:24px}.fig span{color:#56655b;font-size:13px}"
  ".graph{background:#fff;border:1px solid #dfe6de;border-radius:8px;padding:8px;overflow:auto}"
  ".graph svg{max-width:100%;height:auto}code,.mono{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:13px;"
  "word-break:break-all}.muted{color:#56655b}footer{color:#56655b;font-size:13px;margin-top:32px}";

void html_begin(struct buf *b, const char *title, int bare)
{
  html_raw(b, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
              "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
              "<link rel=\"icon\" href=\"data:,\"><title>");
  html_text(b, title);
  html_raw(b, "</title><style>");
  html_raw(b, style);
  html_raw(b, "</style></head><body>");
  if (bare) html_raw(b, "<header><span class=\"brand\">Kiroku</span><span>product passport</span></header>");
  else
    html_raw(b, "<header><a class=\"brand\" href=\"/\">Kiroku</a><a href=\"/\">Lots</a><a href=\"/ui/members\">Members</a>"
                "<a href=\"/ui/checkpoints\">Checkpoints</a><form action=\"/\" method=\"get\">"
                "<input name=\"code\" type=\"search\" placeholder=\"search lots by code\" aria-label=\"lot code\"></form>"
                "</header>");
  html_raw(b, "<main>");
}

void html_end(struct buf *b) { html_raw(b, "</main></body></html>\n"); }

const char *html_mass(char out[48], long long mg) { return qty_format_mass(out, mg < 0 ? 0 : (uint64_t)mg); }
const char *html_share(char out[48], long long ppm) { return qty_format_ppm(out, ppm < 0 ? 0 : (uint64_t)ppm); }
