/*
 * init, keygen, join — creating identities and networks.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../crypto/keys.h"
#include "../crypto/sig.h"
#include "../node/base/err.h"
#include "../node/ledger/ingest.h"
#include "../node/ledger/store.h"
#include "../node/client/ctl.h"

#include <sodium.h>

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Loads the identity, creating it if absent. 1 when created, 0 when loaded, or <0. */
static int load_or_create_key(struct cli *c)
{
  if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) return -errno;
  int rc = keys_load(c->dir, c->pk, c->sk);
  if (rc == KK_ERR(NO_KEY)) {
    rc = keys_create(c->dir, c->pk, c->sk);
    if (rc == 0) rc = 1;
  }
  if (rc >= 0) c->have_key = 1;
  return rc;
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
  char tmp[4300];
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return -errno;
  int rc = 0;
  if (write(fd, p, n) != (ssize_t)n || fsync(fd) != 0) rc = -errno;
  if (close(fd) != 0 && !rc) rc = -errno;
  if (!rc && rename(tmp, path) != 0) rc = -errno;
  if (rc) unlink(tmp);
  return rc;
}

int cmd_init(struct cli *c, int argc, char **argv)
{
  static const struct option opts[] = { { "network", required_argument, 0, 'n' }, { "json", no_argument, 0, 'j' }, { 0, 0, 0, 0 } };
  const char *name = NULL;
  int o;
  optind = 1;
  while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
    if (o == 'n') name = optarg;
    else if (o != 'j') return cli_usage("usage: kiroku init --network NAME");
  }
  int missing = cli_require("usage: kiroku init --network NAME", argc, argv, optind, "--network NAME", name && *name, NULL);
  if (missing) return missing;
  int rc = load_or_create_key(c);
  if (rc < 0) return cli_fail(rc, "identity in %s", c->dir);
  if ((rc = cli_open(c, CLI_WRITE))) return rc;
  if (c->have_network) return cli_fail(KK_ERR(EXISTS), "%s already holds a network", c->dir);

  struct kk_body *b = mem_calloc(1, sizeof *b);
  uint8_t id[32];
  if (!b) return cli_fail(-ENOMEM, "init");
  b->kind = KK_PL_GENESIS;
  if (strlen(name) > CODEC_NAME_MAX) { mem_free(b); return cli_fail(KK_ERR(TOO_LARGE), "network name"); }
  strcpy(b->u.genesis.name, name);
  rc = cli_append(c, b, id);
  mem_free(b);
  if (rc) return cli_fail(rc, "cannot create the genesis record");

  /* genesis.bin: the record members need to join. */
  struct store_txn *txn;
  const uint8_t *env;
  size_t len;
  char path[4200];
  if ((rc = store_read(c->s, &txn))) return cli_fail(rc, "store");
  rc = store_record_get(txn, c->s, c->pk, 1, &env, &len);
  snprintf(path, sizeof path, "%s/genesis.bin", c->dir);
  if (rc == 0) rc = write_file(path, env, len);
  store_txn_abort(txn);
  if (rc) return cli_fail(rc, "cannot write %s", path);
  char hex[65];
  view_hex(hex, id);
  if (c->json) {
    json_t *j = json_pack("{s:s,s:s,s:o,s:o}", "network", name, "genesis", path, "network_id",
                          json_string(hex), "registry", view_json_hex(c->pk, 32));
    cli_print_json(j);
  } else {
    printf("%s\n", hex);
    fprintf(stderr, "network '%s' created; members join with %s\n", name, path);
  }
  return 0;
}

int cmd_keygen(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku keygen");
  if (mkdir(c->dir, 0700) != 0 && errno != EEXIST) return cli_fail(-errno, "cannot create %s", c->dir);
  int rc = keys_create(c->dir, c->pk, c->sk);
  if (rc == KK_ERR(EXISTS)) return cli_fail(rc, "%s/%s (remove it only if you mean to lose that identity)", c->dir, KEYS_FILE);
  if (rc) return cli_fail(rc, "cannot create the identity key");
  char hex[65];
  view_hex(hex, c->pk);
  if (c->json) cli_print_json(json_pack("{s:s}", "key", hex));
  else printf("%s\n", hex);
  return 0;
}

/* A new key for the member's feed: kept in identity.key.next, announced with a RotateKey
 * record signed by the key now (its proof by the new one), then made the identity
 * (crypto/keys.h). Only with no node running: the node holds the key it signs with. */
int cmd_rotate_key(struct cli *c, int argc, char **argv)
{
  (void)argv;
  if (argc > 2 || (argc == 2 && !c->json)) return cli_usage("usage: kiroku rotate-key [--json]");
  int fd = ctl_client_connect(c->dir);
  if (fd >= 0) {
    close(fd);
    fprintf(stderr, "kiroku: a node is running on %s: stop it first (kiroku-node takes the new key when it "
                    "starts again); nothing was written\n", c->dir);
    return CLI_USAGE;
  }
  int rc = cli_open(c, CLI_WRITE | CLI_KEY | CLI_NETWORK);
  if (rc) return rc;
  uint8_t npk[32], nsk[64], was[32], id[32];
  sig_public(was, c->sk);
  sig_keypair(npk, nsk);
  struct kk_body *b = mem_calloc(1, sizeof *b);
  if (!b) { sodium_memzero(nsk, sizeof nsk); return CLI_INTERNAL; }
  if ((rc = keys_next_write(c->dir, c->pk, nsk))) {
    mem_free(b);
    sodium_memzero(nsk, sizeof nsk);
    return cli_fail(rc, "cannot write the new key to %s/%s", c->dir, KEYS_NEXT);
  }
  b->kind = KK_PL_ROTATE_KEY;
  memcpy(b->u.rotate_key.new_key, npk, 32);
  c->rotate_sk = nsk;
  rc = cli_append(c, b, id);
  c->rotate_sk = NULL;
  mem_free(b);
  sodium_memzero(nsk, sizeof nsk);
  /* The record decides: committed, the new key becomes the identity; else it goes. */
  int settled = keys_next_settle(c->dir, rc == 0 ? npk : was);
  if (rc) return cli_refused(c, rc, "rotate-key");
  if (settled < 0) return cli_fail(settled, "the RotateKey record is written but %s/%s could not be renamed to %s: rename it by hand", c->dir, KEYS_NEXT, KEYS_FILE);
  char hex[65], feed[65], key[65];
  view_hex(hex, id);
  view_hex(feed, c->pk);
  view_hex(key, npk);
  if (c->json) cli_print_json(json_pack("{s:s,s:s,s:s}", "record", hex, "feed", feed, "key", key));
  else
    printf("rotated: record %.12s; feed %.16s… is signed by key %.16s… from now on (%s/%s holds it)\n", hex, feed, key,
           c->dir, KEYS_FILE);
  return 0;
}

int cmd_join(struct cli *c, int argc, char **argv)
{
  if (argc != 2 && !(argc == 3 && c->json)) return cli_usage("usage: kiroku join FILE");
  const char *file = strcmp(argv[1], "--json") == 0 ? argv[2] : argv[1];
  uint8_t buf[CODEC_MAX_RECORD + 1], network[32], registry[32];
  int rc;
  FILE *f = cli_open_arg(file, &rc);
  if (!f) return cli_fail(rc, "%s", file);
  size_t n = fread(buf, 1, sizeof buf, f);
  fclose(f);
  rc = n > CODEC_MAX_RECORD ? KK_ERR(TOO_LARGE) : ingest_check_genesis(buf, n, network, registry);
  if (rc) return cli_fail(rc, "%s is not a valid genesis record", file);
  if ((rc = load_or_create_key(c)) < 0) return cli_fail(rc, "identity in %s", c->dir);
  if ((rc = cli_open(c, CLI_WRITE))) return rc;
  if (c->have_network) {
    if (memcmp(c->network, network, 32) != 0) return cli_fail(KK_ERR(NETWORK), "%s already belongs to another network", c->dir);
  } else {
    struct ingest_item it;
    memset(&it, 0, sizeof it);
    it.env = buf;
    it.len = n;
    rc = ingest_batch(c->s, &it, 1, INGEST_ADOPT_GENESIS | INGEST_ALL_OR_NOTHING, 1);
    if (rc) return cli_fail(rc, "cannot join");
  }
  char hex[65], key[65];
  view_hex(hex, network);
  view_hex(key, c->pk);
  if (c->json) cli_print_json(json_pack("{s:s,s:s}", "network_id", hex, "key", key));
  else {
    printf("%s\n", hex);
    fprintf(stderr, "joined network %.16s…; this member's key (give it to the registry): %s\n", hex, key);
  }
  return 0;
}
