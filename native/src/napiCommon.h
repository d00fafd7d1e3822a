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
// resizable buffer can also shrink under it. So the driver holds the ArrayBuffer itself, remembers
// where its memory was and how much of it the driver uses, and every call that touches the memory
// verifies both first (StillHeld). A SharedArrayBuffer can be neither detached nor shrunk.
struct HeldArray {
  Napi::Reference<Napi::Value> buffer;
  void* base = nullptr;  // the ArrayBuffer's memory as first seen
  size_t end = 0;        // byte offset + bytes the driver uses: the buffer must stay at least this long
  bool shared = false;
};

// Reads a typed array argument of the expected element type with at least `elements` elements and
// holds its buffer in `held`. Returns nullptr (and throws in JavaScript) otherwise; a detached array
// has no elements and fails here.
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
  // The data pointer from napi_get_typedarray_info works for ArrayBuffer and SharedArrayBuffer
  // storage alike (and moves an on-heap typed array's elements off the heap, where they stay put).
  void* data = nullptr;
  size_t length = 0;
  napi_value buffer = nullptr;
  size_t offset = 0;
  bool plain = false;
  if (napi_get_typedarray_info(env, array, nullptr, &length, &data, &buffer, &offset) != napi_ok || data == nullptr ||
      napi_is_arraybuffer(env, buffer, &plain) != napi_ok) {
    ThrowType(env, what);
    return nullptr;
  }
  held->buffer = Napi::Reference<Napi::Value>::New(Napi::Value(env, buffer), 1);
  held->base = static_cast<uint8_t*>(data) - offset;
  held->end = offset + elements * sizeof(T);
  held->shared = !plain;
  return static_cast<T*>(data);
}

// True while `held` still lends the memory it was taken with: the ArrayBuffer is not detached (a
// detached one reports no memory and length 0), still at the same address, and not shrunk below
// what the driver uses. Two Node-API calls; run once per batch call, never per datagram.
inline bool StillHeld(napi_env env, const HeldArray& held) {
  if (held.shared) return true;
  if (held.buffer.IsEmpty()) return false;
  void* data = nullptr;
  size_t length = 0;
  if (napi_get_arraybuffer_info(env, held.buffer.Value(), &data, &length) != napi_ok) return false;
  return data == held.base && length >= held.end;
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
