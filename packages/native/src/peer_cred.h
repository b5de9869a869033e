// Who is on the other end of a Unix socket, as the kernel saw it at connect time.
#pragma once

#include <napi.h>

namespace hostmesh {

void InitPeerCred(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
