// Named pipes (FIFOs): shell integration endpoints and doorbells.
#pragma once

#include <napi.h>

namespace hostmesh {

void InitFifo(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
