#include "errors.h"

#include <cerrno>
#include <cstring>
#include <uv.h>

namespace hostmesh {

namespace {
struct AddonData {
  Napi::FunctionReference error_class;
};

AddonData* Data(Napi::Env env) {
  auto* data = env.GetInstanceData<AddonData>();
  if (data == nullptr) {
    data = new AddonData();
    env.SetInstanceData(data);
  }
  return data;
}
}  // namespace

void SetErrorClass(const Napi::CallbackInfo& info) {
  if (!info[0].IsFunction()) throw Napi::TypeError::New(info.Env(), "setErrorClass: expected a constructor");
  Data(info.Env())->error_class = Napi::Persistent(info[0].As<Napi::Function>());
}

Napi::Error PosixError(Napi::Env env, int err, const char* syscall, const std::string& object) {
  const char* code = uv_err_name(-err);
  std::string message = std::string(syscall) + " " + object + ": " + std::strerror(err) + " (" + code + ")";
  auto& cls = Data(env)->error_class;
  if (cls.IsEmpty()) {
    Napi::Error error = Napi::Error::New(env, message);
    error.Set("code", Napi::String::New(env, code));
    return error;
  }
  Napi::Object details = Napi::Object::New(env);
  details.Set("code", Napi::String::New(env, code));
  details.Set("errno", Napi::Number::New(env, err));
  details.Set("syscall", Napi::String::New(env, syscall));
  details.Set("object", Napi::String::New(env, object));
  Napi::Value error = cls.New({Napi::String::New(env, message), details});
  return Napi::Error(env, error);
}

void ThrowPosix(Napi::Env env, int err, const char* syscall, const std::string& object) {
  throw PosixError(env, err, syscall, object);
}

std::string StringArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsString()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a string");
  return info[index].As<Napi::String>().Utf8Value();
}

int64_t IntegerArg(const Napi::CallbackInfo& info, size_t index, const char* what) {
  if (!info[index].IsNumber()) throw Napi::TypeError::New(info.Env(), std::string(what) + " must be a number");
  return info[index].As<Napi::Number>().Int64Value();
}

}  // namespace hostmesh
