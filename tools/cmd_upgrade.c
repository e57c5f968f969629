/*
 * upgrade — brings a store written by an earlier version to this version's layout.
 *
 * Any read-write open does it (cli_open, the node at start: rules_upgrade); this
 * command is that open with nothing else, for an operator who wants it done, and
 * known done, before reading.
 */
#include "cli.h"
#include "../node/base/err.h"

#include <stdio.h>
#include <sys/stat.h>

int cmd_upgrade(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku upgrade [--json]");
  char path[4200];
  struct stat st;
  snprintf(path, sizeof path, "%s/data.mdb", c->dir);
  /* A read-write open would create a store: upgrading nothing is an error. */
  if (stat(path, &st) != 0) return cli_fail(KK_ERR(NOT_INIT), "%s", c->dir);
  int rc = cli_open(c, CLI_WRITE | CLI_NETWORK);
  if (rc) return rc;
  if (c->json) cli_print_json(json_pack("{s:b,s:i}", "upgraded", c->upgraded, "layout", STORE_LAYOUT));
  else if (c->upgraded) printf("upgraded %s: derived state rebuilt from the log (layout %d)\n", c->dir, STORE_LAYOUT);
  else printf("%s is already in this version's layout (%d): nothing to do\n", c->dir, STORE_LAYOUT);
  return CLI_OK;
}
