#include "mqueue.h"

#include <cerrno>
#include <fcntl.h>
#include <mqueue.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "ownership.h"

namespace hostmesh {

namespace {

std::string QueueName(int fd) {
  return "mq fd " + std::to_string(fd);
}

// mqOpen(name, create, exclusive, maxMessages, messageSize) -> fd, non-blocking, 0600.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  bool create = info[1].ToBoolean();
  bool exclusive = info[2].ToBoolean();
  int flags = O_RDWR | O_NONBLOCK | O_CLOEXEC;
  mq_attr attr{};
  mqd_t fd;
  if (create) {
    flags |= O_CREAT | (exclusive ? O_EXCL : 0);
    attr.mq_maxmsg = IntegerArg(info, 3, "maxMessages");
    attr.mq_msgsize = IntegerArg(info, 4, "messageSize");
    fd = mq_open(name.c_str(), flags, 0600, &attr);
  } else {
    fd = mq_open(name.c_str(), flags);
  }
  if (fd == static_cast<mqd_t>(-1)) ThrowPosix(env, errno, "mq_open", name);
  // A queue another user made first (or one opened up to everybody) is not ours to use.
  RequirePrivatelyOurs(env, fd, "mq_open", name);
  return Napi::Number::New(env, fd);
}

// mqSend(fd, buffer, priority) -> true, or false when the queue is full.
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "message must be a Buffer");
  auto message = info[1].As<Napi::Buffer<char>>();
  unsigned priority = info[2].As<Napi::Number>().Uint32Value();
  for (;;) {
    if (mq_send(fd, message.Data(), message.Length(), priority) == 0) return Napi::Boolean::New(env, true);
    if (errno == EAGAIN) return Napi::Boolean::New(env, false);
    if (errno != EINTR) ThrowPosix(env, errno, "mq_send", QueueName(fd));
  }
}

// mqReceive(fd, buffer, out) -> length, or -1 when empty; out[0] receives the priority.
Napi::Value Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  if (!info[1].IsBuffer()) throw Napi::TypeError::New(env, "buffer must be a Buffer");
  auto buffer = info[1].As<Napi::Buffer<char>>();
  auto out = info[2].As<Napi::Uint32Array>();
  unsigned priority = 0;
  for (;;) {
    ssize_t n = mq_receive(fd, buffer.Data(), buffer.Length(), &priority);
    if (n >= 0) {
      out[0] = priority;
      return Napi::Number::New(env, static_cast<double>(n));
    }
    if (errno == EAGAIN) return Napi::Number::New(env, -1);
    if (errno != EINTR) ThrowPosix(env, errno, "mq_receive", QueueName(fd));
  }
}

Napi::Value Attributes(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  mq_attr attr{};
  if (mq_getattr(fd, &attr) != 0) ThrowPosix(env, errno, "mq_getattr", QueueName(fd));
  Napi::Object result = Napi::Object::New(env);
  result.Set("maxMessages", Napi::Number::New(env, static_cast<double>(attr.mq_maxmsg)));
  result.Set("messageSize", Napi::Number::New(env, static_cast<double>(attr.mq_msgsize)));
  result.Set("currentMessages", Napi::Number::New(env, static_cast<double>(attr.mq_curmsgs)));
  return result;
}

Napi::Value Close(const Napi::CallbackInfo& info) {
  int fd = static_cast<int>(IntegerArg(info, 0, "fd"));
  if (mq_close(fd) != 0) ThrowPosix(info.Env(), errno, "mq_close", QueueName(fd));
  return info.Env().Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "name");
  if (mq_unlink(name.c_str()) != 0) ThrowPosix(info.Env(), errno, "mq_unlink", name);
  return info.Env().Undefined();
}

}  // namespace

void InitMqueue(Napi::Env env, Napi::Object exports) {
  exports.Set("mqOpen", Napi::Function::New(env, Open, "mqOpen"));
  exports.Set("mqSend", Napi::Function::New(env, Send, "mqSend"));
  exports.Set("mqReceive", Napi::Function::New(env, Receive, "mqReceive"));
  exports.Set("mqAttributes", Napi::Function::New(env, Attributes, "mqAttributes"));
  exports.Set("mqClose", Napi::Function::New(env, Close, "mqClose"));
  exports.Set("mqUnlink", Napi::Function::New(env, Unlink, "mqUnlink"));
}

}  // namespace hostmesh
