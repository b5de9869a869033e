// Named POSIX semaphores: the basis of a cross-process lock. post/tryWait run inline;
// a timed wait runs on the libuv thread pool so it never blocks the event loop.
#pragma once

#include <napi.h>
#include <semaphore.h>
#include <string>

namespace hostmesh {

class NamedSemaphore : public Napi::ObjectWrap<NamedSemaphore> {
 public:
  static void Init(Napi::Env env, Napi::Object exports);
  explicit NamedSemaphore(const Napi::CallbackInfo& info);
  ~NamedSemaphore() override;

  // Called by the waiter (on the event loop thread) when a timed wait is over.
  void WaitFinished();

 private:
  Napi::Value Post(const Napi::CallbackInfo& info);
  Napi::Value TryWait(const Napi::CallbackInfo& info);
  Napi::Value TimedWait(const Napi::CallbackInfo& info);
  Napi::Value Value(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  static Napi::Value Unlink(const Napi::CallbackInfo& info);
  sem_t* Handle(Napi::Env env);
  void CloseNow();

  sem_t* sem_ = SEM_FAILED;
  std::string name_;
  int waiting_ = 0;        // timed waits in flight on the thread pool
  bool close_requested_ = false;
};

}  // namespace hostmesh
