// Process exit as an event: a pidfd becomes readable when its process exits.
#pragma once

#include <napi.h>

namespace hostmesh {

void InitPidfd(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
