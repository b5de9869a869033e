#include "ownership.h"

#include <cerrno>
#include <cstdio>
#include <unistd.h>

#include "errors.h"

namespace hostmesh {

namespace {

bool NotPrivatelyOurs(const struct stat& st, const char* call, std::string* why) {
  char text[160];
  if (st.st_uid != geteuid()) {
    std::snprintf(text, sizeof(text), "%s (owned by another user: uid %u, mode %04o)", call, st.st_uid, st.st_mode & 07777);
  } else if ((st.st_mode & 077) != 0) {
    std::snprintf(text, sizeof(text), "%s (mode %04o lets other users in; hostmesh keeps its objects 0600)", call, st.st_mode & 07777);
  } else {
    return false;
  }
  *why = text;
  return true;
}

}  // namespace

struct stat RequirePrivatelyOurs(Napi::Env env, int fd, const char* call, const std::string& name) {
  struct stat st;
  if (fstat(fd, &st) != 0) {
    int err = errno;
    close(fd);
    ThrowPosix(env, err, "fstat", name);
  }
  std::string why;
  if (NotPrivatelyOurs(st, call, &why)) {
    close(fd);
    ThrowPosix(env, EACCES, why.c_str(), name);
  }
  return st;
}

}  // namespace hostmesh
