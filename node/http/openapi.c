/*
 * openapi — the OpenAPI 3.0 description of everything the server answers, served at
 * /kiroku/v1/openapi.json. Its source is docs/openapi.json (kept beside the routes;
 * tests/net/http.sh checks that every path it names is answered), built in as a string
 * by the Makefile ($(BUILD)/gen/openapi.inc).
 */
#include "http_int.h"

static const char openapi_text[] =
#include "openapi.inc"
  ;

json_t *http_openapi(const struct http_server *h)
{
  json_t *doc = json_loads(openapi_text, 0, NULL);
  if (doc) json_object_set_new(doc, "servers", json_pack("[{s:s}]", "url", h->url));
  return doc;
}
