/*
 * token — the bearer token of HTTP writes (token.h).
 */
#include "token.h"
#include "../base/err.h"
#include "../../crypto/sig.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

static void token_path(char *out, size_t n, const char *dir, const char *suffix)
{
  snprintf(out, n, "%s/%s%s", dir, HTTP_TOKEN_FILE, suffix);
}

int http_token_read(const char *dir, char out[HTTP_TOKEN_LEN + 1])
{
  char path[4200];
  struct stat st;
  token_path(path, sizeof path, dir, "");
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return -errno;
  if (fstat(fd, &st) || (st.st_mode & 077)) { close(fd); return KK_ERR(DIR_PERMS); }
  ssize_t got = read(fd, out, HTTP_TOKEN_LEN);
  close(fd);
  if (got != HTTP_TOKEN_LEN) return KK_ERR(CORRUPT);
  out[HTTP_TOKEN_LEN] = 0;
  for (int i = 0; i < HTTP_TOKEN_LEN; i++)
    if (!((out[i] >= '0' && out[i] <= '9') || (out[i] >= 'a' && out[i] <= 'f'))) return KK_ERR(CORRUPT);
  return 0;
}

int http_token_ensure(const char *dir, int rotate, char out[HTTP_TOKEN_LEN + 1])
{
  if (!rotate) {
    int rc = http_token_read(dir, out);
    if (rc != -ENOENT) return rc;
  }
  uint8_t raw[32];
  char hex[HTTP_TOKEN_LEN + 2], tmp[4300], path[4200];
  randombytes_buf(raw, sizeof raw);
  sig_hex(hex, raw, sizeof raw);
  sodium_memzero(raw, sizeof raw);
  hex[HTTP_TOKEN_LEN] = '\n';
  token_path(tmp, sizeof tmp, dir, ".tmp");
  token_path(path, sizeof path, dir, "");
  /* written whole with mode 0600 from the start, then renamed over the old one */
  int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return -errno;
  int bad = write(fd, hex, HTTP_TOKEN_LEN + 1) != HTTP_TOKEN_LEN + 1 || fsync(fd);
  int err = errno;
  if (close(fd) && !bad) { bad = 1; err = errno; }
  if (!bad && rename(tmp, path)) { bad = 1; err = errno; }
  sodium_memzero(hex, sizeof hex);
  if (bad) { unlink(tmp); return err ? -err : -EIO; }
  return http_token_read(dir, out);
}

int http_token_matches(const char *auth, const char token[HTTP_TOKEN_LEN + 1])
{
  if (!auth || strncasecmp(auth, "Bearer ", 7) != 0) return 0;
  auth += 7;
  while (*auth == ' ') auth++;
  size_t n = strlen(auth);
  while (n && (auth[n - 1] == ' ' || auth[n - 1] == '\t')) n--;
  return n == HTTP_TOKEN_LEN && sodium_memcmp(auth, token, HTTP_TOKEN_LEN) == 0;
}
