// Petrel's native addon: build information (so the TypeScript side can prove that the addon loads
// and which Node-API version it speaks) and the drivers' batch entry points (sockets.cc; io_uring,
// AF_PACKET and DPDK register theirs here too).
#include <napi.h>

#include "afpacket.h"
#include "sockets.h"
#ifdef PETREL_HAVE_URING
#include "uring.h"
#endif
#ifdef PETREL_HAVE_DPDK
#include "dpdk.h"
#endif

namespace {

Napi::Value BuildInfo(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("napiVersion", Napi::Number::New(env, NAPI_VERSION));
  result.Set("compiler", Napi::String::New(env, __VERSION__));
#if defined(__SANITIZE_ADDRESS__)
  result.Set("asan", Napi::Boolean::New(env, true));
#else
  result.Set("asan", Napi::Boolean::New(env, false));
#endif
  return result;
}

// Sums the bytes of a Uint8Array in place: a smoke test that typed-array memory crosses into C++
// without a copy (the batch ABI relies on this).
Napi::Value ByteSum(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray()) {
    Napi::TypeError::New(env, "byteSum expects one Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::TypedArray array = info[0].As<Napi::TypedArray>();
  if (array.TypedArrayType() != napi_uint8_array) {
    Napi::TypeError::New(env, "byteSum expects a Uint8Array").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  Napi::Uint8Array bytes = array.As<Napi::Uint8Array>();
  uint64_t sum = 0;
  const size_t length = bytes.ElementLength();
  const uint8_t* data = bytes.Data();
  for (size_t i = 0; i < length; i++) sum += data[i];
  return Napi::Number::New(env, static_cast<double>(sum));
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  exports.Set("buildInfo", Napi::Function::New(env, BuildInfo, "buildInfo"));
  exports.Set("byteSum", Napi::Function::New(env, ByteSum, "byteSum"));
#ifdef PETREL_HAVE_URING
  petrel::UringDriver::Init(env, exports);
  exports.Set("uring", Napi::Boolean::New(env, true));
#else
  exports.Set("uring", Napi::Boolean::New(env, false));
#endif
#ifdef PETREL_HAVE_DPDK
  petrel::DpdkPort::Init(env, exports);
  exports.Set("dpdk", Napi::Boolean::New(env, true));
#else
  exports.Set("dpdk", Napi::Boolean::New(env, false));
#endif
  petrel::AfPacketPort::Init(env, exports);
  return petrel::SocketsDriver::Init(env, exports);
}

}  // namespace

NODE_API_MODULE(petrel, Init)
