/*
 * Runs the unit tests of tests/unit/list.h, each in a child process with a timeout.
 */
#include "../../node/base/mem.h"
#include "test.h"
#include "list.h"
#include "../../crypto/sig.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

struct test_entry { const char *name; void (*fn)(void); };
#define X(name) { #name, test_##name },
static const struct test_entry tests[] = { TEST_LIST(X) };
#undef X

static char tmpdir[4096];

const char *test_tmpdir(void) { return tmpdir; }

static int run_one(const struct test_entry *t)
{
  const char *base = getenv("TMPDIR");
  snprintf(tmpdir, sizeof tmpdir, "%s/kiroku-unit-XXXXXX", base && *base ? base : "/tmp");
  if (!mkdtemp(tmpdir)) { perror("mkdtemp"); return 1; }
  fflush(stdout);
  pid_t pid = fork();
  if (pid == 0) {
    alarm(120);
    if (sig_init()) exit(2);
    t->fn();
    exit(0);
  }
  int st = 0;
  waitpid(pid, &st, 0);
  char cmd[4200];
  snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
  if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", tmpdir);
  if (WIFEXITED(st) && WEXITSTATUS(st) == 0) { printf("ok - %s\n", t->name); return 0; }
  if (WIFSIGNALED(st)) printf("not ok - %s: killed by signal %d%s\n", t->name, WTERMSIG(st), WTERMSIG(st) == SIGALRM ? " (timeout)" : "");
  else printf("not ok - %s\n", t->name);
  return 1;
}

int main(int argc, char **argv)
{
  size_t n = sizeof tests / sizeof tests[0];
  int failed = 0, ran = 0;
  mem_init();
  for (size_t i = 0; i < n; i++) {
    if (argc > 1) {
      int want = 0;
      for (int a = 1; a < argc; a++) if (strcmp(argv[a], tests[i].name) == 0) want = 1;
      if (!want) continue;
    }
    failed += run_one(&tests[i]);
    ran++;
  }
  if (ran == 0) { fprintf(stderr, "no such test\n"); return 2; }
  return failed ? 1 : 0;
}
