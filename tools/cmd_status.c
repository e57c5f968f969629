/*
 * status — what the node running on this directory is doing.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../node/client/ctl.h"
#include "../node/base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int cmd_status(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku status [--json]");
  int fd = ctl_client_connect(c->dir);
  if (fd < 0) {
    if (fd == -ENOENT || fd == -ECONNREFUSED) {
      if (c->json) cli_print_json(json_pack("{s:b}", "running", 0));
      else printf("no node is running on %s (start one with kiroku-node -C %s --listen HOST:PORT)\n", c->dir, c->dir);
      return CLI_OK;
    }
    return cli_fail(fd, "control socket in %s", c->dir);
  }
  char *s = NULL;
  int rc = ctl_client_status(fd, &s);
  close(fd);
  if (rc) return cli_fail(rc, "status");
  json_error_t err;
  json_t *j = json_loads(s, 0, &err);
  mem_free(s);
  if (!j) return cli_fail(KK_ERR(INTERNAL), "status: the node answered something that is not JSON");
  json_object_set_new(j, "running", json_true());
  if (c->json) { cli_print_json(j); return CLI_OK; }
  printf("node %.16s… on network %.16s…%s%s\n", json_string_value(json_object_get(j, "key")),
         json_string_value(json_object_get(j, "network")), json_object_get(j, "listen") ? ", listening on " : "",
         json_object_get(j, "listen") ? json_string_value(json_object_get(j, "listen")) : "");
  json_t *own_frozen = json_object_get(j, "own_feed_frozen_at");
  if (json_is_integer(own_frozen))
    printf("YOUR FEED IS FROZEN at seq %lld by evidence of equivocation: your writes are refused "
           "(the way back: kiroku succeed by the registry, docs/operations.md, 'A frozen feed')\n", (long long)json_integer_value(own_frozen));
  printf("records committed since start: %lld; queued for ingest: %lld; waiting for dependencies: %lld\n",
         (long long)json_integer_value(json_object_get(j, "committed_since_start")),
         (long long)json_integer_value(json_object_get(j, "queued_records")),
         (long long)json_integer_value(json_object_get(j, "waiting_records")));
  size_t i;
  json_t *p;
  printf("peers\n");
  json_array_foreach(json_object_get(j, "peers"), i, p) {
    json_t *lag = json_object_get(p, "lag");
    printf("  %-22s %-14s %-12s in %lld / out %lld records%s\n", json_string_value(json_object_get(p, "address")),
           json_object_get(p, "name") ? json_string_value(json_object_get(p, "name")) : "",
           json_string_value(json_object_get(p, "state")), (long long)json_integer_value(json_object_get(p, "records_in")),
           (long long)json_integer_value(json_object_get(p, "records_out")),
           lag && json_array_size(lag) ? "" : (lag ? ", in step" : ""));
    if (json_is_string(json_object_get(p, "last_error")))
      printf("      cannot connect: %s\n", json_string_value(json_object_get(p, "last_error")));
    size_t k;
    json_t *l;
    json_array_foreach(lag, k, l)
      printf("      feed %.12s…: ours %lld, theirs %lld\n", json_string_value(json_object_get(l, "author")),
             (long long)json_integer_value(json_object_get(l, "ours")), (long long)json_integer_value(json_object_get(l, "theirs")));
  }
  printf("feeds\n");
  json_array_foreach(json_object_get(j, "feeds"), i, p) {
    json_t *fz = json_object_get(p, "frozen_at");
    printf("  %.16s…  %-14s %6lld records, %6lld evaluated", json_string_value(json_object_get(p, "author")),
           json_object_get(p, "name") ? json_string_value(json_object_get(p, "name")) : "",
           (long long)json_integer_value(json_object_get(p, "seq")), (long long)json_integer_value(json_object_get(p, "applied")));
    if (json_is_integer(fz)) printf(", FROZEN at seq %lld", (long long)json_integer_value(fz));
    putchar('\n');
  }
  json_decref(j);
  return CLI_OK;
}
