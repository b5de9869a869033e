// Whether a kernel object this process is about to use is its own and private to it.
#pragma once

#include <string>
#include <sys/stat.h>

namespace hostmesh {

// True when `st` (from fstat on the descriptor about to be used) is another user's, or lets
// other users in (any group or other permission bit); `why` is then the refusal's syscall
// text, e.g. "sem_open (owned by another user: uid 65534, mode 0666)".
bool NotPrivatelyOurs(const struct stat& st, const char* call, std::string* why);

}  // namespace hostmesh
