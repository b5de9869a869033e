#include "fd_watcher.h"

#include "errors.h"

namespace hostmesh {

void FdWatcher::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "FdWatcher",
                                   {
                                       InstanceMethod<&FdWatcher::Start>("start"),
                                       InstanceMethod<&FdWatcher::Stop>("stop"),
                                       InstanceMethod<&FdWatcher::Close>("close"),
                                       InstanceMethod<&FdWatcher::SetRef>("setRef"),
                                   });
  exports.Set("FdWatcher", cls);
}

// new FdWatcher(fd, callback(status, events))
FdWatcher::FdWatcher(const Napi::CallbackInfo& info) : Napi::ObjectWrap<FdWatcher>(info) {
  Napi::Env env = info.Env();
  fd_ = static_cast<int>(IntegerArg(info, 0, "fd"));
  if (!info[1].IsFunction()) throw Napi::TypeError::New(env, "callback must be a function");
  callback_ = Napi::Persistent(info[1].As<Napi::Function>());
  uv_loop_t* loop = nullptr;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok) throw Napi::Error::New(env, "no event loop");
  poll_ = new uv_poll_t;
  int rc = uv_poll_init(loop, poll_, fd_);
  if (rc != 0) {
    delete poll_;
    poll_ = nullptr;
    ThrowPosix(env, -rc, "uv_poll_init", "fd " + std::to_string(fd_));
  }
  poll_->data = this;
}

FdWatcher::~FdWatcher() {
  Release();
}

// start(events): 1 = readable, 2 = writable, 3 = both.
Napi::Value FdWatcher::Start(const Napi::CallbackInfo& info) {
  if (poll_ == nullptr) throw Napi::Error::New(info.Env(), "FdWatcher is closed");
  int events = static_cast<int>(IntegerArg(info, 0, "events"));
  int flags = ((events & 1) ? UV_READABLE : 0) | ((events & 2) ? UV_WRITABLE : 0);
  int rc = uv_poll_start(poll_, flags, OnPoll);
  if (rc != 0) ThrowPosix(info.Env(), -rc, "uv_poll_start", "fd " + std::to_string(fd_));
  if (!active_) {
    active_ = true;
    Ref();  // stay alive while libuv may call us
  }
  return info.Env().Undefined();
}

Napi::Value FdWatcher::Stop(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) uv_poll_stop(poll_);
  if (active_) {
    active_ = false;
    Unref();
  }
  return info.Env().Undefined();
}

// setRef(false) lets the process exit while this fd is still watched (like timer.unref()).
Napi::Value FdWatcher::SetRef(const Napi::CallbackInfo& info) {
  if (poll_ != nullptr) {
    if (info[0].ToBoolean()) uv_ref(reinterpret_cast<uv_handle_t*>(poll_));
    else uv_unref(reinterpret_cast<uv_handle_t*>(poll_));
  }
  return info.Env().Undefined();
}

Napi::Value FdWatcher::Close(const Napi::CallbackInfo& info) {
  Stop(info);
  Release();
  return info.Env().Undefined();
}

// The fd itself belongs to the caller; only the libuv handle is released here.
void FdWatcher::Release() {
  if (poll_ == nullptr) return;
  uv_poll_stop(poll_);
  poll_->data = nullptr;
  uv_close(reinterpret_cast<uv_handle_t*>(poll_), [](uv_handle_t* handle) { delete reinterpret_cast<uv_poll_t*>(handle); });
  poll_ = nullptr;
}

// Runs on the event loop thread when the fd is ready; MakeCallback drains the microtask
// queue afterwards, as for any other I/O callback.
void FdWatcher::OnPoll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<FdWatcher*>(handle->data);
  if (self == nullptr || !self->active_) return;
  Napi::Env env = self->Env();
  Napi::HandleScope scope(env);
  int ready = ((events & UV_READABLE) ? 1 : 0) | ((events & UV_WRITABLE) ? 2 : 0);
  try {
    self->callback_.MakeCallback(self->Value(), {Napi::Number::New(env, status), Napi::Number::New(env, ready)});
  } catch (const Napi::Error& error) {
    napi_fatal_exception(env, error.Value());
  }
}

}  // namespace hostmesh
