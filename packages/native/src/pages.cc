#include "pages.h"

#include <cerrno>
#include <cstdint>
#include <sys/mman.h>
#include <unistd.h>

#include "errors.h"

namespace hostmesh {

namespace {

// discardPages(buffer) -> bytes given back. The whole pages inside `buffer` are returned
// to the kernel (MADV_DONTNEED): its contents become zeros, its address stays valid. For a
// large buffer that is being thrown away (a frame whose peer left halfway) and that the
// garbage collector might not free for a long time. Only the page-aligned interior is
// touched, never the allocator's bookkeeping around it.
Napi::Value DiscardPages(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "buffer must be a Buffer");
  auto buffer = info[0].As<Napi::Buffer<uint8_t>>();
  const uintptr_t page = static_cast<uintptr_t>(sysconf(_SC_PAGESIZE));
  const uintptr_t begin = reinterpret_cast<uintptr_t>(buffer.Data());
  const uintptr_t start = (begin + page - 1) & ~(page - 1);
  const uintptr_t end = (begin + buffer.Length()) & ~(page - 1);
  if (end <= start) return Napi::Number::New(env, 0);
  if (madvise(reinterpret_cast<void*>(start), end - start, MADV_DONTNEED) != 0) ThrowPosix(env, errno, "madvise", "buffer");
  return Napi::Number::New(env, static_cast<double>(end - start));
}

}  // namespace

void InitPages(Napi::Env env, Napi::Object exports) {
  exports.Set("discardPages", Napi::Function::New(env, DiscardPages, "discardPages"));
}

}  // namespace hostmesh
