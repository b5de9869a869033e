#pragma once

#include <napi.h>

namespace hostmesh {

// An ArrayBuffer over memory this addon owns and frees (a part of a mapping), that V8 does
// not count as memory the process allocated. Only `key` detaches it (DetachWithKey), so it
// cannot be transferred to another thread. Its lifetime is the object's: AddFinalizer on it.
Napi::ArrayBuffer UncountedArrayBuffer(Napi::Env env, void* data, size_t length, Napi::Value key);

// Detaches `buffer` (once) with the key it was made with.
void DetachWithKey(Napi::ArrayBuffer buffer, Napi::Value key);

}  // namespace hostmesh
