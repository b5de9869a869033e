// FdWatcher: a file descriptor watched by libuv (uv_poll), so readiness of a doorbell,
// a message queue or a pidfd is an event on the JS event loop, with no thread per fd.
#pragma once

#include <napi.h>
#include <uv.h>

namespace hostmesh {

class FdWatcher : public Napi::ObjectWrap<FdWatcher> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit FdWatcher(const Napi::CallbackInfo& info);
  ~FdWatcher() override;

 private:
  // All of these run on the event loop thread.
  Napi::Value Start(const Napi::CallbackInfo& info);
  Napi::Value Stop(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value SetRef(const Napi::CallbackInfo& info);
  static void OnPoll(uv_poll_t* handle, int status, int events);
  void Release();

  uv_poll_t* poll_ = nullptr;
  Napi::FunctionReference callback_;
  int fd_ = -1;
  bool active_ = false;
};

}  // namespace hostmesh
