#include "semaphore.h"

#include <random>
#include <cerrno>
#include <ctime>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "ownership.h"

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

namespace {

// glibc keeps a named semaphore in /dev/shm/sem.<name without '/'>, a file holding one
// sem_t. hostmesh opens that file itself rather than through sem_open, so that it can
// fstat the very descriptor it maps: sem_open gives no descriptor, and a name that another
// user created first (or opened up to everybody) would otherwise be used as if it were ours.
std::string SemaphorePath(const std::string& name) {
  return "/dev/shm/sem." + name.substr(1);
}

// Refuses a file that is not a semaphore of this user, private to it.
void Verify(Napi::Env env, int fd, const std::string& name) {
  struct stat st = RequirePrivatelyOurs(env, fd, "sem_open", name);
  if (!S_ISREG(st.st_mode) || st.st_size != static_cast<off_t>(sizeof(sem_t))) {
    close(fd);
    ThrowPosix(env, EBADMSG, "sem_open (not a semaphore)", name);
  }
}

sem_t* MapVerified(Napi::Env env, int fd, const std::string& name) {
  Verify(env, fd, name);
  void* address = mmap(nullptr, sizeof(sem_t), PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  int err = errno;
  close(fd);
  if (address == MAP_FAILED) ThrowPosix(env, err, "mmap", name);
  return static_cast<sem_t*>(address);
}

// Creates the semaphore whole or not at all: initialised in a private temporary file, then
// linked under its name, which fails if the name exists (the same trick as glibc's sem_open,
// so a process opening the name never sees a half-made semaphore). -1 with errno set on failure.
int CreateLinked(const std::string& path, unsigned initial) {
  // Beside the name (same user prefix, so a crash here leaves something doctor can see), with
  // a random part: a temporary name someone else took is passed over, not taken for the name.
  static std::random_device random;
  int fd = -1;
  std::string temporary;
  for (int attempt = 0; fd < 0 && attempt < 8; attempt++) {
    temporary = path + ".new." + std::to_string(getpid()) + "." + std::to_string(random());
    fd = open(temporary.c_str(), O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (fd < 0 && errno != EEXIST) return -1;
  }
  if (fd < 0) {
    errno = EAGAIN;
    return -1;
  }
  sem_t initial_state;
  int err = 0;
  if (fchmod(fd, 0600) != 0 || sem_init(&initial_state, 1, initial) != 0) err = errno;
  if (err == 0) {
    ssize_t written;
    do {
      written = pwrite(fd, &initial_state, sizeof(sem_t), 0);
    } while (written < 0 && errno == EINTR);
    if (written != static_cast<ssize_t>(sizeof(sem_t))) err = written < 0 ? errno : EIO;
  }
  if (err == 0 && link(temporary.c_str(), path.c_str()) != 0) err = errno;
  unlink(temporary.c_str());
  if (err != 0) {
    close(fd);
    errno = err;
    return -1;
  }
  return fd;
}

}  // namespace

// new NamedSemaphore(name, create, exclusive, initialValue)
NamedSemaphore::NamedSemaphore(const Napi::CallbackInfo& info) : Napi::ObjectWrap<NamedSemaphore>(info) {
  Napi::Env env = info.Env();
  name_ = StringArg(info, 0, "name");
  bool create = info[1].ToBoolean();
  bool exclusive = info[2].ToBoolean();
  std::string path = SemaphorePath(name_);
  // Create, or open what exists; a name removed between the two is created again (bounded).
  for (int attempt = 0;; attempt++) {
    if (create) {
      int fd = CreateLinked(path, info[3].As<Napi::Number>().Uint32Value());
      if (fd >= 0) {
        sem_ = MapVerified(env, fd, name_);
        return;
      }
      if (errno != EEXIST || exclusive) ThrowPosix(env, errno, "sem_open", name_);
    }
    int fd = open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ELOOP) ThrowPosix(env, EACCES, "sem_open (a symbolic link, not a semaphore)", name_);
    if (fd < 0 && errno == ENOENT && create && attempt < 3) continue;
    if (fd < 0) ThrowPosix(env, errno, "sem_open", name_);
    sem_ = MapVerified(env, fd, name_);
    return;
  }
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
  if (sem_ != SEM_FAILED) munmap(sem_, sizeof(sem_t));
  sem_ = SEM_FAILED;
}

Napi::Value NamedSemaphore::Unlink(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "name");
  if (sem_unlink(name.c_str()) != 0) ThrowPosix(info.Env(), errno, "sem_unlink", name);
  return info.Env().Undefined();
}

}  // namespace hostmesh
