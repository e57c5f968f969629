/*
 * http-token — the bearer token of the node's HTTP writes (node/http/token.h).
 */
#include "cli.h"
#include "../node/base/err.h"
#include "../node/http/token.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

int cmd_http_token(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "rotate", no_argument, 0, 'r' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *usage = "usage: kiroku http-token [--rotate] [--json]";
  int o, rotate = 0;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'r') rotate = 1;
    else if (o != 'j') return cli_usage("%s", usage);
  }
  if (optind != argc) return cli_usage("%s", usage);
  int rc = cli_open(c, CLI_NETWORK);
  if (rc) return rc;
  char token[HTTP_TOKEN_LEN + 1];
  if ((rc = http_token_ensure(c->dir, rotate, token))) return cli_fail(rc, "http-token: %s/%s", c->dir, HTTP_TOKEN_FILE);
  if (c->json) cli_print_json(json_pack("{s:s,s:b}", "token", token, "rotated", rotate));
  else puts(token);
  if (rotate) fprintf(stderr, "kiroku: a new HTTP token is in %s/%s; the old one is refused from now on\n", c->dir, HTTP_TOKEN_FILE);
  return CLI_OK;
}
