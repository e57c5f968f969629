/*
 * Replays fuzz corpus files through a fuzz target without libFuzzer, so `make test`
 * can run every corpus entry (and every crash kept as a regression case) under
 * ASan/UBSan with gcc alone. Usage: replay FILE|DIR...
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int replay_file(const char *path)
{
  FILE *f = fopen(path, "rb");
  if (!f) { perror(path); return 1; }
  uint8_t *buf = NULL;
  size_t len = 0, cap = 0, r;
  do {
    if (len == cap) { cap = cap ? cap * 2 : 4096; buf = realloc(buf, cap); if (!buf) return 1; }
    r = fread(buf + len, 1, cap - len, f);
    len += r;
  } while (r > 0);
  fclose(f);
  LLVMFuzzerTestOneInput(buf, len);
  free(buf);
  return 0;
}

int main(int argc, char **argv)
{
  int n = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st)) { perror(argv[i]); return 1; }
    if (!S_ISDIR(st.st_mode)) { if (replay_file(argv[i])) return 1; n++; continue; }
    DIR *d = opendir(argv[i]);
    struct dirent *e;
    while (d && (e = readdir(d))) {
      char p[4200];
      if (e->d_name[0] == '.') continue;
      snprintf(p, sizeof p, "%s/%s", argv[i], e->d_name);
      if (replay_file(p)) return 1;
      n++;
    }
    if (d) closedir(d);
  }
  printf("replayed %d inputs\n", n);
  return 0;
}
