// The AF_PACKET frame port's class (see afpacket.cc for what it does and why).
#pragma once

#include <napi.h>

#include "napiCommon.h"

#include <cstddef>
#include <cstdint>

namespace petrel {

class AfPacketPort : public Napi::ObjectWrap<AfPacketPort> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit AfPacketPort(const Napi::CallbackInfo& info);
  ~AfPacketPort() override;

 private:
  // A FrameBatch's parallel arrays, as raw pointers into memory JavaScript lends (held, and checked on
  // every send and receive).
  struct FrameView {
    uint32_t capacity = 0;
    uint32_t slot_length = 0;
    uint8_t* bytes = nullptr;
    int32_t* lengths = nullptr;
    uint8_t* flags = nullptr;
    double* timestamps = nullptr;
    native::HeldArray held[4];
  };

  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastError(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bool Frames(const Napi::CallbackInfo& info, size_t first, FrameView* view);
  void Record(int error, const char* syscall);
  static const char* LostFrames(napi_env env, const FrameView& view);
  void Release();
  void ReadKernelStats();
  bool SplitGso(const uint8_t* frame, uint32_t length, uint32_t gso_size, double timestamp, uint32_t* n);

  FrameView tx_;
  FrameView rx_;
  int fd_ = -1;
  uint8_t* ring_ = nullptr;
  size_t ring_bytes_ = 0;
  // RX: TPACKET_V3 blocks.
  uint32_t rx_block_size_ = 0;
  uint32_t rx_block_count_ = 0;
  uint32_t rx_block_ = 0;
  // Position inside the current block when a receive batch filled before the block ended.
  uint32_t rx_packets_left_ = 0;
  uint32_t rx_packet_offset_ = 0;
  // Payload bytes of the current GSO super-frame already split into the batch.
  uint32_t rx_gso_offset_ = 0;
  // TX: fixed-size frames.
  uint8_t* tx_ring_ = nullptr;
  uint32_t tx_frame_size_ = 0;
  uint32_t tx_frame_count_ = 0;
  uint32_t tx_frame_ = 0;

  int last_errno_ = 0;
  const char* last_syscall_ = "";
  uint64_t frames_sent_ = 0;
  uint64_t frames_received_ = 0;
  uint64_t send_calls_ = 0;
  uint64_t receive_calls_ = 0;
  uint64_t would_block_ = 0;
  uint64_t dropped_ = 0;
  uint64_t truncated_ = 0;
  uint64_t outgoing_skipped_ = 0;
  uint64_t gso_segments_ = 0;
  uint64_t gso_dropped_ = 0;
  uint64_t errors_ = 0;
  uint64_t kernel_packets_ = 0;
  uint64_t kernel_drops_ = 0;
  uint64_t kernel_freezes_ = 0;
};

}  // namespace petrel
