/*
 * kiroku — the command-line interface: global options and the command table.
 */
#include "cli.h"
#include "../node/base/mem.h"
#include "../node/ledger/store.h"
#include "../node/base/version.h"
#include "../crypto/sig.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct cli_command {
  const char *name;
  int (*fn)(struct cli *c, int argc, char **argv);
  const char *usage, *help, *example;
};

#define CLI_ROW(name, usage, help, example) { #name, cmd_##name, usage, help, example },
static const struct cli_command commands[] = { CLI_COMMANDS(CLI_ROW) };
#undef CLI_ROW

static void usage(FILE *out)
{
  fprintf(out, "usage: kiroku [-C DIR] COMMAND [OPTIONS]\n\n"
               "DIR is the data directory (default: $KIROKU_DIR, else ./.kiroku).\n"
               "Read commands take --json; `kiroku help COMMAND` (or `kiroku COMMAND --help`)\n"
               "shows a command's options; `kiroku help --commands` lists the commands' names;\n"
               "`kiroku --version` the version.\n"
               "Exit: 0 ok, 1 verification failed, 2 usage or input error (nothing written),\n"
               "3 storage or internal error, 4 a proof bundle that does not verify\n"
               "(docs/cli.md).\n\ncommands:\n");
  for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++) {
    char name[64];
    snprintf(name, sizeof name, "%s", commands[i].name);
    for (char *p = name; *p; p++) if (*p == '_') *p = '-';
    fprintf(out, "  %-16s %s\n", name, commands[i].help);
  }
}

static void version(void)
{
  printf("kiroku %s (store layout %d, handshake version %d)\n", KIROKU_VERSION, STORE_LAYOUT, KIROKU_HANDSHAKE_VERSION);
}

static void command_help(const struct cli_command *cmd)
{
  printf("usage: kiroku %s\n\n%s.\n\nExample:\n  %s\n\nEvery option is described in docs/cli.md; exit codes: kiroku help.\n", cmd->usage,
         cmd->help, cmd->example);
}

/* The command named arg ("import-records" or "import_records"), or NULL. */
static const struct cli_command *command_find(const char *arg)
{
  char name[64];
  snprintf(name, sizeof name, "%s", arg);
  for (char *p = name; *p; p++) if (*p == '-') *p = '_';
  for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++)
    if (strcmp(commands[k].name, name) == 0) return &commands[k];
  return NULL;
}

int main(int argc, char **argv)
{
  struct cli c;
  memset(&c, 0, sizeof c);
  mem_init();
  c.dir = getenv("KIROKU_DIR");
  if (!c.dir || !*c.dir) c.dir = ".kiroku";
  int i = 1;
  while (i < argc && argv[i][0] == '-') {
    if (strcmp(argv[i], "-C") == 0 && i + 1 < argc) { c.dir = argv[i + 1]; i += 2; }
    else if (strncmp(argv[i], "-C", 2) == 0 && argv[i][2]) { c.dir = argv[i] + 2; i++; }
    else if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) { usage(stdout); return 0; }
    else if (strcmp(argv[i], "--version") == 0) { version(); return 0; }
    else { fprintf(stderr, "kiroku: unknown option %s\n", argv[i]); usage(stderr); return CLI_USAGE; }
  }
  if (i >= argc) { usage(stderr); return CLI_USAGE; }
  if (strcmp(argv[i], "help") == 0) { /* kiroku help [COMMAND | --commands] */
    if (i + 1 >= argc) { usage(stdout); return 0; }
    if (strcmp(argv[i + 1], "--commands") == 0 && i + 2 == argc) { /* for completion and the man page */
      for (size_t k = 0; k < sizeof commands / sizeof commands[0]; k++) {
        for (const char *p = commands[k].name; *p; p++) putchar(*p == '_' ? '-' : *p);
        putchar('\n');
      }
      return 0;
    }
    const struct cli_command *cmd = command_find(argv[i + 1]);
    if (!cmd || i + 2 < argc) {
      fprintf(stderr, "kiroku: help: %s\n", cmd ? "one command at a time" : "no such command (kiroku help lists them)");
      return CLI_USAGE;
    }
    command_help(cmd);
    return 0;
  }
  if (strcmp(argv[i], "version") == 0) { version(); return 0; }
  const struct cli_command *cmd = command_find(argv[i]);
  if (!cmd) {
    fprintf(stderr, "kiroku: unknown command '%s'\n", argv[i]);
    usage(stderr);
    return CLI_USAGE;
  }
  /* --help and --json anywhere among the command's options */
  for (int j = i + 1; j < argc; j++) {
    if (strcmp(argv[j], "--help") == 0 || strcmp(argv[j], "-h") == 0) { command_help(cmd); return 0; }
    if (strcmp(argv[j], "--json") == 0) c.json = 1;
  }
  if (sig_init()) { fprintf(stderr, "kiroku: libsodium failed to start\n"); return CLI_INTERNAL; }
  int rc = cmd->fn(&c, argc - i, argv + i);
  cli_close(&c);
  return rc;
}
