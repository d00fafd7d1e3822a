// The DPDK frame port's class (see dpdk.cc for what it does and why). This header names no DPDK
// type, so that addon.cc compiles without DPDK's flags (-include rte_config.h, -march=...): those
// stay confined to dpdk.cc.
#pragma once

#include <napi.h>

#include "napiCommon.h"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace petrel {

class DpdkPort : public Napi::ObjectWrap<DpdkPort> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit DpdkPort(const Napi::CallbackInfo& info);
  ~DpdkPort() override;

 private:
  // A FrameBatch's parallel arrays, as raw pointers into memory JavaScript lends (held, and checked
  // on every send and receive).
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
  Napi::Value SetMulticast(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastError(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);

  bool Frames(const Napi::CallbackInfo& info, size_t first, FrameView* view);
  static const char* LostFrames(napi_env env, const FrameView& view);
  void Record(int error, const char* call);
  void Release();

  FrameView tx_;
  FrameView rx_;
  bool open_ = false;
  bool started_ = false;
  uint16_t port_id_ = 0;
  uint64_t owner_id_ = 0;
  bool owned_ = false;
  // rte_mempool*, rte_mbuf* kept as void* so that this header needs no DPDK type.
  void* pool_ = nullptr;
  std::vector<void*> rx_mbufs_;
  std::vector<void*> tx_mbufs_;
  std::vector<uint32_t> tx_slots_;
  uint32_t data_room_ = 0;
  bool tx_udp_cksum_ = false;
  bool tx_ip_cksum_ = false;
  bool rx_cksum_ = false;
  bool all_multicast_ = false;
  bool promiscuous_ = false;

  int last_errno_ = 0;
  const char* last_call_ = "";
  uint64_t frames_sent_ = 0;
  uint64_t frames_received_ = 0;
  uint64_t send_calls_ = 0;
  uint64_t receive_calls_ = 0;
  uint64_t would_block_ = 0;
  uint64_t no_mbufs_ = 0;
  uint64_t dropped_ = 0;
  uint64_t truncated_ = 0;
  uint64_t errors_ = 0;
  uint64_t checksum_offloaded_ = 0;
};

}  // namespace petrel
