#include "semaphore.h"

#include <cerrno>
#include <ctime>
#include <fcntl.h>

#include "errors.h"

namespace hostmesh {

namespace {

// sem_timedwait on a pool thread. sem_ stays open until every waiter has finished,
// because close() only marks it while waits are in flight.
class TimedWaiter : public Napi::AsyncWorker {
 public:
  TimedWaiter(Napi::Env env, NamedSemaphore* owner, sem_t* sem, int64_t timeout_ms, std::string name)
      : Napi::AsyncWorker(env, "hostmesh:semaphore-wait"),
        deferred_(Napi::Promise::Deferred::New(env)),
        owner_(owner),
        sem_(sem),
        timeout_ms_(timeout_ms),
        name_(std::move(name)) {}

  Napi::Promise Promise() const { return deferred_.Promise(); }

 protected:
  // Pool thread: no JS here.
  void Execute() override {
    timespec deadline;
    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += timeout_ms_ / 1000;
    deadline.tv_nsec += (timeout_ms_ % 1000) * 1000000;
    if (deadline.tv_nsec >= 1000000000) {
      deadline.tv_sec += 1;
      deadline.tv_nsec -= 1000000000;
    }
    for (;;) {
      if (sem_timedwait(sem_, &deadline) == 0) {
        acquired_ = true;
        return;
      }
      if (errno == EINTR) continue;  // a signal (e.g. SIGCHLD) is not the end of the wait
      error_ = errno == ETIMEDOUT ? 0 : errno;
      return;
    }
  }

  // Event loop thread.
  void OnOK() override {
    owner_->WaitFinished();
    Napi::Env env = Env();
    if (error_ != 0) deferred_.Reject(PosixError(env, error_, "sem_timedwait", name_).Value());
    else deferred_.Resolve(Napi::Boolean::New(env, acquired_));
  }

 private:
  Napi::Promise::Deferred deferred_;
  NamedSemaphore* owner_;
  sem_t* sem_;
  int64_t timeout_ms_;
  std::string name_;
  bool acquired_ = false;
  int error_ = 0;
};

}  // namespace

void NamedSemaphore::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function cls = DefineClass(env, "NamedSemaphore",
                                   {
                                       InstanceMethod<&NamedSemaphore::Post>("post"),
                                       InstanceMethod<&NamedSemaphore::TryWait>("tryWait"),
                                       InstanceMethod<&NamedSemaphore::TimedWait>("timedWait"),
                                       InstanceMethod<&NamedSemaphore::Value>("value"),
                                       InstanceMethod<&NamedSemaphore::Close>("close"),
                                       StaticMethod<&NamedSemaphore::Unlink>("unlink"),
                                   });
  exports.Set("NamedSemaphore", cls);
}

// new NamedSemaphore(name, create, exclusive, initialValue)
NamedSemaphore::NamedSemaphore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NamedSemaphore>(info) {
  Napi::Env env = info.Env();
  name_ = StringArg(info, 0, "name");
  bool create = info[1].ToBoolean();
  bool exclusive = info[2].ToBoolean();
  if (create) {
    unsigned initial = info[3].As<Napi::Number>().Uint32Value();
    sem_ = sem_open(name_.c_str(), O_CREAT | (exclusive ? O_EXCL : 0), 0600, initial);
  } else {
    sem_ = sem_open(name_.c_str(), 0);
  }
  if (sem_ == SEM_FAILED) ThrowPosix(env, errno, "sem_open", name_);
}

NamedSemaphore::~NamedSemaphore() {
  CloseNow();
}

sem_t* NamedSemaphore::Handle(Napi::Env env) {
  if (sem_ == SEM_FAILED || close_requested_) ThrowPosix(env, EBADF, "semaphore (closed)", name_);
  return sem_;
}

Napi::Value NamedSemaphore::Post(const Napi::CallbackInfo& info) {
  if (sem_post(Handle(info.Env())) != 0) ThrowPosix(info.Env(), errno, "sem_post", name_);
  return info.Env().Undefined();
}

Napi::Value NamedSemaphore::TryWait(const Napi::CallbackInfo& info) {
  sem_t* sem = Handle(info.Env());
  for (;;) {
    if (sem_trywait(sem) == 0) return Napi::Boolean::New(info.Env(), true);
    if (errno == EAGAIN) return Napi::Boolean::New(info.Env(), false);
    if (errno != EINTR) ThrowPosix(info.Env(), errno, "sem_trywait", name_);
  }
}

Napi::Value NamedSemaphore::TimedWait(const Napi::CallbackInfo& info) {
  sem_t* sem = Handle(info.Env());
  int64_t timeout_ms = IntegerArg(info, 0, "timeoutMs");
  if (timeout_ms < 0) throw Napi::RangeError::New(info.Env(), "timeoutMs must not be negative");
  auto* waiter = new TimedWaiter(info.Env(), this, sem, timeout_ms, name_);
  waiting_++;
  Ref();  // the JS object must outlive the wait
  waiter->Queue();
  return waiter->Promise();
}

void NamedSemaphore::WaitFinished() {
  waiting_--;
  if (waiting_ == 0 && close_requested_) CloseNow();
  Unref();
}

Napi::Value NamedSemaphore::Value(const Napi::CallbackInfo& info) {
  int value = 0;
  if (sem_getvalue(Handle(info.Env()), &value) != 0) ThrowPosix(info.Env(), errno, "sem_getvalue", name_);
  return Napi::Number::New(info.Env(), value);
}

// Closing while timed waits are in flight is deferred until the last one returns.
Napi::Value NamedSemaphore::Close(const Napi::CallbackInfo& info) {
  close_requested_ = true;
  if (waiting_ == 0) CloseNow();
  return info.Env().Undefined();
}

void NamedSemaphore::CloseNow() {
  if (sem_ != SEM_FAILED) sem_close(sem_);
  sem_ = SEM_FAILED;
}

Napi::Value NamedSemaphore::Unlink(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "name");
  if (sem_unlink(name.c_str()) != 0) ThrowPosix(info.Env(), errno, "sem_unlink", name);
  return info.Env().Undefined();
}

}  // namespace hostmesh
