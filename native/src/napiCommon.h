// Helpers every native backend shares: typed errors that carry the errno name and the system call,
// and checked reads of N-API arguments (typed arrays of the expected element type and length,
// bounded integers). Errors are returned to JavaScript as plain objects; C++ exceptions are off.
#pragma once

#include <napi.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdint>

namespace petrel {
namespace native {

/** "EADDRINUSE" for EADDRINUSE, "EUNKNOWN" for a value glibc does not name. */
inline const char* ErrnoName(int error) {
  const char* name = strerrorname_np(error);
  return name != nullptr ? name : "EUNKNOWN";
}

/** { errno, code, syscall, message }: what the TypeScript side turns into a DriverError. */
inline Napi::Object SyscallError(Napi::Env env, int error, const char* syscall, const char* detail = nullptr) {
  Napi::Object result = Napi::Object::New(env);
  result.Set("errno", Napi::Number::New(env, error));
  result.Set("code", Napi::String::New(env, ErrnoName(error)));
  result.Set("syscall", Napi::String::New(env, syscall));
  result.Set("message", Napi::String::New(env, detail != nullptr ? detail : strerror(error)));
  return result;
}

inline void ThrowType(Napi::Env env, const char* message) {
  Napi::TypeError::New(env, message).ThrowAsJavaScriptException();
}

// Reads a typed array argument of the expected element type with at least `elements` elements and
// keeps a reference to it in `keep`. Returns nullptr (and throws in JavaScript) otherwise.
template <typename T>
T* TypedArrayArg(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type type, size_t elements, const char* what,
                 Napi::ObjectReference* keep) {
  Napi::Env env = info.Env();
  if (index >= info.Length() || !info[index].IsTypedArray()) {
    ThrowType(env, what);
    return nullptr;
  }
  Napi::TypedArray array = info[index].As<Napi::TypedArray>();
  if (array.TypedArrayType() != type || array.ElementLength() < elements) {
    ThrowType(env, what);
    return nullptr;
  }
  *keep = Napi::Persistent(array.As<Napi::Object>());
  return reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
}

/** Reads an integer argument in [min, max]; false when absent, fractional or out of range. */
inline bool Uint32Arg(const Napi::CallbackInfo& info, size_t index, uint32_t min, uint32_t max, uint32_t* out) {
  if (index >= info.Length() || !info[index].IsNumber()) return false;
  double value = info[index].As<Napi::Number>().DoubleValue();
  if (!(value >= min && value <= max) || value != static_cast<double>(static_cast<uint32_t>(value))) return false;
  *out = static_cast<uint32_t>(value);
  return true;
}

inline bool IsPowerOfTwo(uint32_t value) { return value != 0 && (value & (value - 1)) == 0; }

inline bool SetIntOption(int fd, int level, int name, int value) {
  return setsockopt(fd, level, name, &value, sizeof(value)) == 0;
}

}  // namespace native
}  // namespace petrel
