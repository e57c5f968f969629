/*
 * kiroku-node — runs a peer node: replicates every feed with its peers and serves the
 * local CLI.
 *
 *   kiroku-node [-C DIR] --listen HOST:PORT [--peer HOST:PORT]... [--http HOST:PORT] [--config FILE]
 *
 * The config file has one setting per line ("listen = HOST:PORT", "peer = HOST:PORT",
 * repeatable; "max_connections = N", "max_handshakes = N", "max_handshakes_per_ip = N",
 * "handshake_timeout_ms = N", "idle_timeout_ms = N", "map_size_mb = N", "http = HOST:PORT",
 * "http_tls_cert = FILE", "http_tls_key = FILE", "http_max_body_mb = N",
 * "http_timeout_s = N"; '#' starts a
 * comment); command-line options add to it. docs/operations.md explains each.
 */
#include "node.h"
#include "hs.h"
#include "../base/version.h"
#include "../base/mem.h"
#include "../base/err.h"
#include "../base/log.h"
#include "../../crypto/sig.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int read_config(struct node *n, const char *path)
{
  FILE *f = fopen(path, "r");
  char line[512];
  int lineno = 0, rc = 0;
  if (!f) { fprintf(stderr, "kiroku-node: cannot read %s\n", path); return 2; }
  while (fgets(line, sizeof line, f)) {
    lineno++;
    char *hash = strchr(line, '#');
    if (hash) *hash = 0;
    char key[64], val[400];
    if (sscanf(line, " %63[a-z_] = %399s", key, val) != 2) {
      char *p = line;
      while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r') p++;
      if (!*p) continue;
      fprintf(stderr, "kiroku-node: %s:%d: expected 'key = value'\n", path, lineno);
      rc = 2;
      break;
    }
    const char *bad = NULL;
    if (!strcmp(key, "listen")) rc = node_set_listen(n, val, &bad);
    else if (!strcmp(key, "http")) rc = node_set_http(n, val, &bad);
    else if (!strcmp(key, "http_tls_cert") || !strcmp(key, "http_tls_key")) rc = node_set_http_file(n, key, val, &bad);
    else if (!strcmp(key, "peer")) rc = node_add_peer(n, val, &bad);
    else {
      const char *why;
      if (node_set_limit(n, key, val, &why)) {
        fprintf(stderr, "kiroku-node: %s:%d: %s ('%s')\n", path, lineno, why, key);
        rc = 2;
        break;
      }
      continue;
    }
    if (rc) { fprintf(stderr, "kiroku-node: %s:%d: %s '%s': %s\n", path, lineno, key, val, bad); rc = 2; break; }
  }
  fclose(f);
  return rc;
}

/* Before node_start: releases what node_init opened (it may have stopped half-way). */
static int give_up(struct node *n, uv_loop_t *loop, int code)
{
  node_free(n);
  uv_loop_close(loop);
  mem_free(n);
  return code;
}

int main(int argc, char **argv)
{
  static const struct option opts[] = {
    { "listen", required_argument, 0, 'l' }, { "peer", required_argument, 0, 'p' },
    { "config", required_argument, 0, 'c' }, { "help", no_argument, 0, 'h' },
    { "version", no_argument, 0, 'v' }, { "standalone", no_argument, 0, 's' },
    { "http", required_argument, 0, 'H' }, { 0, 0, 0, 0 } };
  mem_init();
  static const char *use = "usage: kiroku-node [-C DIR] --listen HOST:PORT [--peer HOST:PORT]... [--http [HOST:]PORT] [--config FILE] [--standalone]\n";
  const char *dir = getenv("KIROKU_DIR"), *config = NULL;
  const char *listen = NULL, *http = NULL, *peers[NODE_MAX_PEERS];
  int standalone = 0;
  size_t npeers = 0;
  int o;
  if (!dir || !*dir) dir = ".kiroku";
  while ((o = getopt_long(argc, argv, "C:", opts, NULL)) != -1) {
    switch (o) {
    case 'C': dir = optarg; break;
    case 'l': listen = optarg; break;
    case 'p': if (npeers == NODE_MAX_PEERS) { fprintf(stderr, "kiroku-node: too many peers\n"); return 2; } peers[npeers++] = optarg; break;
    case 'c': config = optarg; break;
    case 'H': http = optarg; break;
    case 's': standalone = 1; break;
    case 'h':
      fputs(use, stdout);
      fputs("\nRuns a Kiroku node on the data directory DIR (default: $KIROKU_DIR, else ./.kiroku):\n"
            "it replicates every feed with its peers and takes the kiroku commands run on DIR.\n\n"
            "  -C DIR              the data directory (made by kiroku init or kiroku join)\n"
            "  --listen HOST:PORT  accept peers there (a name or an address; port 1-65535)\n"
            "  --peer HOST:PORT    connect to a peer, and reconnect when cut (repeatable)\n"
            "  --http [HOST:]PORT  serve HTTP there (PORT alone: on 127.0.0.1): the EPCIS 2.0 REST\n"
            "                      binding, the JSON API under /kiroku/v1/ and the explorer\n"
            "                      (docs/http.md); off unless given. Writes need the token of\n"
            "                      kiroku http-token\n"
            "  --config FILE       settings, one \"name = value\" a line (docs/operations.md)\n"
            "  --standalone        a network of one: append our own records with no peer's word on\n"
            "                      our feed (otherwise they wait for a peer, up to own_head_wait_ms)\n"
            "  --version, --help\n\n"
            "Example: kiroku-node -C recycler --listen 127.0.0.1:7001 --peer 127.0.0.1:7000\n"
            "Exit: 0 stopped (SIGINT, SIGTERM), 2 usage or a bad setting, 3 could not start.\n",
            stdout);
      return 0;
    case 'v': printf("kiroku-node %s (store layout %d, handshake version %d)\n", KIROKU_VERSION, STORE_LAYOUT, HS_VERSION); return 0;
    default: fputs(use, stderr); return 2;
    }
  }
  if (optind != argc) { fputs(use, stderr); return 2; }
  if (sig_init()) return 3;
  log_init();
  struct node *n = mem_calloc(1, sizeof *n);
  uv_loop_t loop;
  if (!n || uv_loop_init(&loop)) return 3;
  /* A peer closing its socket must not kill us with SIGPIPE: writes report EPIPE. */
  signal(SIGPIPE, SIG_IGN);
  int rc = node_init(n, &loop, dir);
  if (rc) {
    fprintf(stderr, "kiroku-node: %s: %s\n", dir, kk_strerror(rc));
    return give_up(n, &loop, kk_err_is_input(rc) ? 2 : 3);
  }
  if (config && (rc = read_config(n, config))) return give_up(n, &loop, rc);
  const char *bad = NULL;
  if (listen && node_set_listen(n, listen, &bad)) {
    fprintf(stderr, "kiroku-node: --listen %s: %s\n", listen, bad);
    return give_up(n, &loop, 2);
  }
  if (http && node_set_http(n, http, &bad)) {
    fprintf(stderr, "kiroku-node: --http %s: %s\n", http, bad);
    return give_up(n, &loop, 2);
  }
  for (size_t i = 0; i < npeers; i++)
    if (node_add_peer(n, peers[i], &bad)) {
      fprintf(stderr, "kiroku-node: --peer %s: %s\n", peers[i], bad);
      return give_up(n, &loop, 2);
    }
  if (standalone) n->standalone = 1;
  if (!n->listen_host[0] && !n->n_peers) { fputs(use, stderr); return give_up(n, &loop, 2); }
  if ((rc = node_start(n))) {
    node_stop(n);
    uv_run(&loop, UV_RUN_DEFAULT);
    node_free(n);
    uv_loop_close(&loop);
    mem_free(n);
    return 3; /* node_start logged why */
  }
  uv_run(&loop, UV_RUN_DEFAULT);
  node_free(n);
  uv_loop_close(&loop);
  mem_free(n);
  log_info("stopped");
  return 0;
}
