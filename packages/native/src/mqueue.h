// POSIX message queues. On Linux an mqd_t is a file descriptor, so a queue is watched
// with an FdWatcher (readable: messages waiting; writable: room to send).
#pragma once

#include <napi.h>

namespace hostmesh {

void InitMqueue(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
