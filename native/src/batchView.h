// The batch ABI as C++ sees it (src/core/transmitBatch.ts, src/drivers/receiveBatch.ts): a
// batch's five typed arrays, taken once from JavaScript and read and written in place.
#pragma once

#include <napi.h>

#include <cstdint>
#include <string>

#include "napiCommon.h"

namespace petrel {
namespace native {

struct BatchView {
  uint32_t capacity = 0;
  uint32_t slot_length = 0;
  uint8_t* bytes = nullptr;
  int32_t* lengths = nullptr;
  uint32_t* ips = nullptr;
  uint16_t* ports = nullptr;
  int32_t* endpoint_ids = nullptr;
  /** The five typed arrays, held and checked on every call (StillHeld) before their memory is used. */
  native::HeldArray held[5];
};

/** Names of the batch arrays in BatchView::held order, for errors. */
constexpr const char* kBatchArrayNames[5] = {"bytes", "lengths", "ips", "ports", "endpointIds"};

// The first of the batch's arrays that is no longer lent to the driver (detached, shrunk), or nullptr
// when all five still are. Every send and receive calls this before touching the batch.
inline const char* LostBatchArray(napi_env env, const BatchView& batch) {
  for (size_t i = 0; i < 5; i++) {
    if (!StillHeld(env, batch.held[i])) return kBatchArrayNames[i];
  }
  return nullptr;
}

// Reads (bytes, lengths, ips, ports, endpointIds, capacity, slotLength) from argument `first` on:
// capacity 1..4096, slot length 64..65536, each array of the right type and length. Returns false
// with a JavaScript exception pending otherwise.
inline bool ReadBatchView(const Napi::CallbackInfo& info, size_t first, BatchView* batch, const char* who) {
  if (!Uint32Arg(info, first + 5, 1, 4096, &batch->capacity) || !Uint32Arg(info, first + 6, 64, 65536, &batch->slot_length)) {
    Napi::RangeError::New(info.Env(), std::string(who) + ": capacity must be 1..4096 and slot length 64..65536")
        .ThrowAsJavaScriptException();
    return false;
  }
  const size_t capacity = batch->capacity;
  batch->bytes = TypedArrayArg<uint8_t>(info, first, napi_uint8_array, capacity * batch->slot_length,
                                        "batch bytes must be a Uint8Array of capacity * slotLength", &batch->held[0]);
  if (batch->bytes == nullptr) return false;
  batch->lengths = TypedArrayArg<int32_t>(info, first + 1, napi_int32_array, capacity, "lengths must be an Int32Array",
                                          &batch->held[1]);
  if (batch->lengths == nullptr) return false;
  batch->ips = TypedArrayArg<uint32_t>(info, first + 2, napi_uint32_array, capacity, "ips must be a Uint32Array",
                                       &batch->held[2]);
  if (batch->ips == nullptr) return false;
  batch->ports = TypedArrayArg<uint16_t>(info, first + 3, napi_uint16_array, capacity, "ports must be a Uint16Array",
                                         &batch->held[3]);
  if (batch->ports == nullptr) return false;
  batch->endpoint_ids = TypedArrayArg<int32_t>(info, first + 4, napi_int32_array, capacity,
                                               "endpointIds must be an Int32Array", &batch->held[4]);
  return batch->endpoint_ids != nullptr;
}

}  // namespace native
}  // namespace petrel
