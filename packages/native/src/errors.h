// Errors raised by the addon: instances of the JS PosixError class (lib/posix-error.ts),
// constructed here with the errno name (`code`), the number, the syscall and the object.
#pragma once

#include <napi.h>
#include <string>

namespace hostmesh {

// Remembers the PosixError constructor; called once by the JS wrapper at load time.
void SetErrorClass(const Napi::CallbackInfo& info);

// Builds a PosixError for `err` (an errno value) raised by `syscall` on `object`.
Napi::Error PosixError(Napi::Env env, int err, const char* syscall, const std::string& object);

// Throws it (a C++ exception that node-addon-api turns into a JS exception).
[[noreturn]] void ThrowPosix(Napi::Env env, int err, const char* syscall, const std::string& object);

// Argument helpers: the JS wrapper validates first, these are the last line of defence.
std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what);
int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what);

}  // namespace hostmesh
