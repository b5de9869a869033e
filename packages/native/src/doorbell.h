// Doorbells: the wake-up half of a shared-memory ring. A doorbell is a file descriptor a
// sleeping receiver watches with libuv; the sender writes to it only when the receiver
// has said (in shared memory) that it is parked. A named FIFO (any process of the user
// can open it by name) or an eventfd (inherited, or passed over a socket).
#pragma once

#include <napi.h>

namespace hostmesh {

void InitDoorbell(Napi::Env env, Napi::Object exports);

}  // namespace hostmesh
