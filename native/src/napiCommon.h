// Helpers every native backend shares: typed errors that carry the errno name and the system call,
// and checked reads of N-API arguments (typed arrays of the expected element type and length,
// bounded integers). Errors are returned to JavaScript as plain objects; C++ exceptions are off.
#pragma once

#include <napi.h>
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdint>
#include <string>

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

// A typed array whose memory a driver keeps using across calls, and what proves on each call that
// JavaScript still lends it. Holding a reference keeps the typed array alive, but not its memory:
// the application can detach the ArrayBuffer (postMessage/structuredClone with transfer,
// ArrayBuffer.prototype.transfer), and once the new owner is collected the memory is freed. A
// resizable buffer can also shrink under it. So every call that touches the memory checks first.
struct HeldArray {
  Napi::ObjectReference array;
  void* data = nullptr;
  size_t elements = 0;
};

// Reads a typed array argument of the expected element type with at least `elements` elements and
// holds it in `held`. Returns nullptr (and throws in JavaScript) otherwise; a detached array has no
// elements and fails here.
template <typename T>
T* TypedArrayArg(const Napi::CallbackInfo& info, size_t index, napi_typedarray_type type, size_t elements, const char* what,
                 HeldArray* held) {
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
  // napi_get_typedarray_info's data pointer works for ArrayBuffer and SharedArrayBuffer storage alike
  // (and moves an on-heap typed array's elements off the heap, where they stay put).
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_typedarray_info(env, array, nullptr, &length, &data, nullptr, nullptr) != napi_ok || data == nullptr) {
    ThrowType(env, what);
    return nullptr;
  }
  held->array = Napi::Persistent(array.As<Napi::Object>());
  held->data = data;
  held->elements = elements;
  return static_cast<T*>(data);
}

// True while `held` still lends the memory it was taken with: its ArrayBuffer is not detached, and
// the typed array still starts at the same address with at least as many elements (a shrunk
// resizable buffer fails this). Three Node-API calls; run once per batch call, never per datagram.
inline bool StillHeld(napi_env env, const HeldArray& held) {
  if (held.array.IsEmpty()) return false;
  napi_value array = held.array.Value();
  napi_value buffer = nullptr;
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_typedarray_info(env, array, nullptr, &length, &data, &buffer, nullptr) != napi_ok) return false;
  bool detached = true;
  // A SharedArrayBuffer cannot be detached: Node reports false for it.
  if (napi_is_detached_arraybuffer(env, buffer, &detached) != napi_ok || detached) return false;
  return data == held.data && length >= held.elements;
}

// The typed error for a batch array that is no longer lent to the driver: code EFAULT (the errno the
// kernel returns for a pointer into memory the caller does not own), the call refused, and which
// array of which batch. Nothing was read or written.
inline Napi::Object DetachedError(Napi::Env env, const char* syscall, const char* batch, const char* array) {
  const std::string message = std::string("the ") + batch + " batch's " + array +
                              " array was detached (its ArrayBuffer transferred) or shrunk: the driver no longer owns that "
                              "memory and refuses to touch it; dispose of the driver and create a new one";
  return SyscallError(env, EFAULT, syscall, message.c_str());
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
