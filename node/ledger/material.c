/* material — see material.h. */
#include "material.h"
#include "../base/err.h"

#include <string.h>

static int trimmed(const char *p, size_t n) { return n > 0 && p[0] != ' ' && p[n - 1] != ' '; }

int material_check(const char *m)
{
  const char *slash = strchr(m, '/');
  if (!slash) return trimmed(m, strlen(m)) ? 0 : KK_ERR(MATERIAL);
  if (strchr(slash + 1, '/')) return KK_ERR(MATERIAL);
  return trimmed(m, (size_t)(slash - m)) && trimmed(slash + 1, strlen(slash + 1)) ? 0 : KK_ERR(MATERIAL);
}

size_t material_group_len(const char *m)
{
  const char *slash = strchr(m, '/');
  return slash ? (size_t)(slash - m) : strlen(m);
}

const char *material_form(const char *m)
{
  const char *slash = strchr(m, '/');
  return slash ? slash + 1 : m + strlen(m);
}

static char lower(char c) { return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c; }

int material_same_group(const char *a, const char *b)
{
  size_t na = material_group_len(a), nb = material_group_len(b);
  if (na != nb) return 0;
  for (size_t i = 0; i < na; i++)
    if (lower(a[i]) != lower(b[i])) return 0;
  return 1;
}
