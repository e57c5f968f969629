/*
 * ejson — numbers kept as text (see ejson.h).
 */
#include "ejson.h"
#include "../base/buf.h"
#include "../base/err.h"
#include "../base/mem.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define EJSON_MARK '\x01'

static int is_digit(char c) { return c >= '0' && c <= '9'; }

/* Length of the JSON number at p (p < end), 0 when it is not one:
 * -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static size_t number_len(const char *p, const char *end)
{
  const char *q = p;
  if (q < end && *q == '-') q++;
  if (q >= end || !is_digit(*q)) return 0;
  if (*q == '0') q++;
  else
    while (q < end && is_digit(*q)) q++;
  if (q < end && *q == '.') {
    q++;
    if (q >= end || !is_digit(*q)) return 0;
    while (q < end && is_digit(*q)) q++;
  }
  if (q < end && (*q == 'e' || *q == 'E')) {
    q++;
    if (q < end && (*q == '+' || *q == '-')) q++;
    if (q >= end || !is_digit(*q)) return 0;
    while (q < end && is_digit(*q)) q++;
  }
  /* a number runs up to a delimiter: "01" or "1.5.2" is not one number */
  if (q < end && (is_digit(*q) || *q == '.' || *q == 'e' || *q == 'E' || *q == '-' || *q == '+')) return 0;
  return (size_t)(q - p);
}

static int line_of(const char *text, const char *p)
{
  int line = 1;
  for (const char *q = text; q < p; q++) line += *q == '\n';
  return line;
}

int ejson_load(const char *text, size_t len, json_t **out, char *why, size_t whylen)
{
  *out = NULL;
  struct buf b;
  buf_init(&b);
  const char *p = text, *end = text + len;
  while (p < end) {
    char c = *p;
    if (c == '"') {
      /* a string, copied as it is; jansson checks its escapes and UTF-8 */
      const char *s = p++;
      while (p < end && *p != '"') {
        if (*p == '\\' && p + 1 < end) {
          if (p[1] == 'u' && end - p >= 6 && p[2] == '0' && p[3] == '0' && p[4] == '0' && p[5] == '1') {
            snprintf(why, whylen, "line %d: a string holds the control character U+0001", line_of(text, p));
            buf_free(&b);
            return KK_ERR(USAGE);
          }
          p += 2;
          continue;
        }
        p++;
      }
      if (p < end) p++;
      buf_put(&b, s, (size_t)(p - s));
      continue;
    }
    if (c == '-' || is_digit(c)) {
      size_t n = number_len(p, end);
      if (n == 0) {
        snprintf(why, whylen, "line %d: not a JSON number", line_of(text, p));
        buf_free(&b);
        return KK_ERR(USAGE);
      }
      buf_put(&b, "\"\\u0001", 7);
      buf_put(&b, p, n);
      buf_u8(&b, '"');
      p += n;
      continue;
    }
    buf_u8(&b, (uint8_t)c);
    p++;
  }
  if (b.err) {
    buf_free(&b);
    return -ENOMEM;
  }
  json_error_t e;
  json_t *j = json_loadb((const char *)b.p, b.len, JSON_REJECT_DUPLICATES, &e);
  buf_free(&b);
  /* out of memory: said so, or (when jansson's lexer could not even start) no error
   * text at all */
  if (!j && (json_error_code(&e) == json_error_out_of_memory || !e.text[0])) return -ENOMEM;
  if (!j) {
    /* jansson's column counts the rewritten text; its line is the document's */
    snprintf(why, whylen, "line %d: %s", e.line, e.text);
    return KK_ERR(USAGE);
  }
  if (!json_is_object(j)) {
    json_decref(j);
    snprintf(why, whylen, "the document is not a JSON object");
    return KK_ERR(USAGE);
  }
  *out = j;
  return 0;
}

const char *ejson_number(const json_t *j)
{
  if (!json_is_string(j)) return NULL;
  const char *s = json_string_value(j);
  return s[0] == EJSON_MARK ? s + 1 : NULL;
}

const char *ejson_string(const json_t *j)
{
  if (!json_is_string(j)) return NULL;
  const char *s = json_string_value(j);
  return s[0] == EJSON_MARK ? NULL : s;
}

json_t *ejson_number_new(const char *text)
{
  size_t n = strlen(text);
  char *s = mem_alloc(n + 2);
  if (!s) return NULL;
  s[0] = EJSON_MARK;
  memcpy(s + 1, text, n + 1);
  json_t *j = json_string(s);
  mem_free(s);
  return j;
}

char *ejson_dump(const json_t *j, size_t flags)
{
  char *text = json_dumps(j, flags);
  if (!text) return NULL;
  /* jansson writes the marker as \u0001 inside the string's quotes: "\u000112.5"
   * becomes 12.5 (a number's text holds no quote or backslash) */
  static const char mark[] = "\"\\u0001";
  size_t ml = sizeof mark - 1;
  struct buf b;
  buf_init(&b);
  for (const char *p = text; *p;) {
    const char *q = strstr(p, mark);
    if (!q) { buf_text(&b, p); break; }
    buf_put(&b, p, (size_t)(q - p));
    const char *end = strchr(q + ml, '"');
    if (!end) { buf_text(&b, q); break; }
    buf_put(&b, q + ml, (size_t)(end - q - ml));
    p = end + 1;
  }
  mem_free(text);
  return buf_cstr(&b);
}
