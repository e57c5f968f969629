/*
 * ctl_client — the CLI's side of the control socket.
 */
#include "ctl.h"
#include "../base/mem.h"
#include "../base/buf.h"
#include "../base/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int ctl_client_connect(const char *dir)
{
  struct sockaddr_un sa;
  memset(&sa, 0, sizeof sa);
  sa.sun_family = AF_UNIX;
  if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", dir, CTL_SOCKET) >= sizeof sa.sun_path)
    return -ENAMETOOLONG;
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -errno;
  if (connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0) {
    int e = -errno;
    close(fd);
    return e;
  }
  return fd;
}

static int ctl_write_all(int fd, const uint8_t *p, size_t n)
{
  while (n) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return -errno ? -errno : -EIO;
    p += w;
    n -= (size_t)w;
  }
  return 0;
}

static int ctl_read_all(int fd, uint8_t *p, size_t n)
{
  while (n) {
    ssize_t r = read(fd, p, n);
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) return -ECONNRESET;
    if (r < 0) return -errno;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static int ctl_request(int fd, uint8_t op, const uint8_t *data, size_t len, uint8_t **ans, size_t *anslen)
{
  uint8_t hdr[5];
  be32_put(hdr, (uint32_t)(len + 1));
  hdr[4] = op;
  int rc = ctl_write_all(fd, hdr, 5);
  if (rc == 0 && len) rc = ctl_write_all(fd, data, len);
  if (rc) return rc;
  if ((rc = ctl_read_all(fd, hdr, 4))) return rc;
  uint32_t n = be32_get(hdr);
  if (n == 0 || n > CTL_FRAME_MAX) return -EPROTO;
  uint8_t *p = mem_alloc(n + 1);
  if (!p) return -ENOMEM;
  if ((rc = ctl_read_all(fd, p, n))) { mem_free(p); return rc; }
  p[n] = 0;
  *ans = p;
  *anslen = n;
  return 0;
}

int ctl_client_append(int fd, const uint8_t *body, size_t len, int *result, uint8_t id[32])
{
  uint8_t *ans;
  size_t n;
  int rc = ctl_request(fd, 'A', body, len, &ans, &n);
  if (rc) return rc;
  if (n != 37 || ans[0] != 'R') { mem_free(ans); return -EPROTO; }
  *result = (int)(int32_t)be32_get(ans + 1);
  memcpy(id, ans + 5, 32);
  mem_free(ans);
  return 0;
}

int ctl_client_append_batch(int fd, const uint8_t *const *envs, const size_t *lens, size_t n, int *result, size_t *failed)
{
  size_t total = 4;
  for (size_t i = 0; i < n; i++) total += 4 + lens[i];
  if (total + 1 > CTL_FRAME_MAX || n > UINT32_MAX) return KK_ERR(TOO_LARGE);
  uint8_t *req = mem_alloc(total), *w = req;
  if (!req) return -ENOMEM;
  be32_put(w, (uint32_t)n);
  w += 4;
  for (size_t i = 0; i < n; i++) {
    be32_put(w, (uint32_t)lens[i]);
    memcpy(w + 4, envs[i], lens[i]);
    w += 4 + lens[i];
  }
  uint8_t *ans;
  size_t an;
  int rc = ctl_request(fd, 'B', req, total, &ans, &an);
  mem_free(req);
  if (rc) return rc;
  if (an != 9 || ans[0] != 'Q') { mem_free(ans); return -EPROTO; }
  *result = (int)(int32_t)be32_get(ans + 1);
  uint32_t f = be32_get(ans + 5);
  *failed = f == UINT32_MAX ? n : f;
  mem_free(ans);
  return 0;
}

int ctl_client_status(int fd, char **json)
{
  uint8_t *ans;
  size_t n;
  int rc = ctl_request(fd, 'S', NULL, 0, &ans, &n);
  if (rc) return rc;
  if (ans[0] != 'J') { mem_free(ans); return -EPROTO; }
  memmove(ans, ans + 1, n); /* includes the NUL */
  *json = (char *)ans;
  return 0;
}
