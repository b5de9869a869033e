#include "shm_segment.h"

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <mutex>
#include <unordered_map>
#include <vector>
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "errors.h"
#include "frame_blocks.h"
#include "ownership.h"
#include "uncounted_buffer.h"

namespace hostmesh {

namespace {

// A mapping lives while its Buffer or any leased view of it does: each holds a reference.
// V8 may free an external backing store on any thread, so the count and the registry are
// thread-safe, and nothing here calls into JavaScript.
struct Mapping {
  void* address;
  size_t size;
  std::atomic<int> refs{1};
  std::atomic<int64_t> leased{0};
};

std::mutex registry_mutex;
std::unordered_map<const void*, Mapping*> registry;

void Unref(Mapping* mapping) {
  if (mapping->refs.fetch_sub(1) != 1) return;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry.erase(mapping->address);
  }
  munmap(mapping->address, mapping->size);
  delete mapping;
}

Mapping* Find(const void* address) {
  std::lock_guard<std::mutex> lock(registry_mutex);
  auto found = registry.find(address);
  return found == registry.end() ? nullptr : found->second;
}

// Owns the mapping until V8 releases the last view of it (after close() detaches it). The
// Buffer covers its first `exposed` bytes (all of it by default): V8 counts an external
// Buffer's length as memory allocated, and a 256 MiB pool exposed whole set off a full GC
// per connection. The rest is reached through views of the parts in use (shmSlice, shmLease).
Napi::Buffer<uint8_t> Expose(Napi::Env env, void* address, size_t size, size_t exposed) {
  auto* mapping = new Mapping{address, size};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    registry[address] = mapping;
  }
  return Napi::Buffer<uint8_t>::New(env, static_cast<uint8_t*>(address), exposed, [](Napi::Env, uint8_t*, Mapping* mapping) { Unref(mapping); }, mapping);
}

// The optional `expose` argument at `index`: bytes of the mapping the returned Buffer covers.
size_t Exposed(const Napi::CallbackInfo& info, size_t index, size_t size) {
  if (info.Length() <= index || info[index].IsUndefined()) return size;
  int64_t exposed = IntegerArg(info, index, "expose");
  if (exposed < static_cast<int64_t>(kSegmentHeaderBytes)) throw Napi::RangeError::New(info.Env(), "expose must cover the segment header");
  // Never past the end: a segment a peer made may be smaller than the caller expects.
  return std::min(static_cast<size_t>(exposed), size);
}

// The mapping `buffer` (a Buffer shmCreate/shmOpen returned) is the start of.
Mapping* MappingOf(const Napi::CallbackInfo& info, size_t index) {
  if (!info[index].IsBuffer()) throw Napi::TypeError::New(info.Env(), "mapping must be a Buffer");
  Mapping* mapping = Find(info[index].As<Napi::Buffer<uint8_t>>().Data());
  if (mapping == nullptr) throw Napi::TypeError::New(info.Env(), "mapping must be a shared-memory segment");
  return mapping;
}

// A leased view: when its ArrayBuffer goes (detached, or collected), the run word it names
// goes from `expected` to 0 (handing the run back), unless the word changed meanwhile. A
// frame lease (shmFrameLease) has a block instead of a mapping and a word: the block goes
// back to the cache of frame blocks.
struct Lease {
  Mapping* mapping;
  std::atomic<uint32_t>* word;
  uint32_t expected;
  size_t length;
  bool ended;
  // Whether V8 counts its bytes as external memory now (see CountKept).
  bool counted;
  void* block;
  size_t capacity;
};

// By id, under registry_mutex. Ids are process-wide (worker threads share this addon's state).
std::unordered_map<uint64_t, Lease*> leases;
std::atomic<uint64_t> next_lease_id{1};

// Hands the run back and stops counting the bytes, once (shmEndLease or the collection).
void End(Lease* lease) {
  if (lease->ended) return;
  lease->ended = true;
  if (lease->block != nullptr) {
    GiveFrameBlock(lease->block, lease->capacity);
    return;
  }
  uint32_t expected = lease->expected;
  lease->word->compare_exchange_strong(expected, 0);
  lease->mapping->leased.fetch_sub(static_cast<int64_t>(lease->length));
}

struct LeaseHint {
  Lease* lease;
  uint64_t id;
};

// A lease is shared memory the pool owns, so V8 does not count it (UncountedArrayBuffer):
// one of 64 MiB would start a full collection, however briefly it lived. But a result the
// application was handed and dropped goes back to the pool only when it is collected, and
// V8 collects sooner the more external memory there is. So a lease the application keeps
// (shmKeepLease) is counted once it outlives the next lease of its thread: a result released
// before the next call never is, one dropped is, a call later.
thread_local std::vector<uint64_t> kept_leases;

void CountKept(napi_env env) {
  int64_t bytes = 0;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    for (uint64_t id : kept_leases) {
      auto found = leases.find(id);
      if (found == leases.end() || found->second->ended || found->second->counted) continue;
      found->second->counted = true;
      bytes += static_cast<int64_t>(found->second->length);
    }
  }
  kept_leases.clear();
  int64_t ignored;
  if (bytes > 0) napi_adjust_external_memory(env, bytes, &ignored);
}

// Once its lease has ended: what CountKept added goes.
void Uncount(napi_env env, Lease* lease) {
  if (!lease->counted) return;
  lease->counted = false;
  int64_t ignored;
  napi_adjust_external_memory(env, -static_cast<int64_t>(lease->length), &ignored);
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
  size_t exposed = Exposed(info, 5, static_cast<size_t>(size));
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
  return Expose(env, address, static_cast<size_t>(size), exposed);
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
  size_t exposed;
  try {
    exposed = Exposed(info, 1, static_cast<size_t>(st.st_size));
  } catch (...) {
    close(fd);
    throw;
  }
  void* address = MapFd(env, fd, static_cast<size_t>(st.st_size), name);
  close(fd);
  uint32_t magic;
  std::memcpy(&magic, address, 4);
  if (magic != kSegmentMagic) {
    munmap(address, static_cast<size_t>(st.st_size));
    ThrowPosix(env, EBADMSG, "shm_open (not a hostmesh segment)", name);
  }
  return Expose(env, address, static_cast<size_t>(st.st_size), exposed);
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

// [ArrayBuffer over data[0, lease->length), id]: the lease ends when it is collected at the latest.
Napi::Array LeaseResult(Napi::Env env, void* data, Lease* lease, uint64_t id) {
  Napi::Number key = Napi::Number::New(env, static_cast<double>(id));
  Napi::ArrayBuffer bytes = UncountedArrayBuffer(env, data, lease->length, key);
  bytes.AddFinalizer(
      [](Napi::Env env, LeaseHint* hint) {
        {
          std::lock_guard<std::mutex> lock(registry_mutex);
          leases.erase(hint->id);
          End(hint->lease);
        }
        Uncount(env, hint->lease);
        if (hint->lease->mapping != nullptr) Unref(hint->lease->mapping);
        delete hint->lease;
        delete hint;
      },
      new LeaseHint{lease, id});
  Napi::Array result = Napi::Array::New(env, 2);
  result.Set(0u, bytes);
  result.Set(1u, Napi::Number::New(env, static_cast<double>(id)));
  return result;
}

// shmLease(mapping, offset, length, wordOffset, expected): [ArrayBuffer, id]: an ArrayBuffer of
// its own over mapping[offset, offset + length), which keeps the mapping alive; when it is
// ended (shmEndLease(id, arrayBuffer)) or collected, the u32 at mapping[wordOffset] goes from
// `expected` to 0. `mapping` is the Buffer shmCreate/shmOpen returned.
Napi::Value LeaseView(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* mapping = MappingOf(info, 0);
  int64_t offset = IntegerArg(info, 1, "offset");
  int64_t length = IntegerArg(info, 2, "length");
  int64_t word = IntegerArg(info, 3, "wordOffset");
  int64_t expected = IntegerArg(info, 4, "expected");
  uint64_t id = next_lease_id.fetch_add(1);
  int64_t size = static_cast<int64_t>(mapping->size);
  if (offset < 0 || length <= 0 || offset + length > size || word < 0 || word % 4 != 0 || word + 4 > size || expected < 0 || expected > 0xffffffffLL) {
    throw Napi::RangeError::New(env, "lease outside the mapping");
  }
  CountKept(env);
  mapping->refs.fetch_add(1);
  mapping->leased.fetch_add(length);
  auto* base = static_cast<uint8_t*>(mapping->address);
  auto* lease = new Lease{mapping, reinterpret_cast<std::atomic<uint32_t>*>(base + word), static_cast<uint32_t>(expected), static_cast<size_t>(length), false, false, nullptr, 0};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    leases[id] = lease;
  }
  return LeaseResult(env, base + offset, lease, id);
}

// shmFrameLease(length): [ArrayBuffer, id]: a lease of `length` bytes of process memory from
// the cache of frame blocks, ended (shmEndLease) or collected like a pool lease, its block
// then kept for the next frame.
Napi::Value FrameLease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int64_t length = IntegerArg(info, 0, "length");
  if (length <= 0 || length > (int64_t{1} << 40)) throw Napi::RangeError::New(env, "frame lease length out of range");
  size_t capacity = 0;
  void* block = TakeFrameBlock(static_cast<size_t>(length), &capacity);
  if (block == nullptr) ThrowPosix(env, errno, "mmap", "a frame of " + std::to_string(length) + " bytes");
  CountKept(env);
  uint64_t id = next_lease_id.fetch_add(1);
  auto* lease = new Lease{nullptr, nullptr, 0, static_cast<size_t>(length), false, false, block, capacity};
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    leases[id] = lease;
  }
  return LeaseResult(env, block, lease, id);
}

// shmFrameBlocks(trim): bytes of frame blocks kept for reuse; with `trim`, unmaps them first.
Napi::Value FrameBlocks(const Napi::CallbackInfo& info) {
  if (info.Length() > 0 && info[0].ToBoolean()) TrimFrameBlocks();
  return Napi::Number::New(info.Env(), static_cast<double>(KeptFrameBlockBytes()));
}

// shmEndLease(id, arrayBuffer): ends lease `id` now (its run goes back) and detaches its
// ArrayBuffer, so no view of it can show the bytes the peer writes there next.
Napi::Value EndLease(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  auto id = static_cast<uint64_t>(IntegerArg(info, 0, "id"));
  if (!info[1].IsArrayBuffer()) throw Napi::TypeError::New(env, "the lease must be an ArrayBuffer");
  Napi::ArrayBuffer backing = info[1].As<Napi::ArrayBuffer>();
  Lease* ended = nullptr;
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto found = leases.find(id);
    if (found != leases.end()) {
      ended = found->second;
      End(ended);
      leases.erase(found);
    }
  }
  DetachWithKey(backing, info[0]);
  // The Lease itself lives until its ArrayBuffer is collected (the finalizer deletes it).
  if (ended != nullptr) Uncount(env, ended);
  return env.Undefined();
}

// shmKeepLease(id): the application keeps lease `id` (a result handed to it): counted as
// external memory if it outlives the next lease of this thread (CountKept).
Napi::Value KeepLease(const Napi::CallbackInfo& info) {
  auto id = static_cast<uint64_t>(IntegerArg(info, 0, "id"));
  {
    std::lock_guard<std::mutex> lock(registry_mutex);
    auto found = leases.find(id);
    if (found == leases.end() || found->second->ended) return info.Env().Undefined();
  }
  kept_leases.push_back(id);
  return info.Env().Undefined();
}

// shmLeasedBytes(mapping): bytes of the mapping held by leased views not yet released.
Napi::Value LeasedBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(MappingOf(info, 0)->leased.load()));
}

// shmMappedBytes(mapping): the size of the whole mapping (its Buffer may cover less).
Napi::Value MappedBytes(const Napi::CallbackInfo& info) {
  return Napi::Number::New(info.Env(), static_cast<double>(MappingOf(info, 0)->size));
}

// shmSlice(mapping, offset, length): an ArrayBuffer over mapping[offset, offset + length)
// that keeps the mapping alive while it lives: a part of it the exposed Buffer does not cover.
Napi::Value Slice(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Mapping* mapping = MappingOf(info, 0);
  int64_t offset = IntegerArg(info, 1, "offset");
  int64_t length = IntegerArg(info, 2, "length");
  if (offset < 0 || length <= 0 || offset + length > static_cast<int64_t>(mapping->size)) throw Napi::RangeError::New(env, "slice outside the mapping");
  mapping->refs.fetch_add(1);
  return Napi::ArrayBuffer::New(
      env, static_cast<uint8_t*>(mapping->address) + offset, static_cast<size_t>(length), [](Napi::Env, void*, Mapping* mapping) { Unref(mapping); }, mapping);
}

// shmDetach(buffer): every view of the mapping becomes empty at once, so the mapping can
// go without any JS code ever touching unmapped memory.
Napi::Value Detach(const Napi::CallbackInfo& info) {
  if (!info[0].IsTypedArray()) throw Napi::TypeError::New(info.Env(), "buffer must be a Buffer or typed array");
  Napi::ArrayBuffer backing = info[0].As<Napi::TypedArray>().ArrayBuffer();
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
  exports.Set("shmLease", Napi::Function::New(env, LeaseView, "shmLease"));
  exports.Set("shmFrameLease", Napi::Function::New(env, FrameLease, "shmFrameLease"));
  exports.Set("shmFrameBlocks", Napi::Function::New(env, FrameBlocks, "shmFrameBlocks"));
  exports.Set("shmEndLease", Napi::Function::New(env, EndLease, "shmEndLease"));
  exports.Set("shmKeepLease", Napi::Function::New(env, KeepLease, "shmKeepLease"));
  exports.Set("shmLeasedBytes", Napi::Function::New(env, LeasedBytes, "shmLeasedBytes"));
  exports.Set("shmMappedBytes", Napi::Function::New(env, MappedBytes, "shmMappedBytes"));
  exports.Set("shmSlice", Napi::Function::New(env, Slice, "shmSlice"));
  exports.Set("shmDetach", Napi::Function::New(env, Detach, "shmDetach"));
}

}  // namespace hostmesh
