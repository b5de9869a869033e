#include "spin.h"

#include <cstdint>
#include <ctime>
#include <sched.h>

namespace hostmesh {

namespace {

inline void CpuRelax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield" ::: "memory");
#endif
}

inline uint64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<uint64_t>(ts.tv_sec) * 1000000000ull + static_cast<uint64_t>(ts.tv_nsec);
}

// spinWhileEqual(buffer, byteOffset, value, budgetNs, yieldEveryNs) -> boolean
//
// Watches the 32-bit word at buffer[byteOffset] (shared memory written by another
// process) for up to budgetNs and returns true as soon as it differs from `value`.
// `pause` between reads keeps the core's pipeline and its sibling hyperthread out of the
// way; sched_yield() every yieldEveryNs lets a peer that shares this CPU run, which is
// the difference between 15 µs and 127 µs round trips when both processes sit on one CPU.
Napi::Value SpinWhileEqual(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!info[0].IsBuffer()) throw Napi::TypeError::New(env, "buffer must be a Buffer");
  auto buffer = info[0].As<Napi::Buffer<uint8_t>>();
  int64_t offset = info[1].As<Napi::Number>().Int64Value();
  if (offset < 0 || offset % 4 != 0 || static_cast<size_t>(offset) + 4 > buffer.Length()) {
    throw Napi::RangeError::New(env, "byteOffset must be 4-byte aligned and inside the buffer");
  }
  uint32_t value = info[2].As<Napi::Number>().Uint32Value();
  uint64_t budget = static_cast<uint64_t>(info[3].As<Napi::Number>().Int64Value());
  uint64_t yield_every = static_cast<uint64_t>(info[4].As<Napi::Number>().Int64Value());
  auto* word = reinterpret_cast<uint32_t*>(buffer.Data() + offset);

  if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return Napi::Boolean::New(env, true);
  uint64_t start = NowNs();
  uint64_t next_yield = start + yield_every;
  for (;;) {
    for (int i = 0; i < 32; i++) {
      CpuRelax();
      if (__atomic_load_n(word, __ATOMIC_ACQUIRE) != value) return Napi::Boolean::New(env, true);
    }
    uint64_t now = NowNs();
    if (now - start >= budget) return Napi::Boolean::New(env, false);
    if (yield_every > 0 && now >= next_yield) {
      sched_yield();
      next_yield = now + yield_every;
    }
  }
}

}  // namespace

void InitSpin(Napi::Env env, Napi::Object exports) {
  exports.Set("spinWhileEqual", Napi::Function::New(env, SpinWhileEqual, "spinWhileEqual"));
}

}  // namespace hostmesh
