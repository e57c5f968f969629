/*
 * keys — load and create the identity key file, refusing lax permissions.
 */
#include "keys.h"
#include "../node/base/err.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define KEYS_MAGIC "kiroku-ed25519-v1 "

static void keys_path(char *out, size_t n, const char *dir)
{
  snprintf(out, n, "%s/%s", dir, KEYS_FILE);
}

int keys_create(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES])
{
  char path[4096], line[sizeof(KEYS_MAGIC) + 2 * SIG_SK_BYTES + 2];
  uint8_t ownsk[SIG_SK_BYTES];
  keys_path(path, sizeof path, dir);
  int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) return errno == EEXIST ? KK_ERR(EXISTS) : -errno;
  sig_keypair(pk, ownsk);
  memcpy(line, KEYS_MAGIC, strlen(KEYS_MAGIC));
  sig_hex(line + strlen(KEYS_MAGIC), ownsk, SIG_SK_BYTES);
  size_t len = strlen(line);
  line[len++] = '\n';
  int rc = 0;
  if (write(fd, line, len) != (ssize_t)len || fsync(fd) != 0) rc = -errno ? -errno : -EIO;
  if (close(fd) != 0 && rc == 0) rc = -errno;
  if (rc) unlink(path);
  else if (sk) memcpy(sk, ownsk, SIG_SK_BYTES);
  sodium_memzero(line, sizeof line);
  sodium_memzero(ownsk, sizeof ownsk);
  return rc;
}

int keys_load(const char *dir, uint8_t pk[SIG_PK_BYTES], uint8_t sk[SIG_SK_BYTES])
{
  char path[4096], line[sizeof(KEYS_MAGIC) + 2 * SIG_SK_BYTES + 8];
  struct stat st;
  keys_path(path, sizeof path, dir);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? KK_ERR(NO_KEY) : -errno;
  if (fstat(fd, &st) != 0) { int e = -errno; close(fd); return e; }
  if (st.st_mode & 077) { close(fd); return KK_ERR(KEY_PERMS); }
  ssize_t n = read(fd, line, sizeof line - 1);
  close(fd);
  if (n < 0) return -errno;
  line[n] = 0;
  size_t mlen = strlen(KEYS_MAGIC);
  int rc = KK_ERR(CORRUPT);
  if ((size_t)n >= mlen + 2 * SIG_SK_BYTES && memcmp(line, KEYS_MAGIC, mlen) == 0) {
    char *hex = line + mlen;
    hex[2 * SIG_SK_BYTES] = 0;
    if (sig_unhex(sk, SIG_SK_BYTES, hex) == 0) {
      /* The public key is the second half of libsodium's secret key; check it. */
      uint8_t derived[SIG_PK_BYTES], dsk[SIG_SK_BYTES];
      crypto_sign_seed_keypair(derived, dsk, sk);
      int same = memcmp(dsk, sk, SIG_SK_BYTES) == 0;
      sodium_memzero(dsk, sizeof dsk);
      if (same) {
        memcpy(pk, derived, SIG_PK_BYTES);
        rc = 0;
      }
    }
  }
  sodium_memzero(line, sizeof line);
  if (rc) sodium_memzero(sk, SIG_SK_BYTES);
  return rc;
}
