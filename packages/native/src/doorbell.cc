#include "doorbell.h"

#include <cerrno>
#include <cstdint>
#include <fcntl.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "ownership.h"

namespace hostmesh {

namespace {

std::string FdName(int fd) {
  return "fd " + std::to_string(fd);
}

// openDoorbell(path): a FIFO opened read-write and non-blocking, so the open never waits
// for a peer and the receiver never sees end-of-file when a sender goes away.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string path = StringArg(info, 0, "path");
  int fd = open(path.c_str(), O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ELOOP) ThrowPosix(env, EACCES, "open (a symbolic link, not a doorbell)", path);
  if (fd < 0) ThrowPosix(env, errno, "open", path);
  struct stat st = RequirePrivatelyOurs(env, fd, "open", path);
  if (!S_ISFIFO(st.st_mode)) {
    close(fd);
    ThrowPosix(env, EACCES, "open (not a FIFO)", path);
  }
  return Napi::Number::New(env, fd);
}

// eventfd(): a doorbell without a name, for processes that share it by inheritance.
Napi::Value CreateEventFd(const Napi::CallbackInfo& info) {
  int fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd < 0) ThrowPosix(info.Env(), errno, "eventfd", "");
  return Napi::Number::New(info.Env(), fd);
}

// ring(fd): 8 bytes, which an eventfd adds to its counter and a FIFO queues. A full FIFO
// already holds a pending wake-up, so EAGAIN is success.
Napi::Value Ring(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  uint64_t one = 1;
  for (;;) {
    ssize_t n = write(fd, &one, sizeof(one));
    if (n >= 0 || errno == EAGAIN) break;
    if (errno != EINTR) ThrowPosix(info.Env(), errno, "write", FdName(fd));
  }
  return info.Env().Undefined();
}

// drain(fd): reads every pending wake-up; returns how many bytes there were.
Napi::Value Drain(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  uint8_t buffer[512];
  int64_t total = 0;
  for (;;) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n > 0) {
      total += n;
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno != EAGAIN) ThrowPosix(info.Env(), errno, "read", FdName(fd));
    break;
  }
  return Napi::Number::New(info.Env(), static_cast<double>(total));
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  if (close(fd) != 0 && errno != EINTR) ThrowPosix(info.Env(), errno, "close", FdName(fd));
  return info.Env().Undefined();
}

}  // namespace

void InitDoorbell(Napi::Env env, Napi::Object exports) {
  exports.Set("doorbellOpen", Napi::Function::New(env, Open, "doorbellOpen"));
  exports.Set("eventfd", Napi::Function::New(env, CreateEventFd, "eventfd"));
  exports.Set("doorbellRing", Napi::Function::New(env, Ring, "doorbellRing"));
  exports.Set("doorbellDrain", Napi::Function::New(env, Drain, "doorbellDrain"));
  exports.Set("closeFd", Napi::Function::New(env, Close, "closeFd"));
}

}  // namespace hostmesh
