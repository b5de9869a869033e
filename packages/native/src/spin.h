// Bounded busy-waiting on a word of shared memory: the hot half of the ring wake-up.
#pragma once

#include <napi.h>

namespace hostmesh {

void InitSpin(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
