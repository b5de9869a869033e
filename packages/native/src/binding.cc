// Registers the addon's exports; every primitive lives in its own file.
#include <napi.h>

#include "doorbell.h"
#include "errors.h"
#include "fd_watcher.h"
#include "fifo.h"
#include "mqueue.h"
#include "pages.h"
#include "peer_cred.h"
#include "pidfd.h"
#include "semaphore.h"
#include "shm_segment.h"
#include "spin.h"

namespace hostmesh {

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("setErrorClass", Napi::Function::New(env, [](const Napi::CallbackInfo& info) { SetErrorClass(info); }, "setErrorClass"));
  InitShmSegment(env, exports);
  FdWatcher::Init(env, exports);
  InitDoorbell(env, exports);
  InitSpin(env, exports);
  InitMqueue(env, exports);
  NamedSemaphore::Init(env, exports);
  InitFifo(env, exports);
  InitPeerCred(env, exports);
  InitPidfd(env, exports);
  InitPages(env, exports);
  return exports;
}

}  // namespace hostmesh

static Napi::Object InitAddon(Napi::Env env, Napi::Object exports) {
  return hostmesh::Init(env, exports);
}

NODE_API_MODULE(hostmesh_native, InitAddon)
