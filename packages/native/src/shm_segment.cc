#include "shm_segment.h"

#include <cerrno>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "ownership.h"

namespace hostmesh {

namespace {

struct Mapping {
  void* address;
  size_t size;
};

// Owns the mapping until V8 releases the last view of it (after close() detaches it).
Napi::Buffer<uint8_t> Expose(Napi::Env env, void* address, size_t size) {
  return Napi::Buffer<uint8_t>::New(
      env, static_cast<uint8_t*>(address), size,
      [](Napi::Env, uint8_t*, Mapping* mapping) {
        munmap(mapping->address, mapping->size);
        delete mapping;
      },
      new Mapping{address, size});
}

void* MapFd(Napi::Env env, int fd, size_t size, const std::string& name) {
  void* address = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (address == MAP_FAILED) {
    int err = errno;
    close(fd);
    ThrowPosix(env, err, "mmap", name);
  }
  return address;
}

// posix_fallocate, retried: tmpfs gives up with EINTR when a signal is pending.
int Reserve(int fd, off_t offset, off_t length) {
  int reserved;
  do {
    reserved = posix_fallocate(fd, offset, length);
  } while (reserved == EINTR);
  return reserved == EOPNOTSUPP ? 0 : reserved;
}

// shmCreate(name, size, ownerPid, ownerStartTime, reserve): a new segment, 0600, with its
// owner tag. Without `reserve` the file stays sparse: its user reserves each range with
// shmReserve before touching it.
Napi::Value Create(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  int64_t size = IntegerArg(info, 1, "size");
  int64_t pid = IntegerArg(info, 2, "ownerPid");
  int64_t start_time = IntegerArg(info, 3, "ownerStartTime");
  bool reserve = info.Length() < 5 || !info[4].IsBoolean() || info[4].As<Napi::Boolean>().Value();
  if (size < static_cast<int64_t>(kSegmentHeaderBytes)) throw Napi::RangeError::New(env, "size is smaller than the segment header");
  int fd = shm_open(name.c_str(), O_CREAT | O_EXCL | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) ThrowPosix(env, errno, "shm_open", name);
  // The mode passed to shm_open is filtered by the umask; make 0600 explicit.
  if (fchmod(fd, 0600) != 0 || ftruncate(fd, size) != 0) {
    int err = errno;
    close(fd);
    shm_unlink(name.c_str());
    ThrowPosix(env, err, "ftruncate", name);
  }
  // Reserve the pages now: a sparse tmpfs file whose pages cannot be had later (a full
  // /dev/shm) would kill the process with SIGBUS on first touch instead of an error here.
  int reserved = Reserve(fd, 0, reserve ? size : static_cast<int64_t>(kSegmentHeaderBytes));
  if (reserved != 0) {
    close(fd);
    shm_unlink(name.c_str());
    ThrowPosix(env, reserved, "posix_fallocate", name);
  }
  void* address;
  try {
    address = MapFd(env, fd, static_cast<size_t>(size), name);
  } catch (...) {
    shm_unlink(name.c_str());
    throw;
  }
  close(fd);
  auto* header = static_cast<uint8_t*>(address);
  uint32_t words[4] = {kSegmentMagic, kSegmentVersion, static_cast<uint32_t>(kSegmentHeaderBytes), 0};
  uint64_t total = static_cast<uint64_t>(size);
  uint32_t owner = static_cast<uint32_t>(pid);
  uint64_t start = static_cast<uint64_t>(start_time);
  uint64_t created = static_cast<uint64_t>(std::time(nullptr)) * 1000;
  std::memcpy(header, words, sizeof(words));
  std::memcpy(header + 16, &total, 8);
  std::memcpy(header + 24, &owner, 4);
  std::memcpy(header + 32, &start, 8);
  std::memcpy(header + 40, &created, 8);
  return Expose(env, address, static_cast<size_t>(size));
}

// Opens an existing segment; refuses one that another user owns or that is not hostmesh's.
int OpenChecked(Napi::Env env, const std::string& name, struct stat* st) {
  int fd = shm_open(name.c_str(), O_RDWR | O_CLOEXEC, 0);
  if (fd < 0) ThrowPosix(env, errno, "shm_open", name);
  *st = RequirePrivatelyOurs(env, fd, "shm_open", name);
  if (st->st_size < static_cast<off_t>(kSegmentHeaderBytes)) {
    close(fd);
    ThrowPosix(env, EBADMSG, "shm_open (too small for a hostmesh segment)", name);
  }
  return fd;
}

// shmOpen(name): the whole mapping, header included.
Napi::Value Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  struct stat st;
  int fd = OpenChecked(env, name, &st);
  void* address = MapFd(env, fd, static_cast<size_t>(st.st_size), name);
  close(fd);
  uint32_t magic;
  std::memcpy(&magic, address, 4);
  if (magic != kSegmentMagic) {
    munmap(address, static_cast<size_t>(st.st_size));
    ThrowPosix(env, EBADMSG, "shm_open (not a hostmesh segment)", name);
  }
  return Expose(env, address, static_cast<size_t>(st.st_size));
}

// shmReadHeader(name): the first 64 bytes, read without mapping (for the janitor).
Napi::Value ReadHeader(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  struct stat st;
  int fd = OpenChecked(env, name, &st);
  Napi::Buffer<uint8_t> header = Napi::Buffer<uint8_t>::New(env, kSegmentHeaderBytes);
  ssize_t got = pread(fd, header.Data(), kSegmentHeaderBytes, 0);
  int err = errno;
  close(fd);
  if (got != static_cast<ssize_t>(kSegmentHeaderBytes)) ThrowPosix(env, got < 0 ? err : EBADMSG, "pread", name);
  return header;
}

// shmReserve(name, offset, length): reserves the pages of a range of a sparse segment, so a
// full /dev/shm is an ENOSPC here rather than a SIGBUS when the range is first touched.
Napi::Value ReserveRange(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::string name = StringArg(info, 0, "name");
  int64_t offset = IntegerArg(info, 1, "offset");
  int64_t length = IntegerArg(info, 2, "length");
  struct stat st;
  int fd = OpenChecked(env, name, &st);
  if (offset < 0 || length <= 0 || offset + length > st.st_size) {
    close(fd);
    throw Napi::RangeError::New(env, "range is outside the segment");
  }
  int reserved = Reserve(fd, offset, length);
  close(fd);
  if (reserved != 0) ThrowPosix(env, reserved, "posix_fallocate", name);
  return env.Undefined();
}

Napi::Value Unlink(const Napi::CallbackInfo& info) {
  std::string name = StringArg(info, 0, "name");
  if (shm_unlink(name.c_str()) != 0) ThrowPosix(info.Env(), errno, "shm_unlink", name);
  return info.Env().Undefined();
}

// shmDetach(buffer): every view of the mapping becomes empty at once, so the mapping can
// go without any JS code ever touching unmapped memory.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(info.Env(), "buffer must be a Buffer");
  Napi::ArrayBuffer backing = info[0].As<Napi::Buffer<uint8_t>>().ArrayBuffer();
  if (!backing.IsDetached()) backing.Detach();
  return info.Env().Undefined();
}

}  // namespace

void InitShmSegment(Napi::Env env, Napi::Object exports) {
  exports.Set("shmCreate", Napi::Function::New(env, Create, "shmCreate"));
  exports.Set("shmOpen", Napi::Function::New(env, Open, "shmOpen"));
  exports.Set("shmReadHeader", Napi::Function::New(env, ReadHeader, "shmReadHeader"));
  exports.Set("shmReserve", Napi::Function::New(env, ReserveRange, "shmReserve"));
  exports.Set("shmUnlink", Napi::Function::New(env, Unlink, "shmUnlink"));
  exports.Set("shmDetach", Napi::Function::New(env, Detach, "shmDetach"));
}

}  // namespace hostmesh
