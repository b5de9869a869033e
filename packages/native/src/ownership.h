// Whether a kernel object this process is about to use is its own and private to it.
#pragma once

#include <napi.h>
#include <string>
#include <sys/stat.h>

namespace hostmesh {

// fstat on the descriptor about to be used: an object of another user, or one that lets other
// users in (any group or other permission bit), closes `fd` (queue descriptors are file
// descriptors on Linux, so close() serves them too) and throws a PosixError naming `name`,
// its syscall text e.g. "sem_open (owned by another user: uid 65534, mode 0666)".
struct stat RequirePrivatelyOurs(Napi::Env env, int fd, const char* call, const std::string& name);

}  // namespace hostmesh
