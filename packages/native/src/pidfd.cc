#include "pidfd.h"

#include <cerrno>
#include <sys/syscall.h>
#include <unistd.h>

#include "errors.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif

namespace hostmesh {

namespace {

// pidfdOpen(pid) -> fd; ENOSYS on kernels before 5.3, where callers fall back to polling.
Napi::Value PidfdOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t pid = IntegerArg(info, 0, "pid");
  long fd = syscall(SYS_pidfd_open, static_cast<pid_t>(pid), 0);
  if (fd < 0) ThrowPosix(env, errno, "pidfd_open", "pid " + std::to_string(pid));
  return Napi::Number::New(env, static_cast<double>(fd));
}

}  // namespace

void InitPidfd(Napi::Env env, Napi::Object exports) {
  exports.Set("pidfdOpen", Napi::Function::New(env, PidfdOpen, "pidfdOpen"));
}

}  // namespace hostmesh
