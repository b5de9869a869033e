#include "fifo.h"

#include <cerrno>
#include <sys/stat.h>

#include "errors.h"

namespace hostmesh {

namespace {

// mkfifo(path, mode): the mode is applied exactly, whatever the umask.
Napi::Value MakeFifo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  mode_t mode = static_cast<mode_t>(IntegerArg(info, 1, "mode") & 07777);
  if (mkfifo(path.c_str(), mode) != 0) ThrowPosix(env, errno, "mkfifo", path);
  if (chmod(path.c_str(), mode) != 0) ThrowPosix(env, errno, "chmod", path);
  return env.Undefined();
}

}  // namespace

void InitFifo(Napi::Env env, Napi::Object exports) {
  exports.Set("mkfifo", Napi::Function::New(env, MakeFifo, "mkfifo"));
}

}  // namespace hostmesh
