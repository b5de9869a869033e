// Giving memory back to the kernel now rather than at the next garbage collection.
#pragma once

#include <napi.h>

namespace hostmesh {

void InitPages(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
