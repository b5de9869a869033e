// POSIX shared memory segments (shm_open + mmap), handed to JS as Buffers over the
// mapping itself: zero copy, no pointer ever leaves this file.
#pragma once

#include <napi.h>

namespace hostmesh {

// Layout of the 64-byte header every hostmesh segment starts with.
constexpr uint32_t kSegmentMagic = 0x484d5348;  // "HMSH"
constexpr uint32_t kSegmentVersion = 1;
constexpr size_t kSegmentHeaderBytes = 64;

void InitShmSegment(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
