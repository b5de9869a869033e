#include "uncounted_buffer.h"

#include <cstring>
#include <v8.h>

namespace hostmesh {

// Node-API has no way to say that an external ArrayBuffer's memory is not the process's own:
// V8 counts its length towards its external-memory limit (64 MiB), and a pool lease of 64 MiB
// started a full collection at once, however briefly it lived. V8 counts nothing for a
// backing store whose deleter is its EmptyDeleter, which needs the V8 API itself. A napi_value
// is a v8::Local<v8::Value> in Node (src/js_native_api_v8.h, V8LocalValueFromJsValue).
namespace {

v8::Local<v8::Value> ToV8(napi_value value) {
  v8::Local<v8::Value> local;
  static_assert(sizeof(local) == sizeof(value), "a napi_value is a v8::Local");
  std::memcpy(static_cast<void*>(&local), &value, sizeof(value));
  return local;
}

napi_value FromV8(v8::Local<v8::Value> local) {
  napi_value value;
  std::memcpy(&value, static_cast<void*>(&local), sizeof(local));
  return value;
}

}  // namespace

Napi::ArrayBuffer UncountedArrayBuffer(Napi::Env env, void* data, size_t length, Napi::Value key) {
  v8::Isolate* isolate = v8::Isolate::GetCurrent();
  std::unique_ptr<v8::BackingStore> store = v8::ArrayBuffer::NewBackingStore(data, length, v8::BackingStore::EmptyDeleter, nullptr);
  v8::Local<v8::ArrayBuffer> buffer = v8::ArrayBuffer::New(isolate, std::move(store));
  buffer->SetDetachKey(ToV8(key));
  return Napi::ArrayBuffer(env, FromV8(buffer));
}

void DetachWithKey(Napi::ArrayBuffer buffer, Napi::Value key) {
  v8::Local<v8::ArrayBuffer> backing = ToV8(buffer).As<v8::ArrayBuffer>();
  // A wrong key leaves a TypeError pending, which the caller's JS then sees.
  if (!backing->WasDetached()) (void)backing->Detach(ToV8(key)).IsNothing();
}

}  // namespace hostmesh
