// The sockets driver's class (see sockets.cc for what it does and why).
#pragma once

#include <napi.h>

#include "batchView.h"
#include "gsoRuns.h"
#include "waker.h"
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace petrel {

class SocketsDriver : public Napi::ObjectWrap<SocketsDriver> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit SocketsDriver(const Napi::CallbackInfo& info);
  ~SocketsDriver() override;

 private:
  static constexpr uint32_t kMessages = 64;
  static constexpr uint32_t kIovs = 4096;

  // One batch's parallel arrays, as raw pointers into memory JavaScript lends (held, and checked on
  // every send and receive: see LostBatchArray).
  using BatchView = native::BatchView;
  struct Endpoint {
    int32_t id;
    int fd;
    bool gro;
    bool gso;
  };
  using Outgoing = native::GsoRun;
  // A GRO receive in the staging area, split into slots by DrainStaged.
  struct Staged {
    uint32_t length;
    uint32_t offset;
    uint32_t segment;
    uint32_t ip;
    uint16_t port;
    int32_t endpoint_id;
  };
  using ControlBuffer = native::UdpControl;

  static Napi::Value ProbeUdpOffload(const Napi::CallbackInfo& info);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value CloseAll(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastError(const Napi::CallbackInfo& info);
  Napi::Value Wait(const Napi::CallbackInfo& info);
  Napi::Value ArmWake(const Napi::CallbackInfo& info);
  Napi::Value DisarmWake(const Napi::CallbackInfo& info);
  Napi::Value SetTransmit(const Napi::CallbackInfo& info);

  Endpoint* Find(int32_t id);
  void Record(int error, const char* syscall, int32_t endpoint_id, std::string detail = std::string());
  void RecordTruncated(uint32_t length, uint32_t ip, uint16_t port, int32_t endpoint_id);
  void FillHeader(uint32_t message, const Outgoing& out, uint32_t iovs);
  uint32_t DrainStaged(uint32_t count);

  BatchView tx_;
  BatchView rx_;
  bool use_gso_ = false;
  bool use_gro_ = false;
  std::vector<Endpoint> endpoints_;
  std::vector<pollfd> poll_fds_;
  // Wakes JavaScript on a readable socket (armWake).
  ReadableWaker waker_;
  std::vector<int> arm_fds_;
  size_t last_found_ = 0;
  size_t receive_start_ = 0;

  mmsghdr tx_headers_[kMessages];
  sockaddr_in tx_addresses_[kMessages];
  Outgoing outgoing_[kMessages];
  ControlBuffer tx_control_[kMessages];
  iovec tx_iovs_[kIovs];

  mmsghdr rx_headers_[kMessages];
  sockaddr_in rx_addresses_[kMessages];
  ControlBuffer rx_control_[kMessages];
  iovec rx_iovs_[kMessages];
  std::vector<uint8_t> staging_;
  std::vector<Staged> staged_;
  uint32_t staged_count_ = 0;
  uint32_t staged_next_ = 0;

  int last_errno_ = 0;
  const char* last_syscall_ = "";
  std::string last_detail_;
  int32_t last_endpoint_id_ = -1;
  uint64_t datagrams_sent_ = 0;
  uint64_t datagrams_received_ = 0;
  uint64_t pair_runs_ = 0;
  uint64_t send_calls_ = 0;
  uint64_t receive_calls_ = 0;
  uint64_t gso_sends_ = 0;
  uint64_t gro_receives_ = 0;
  uint64_t would_block_ = 0;
  uint64_t dropped_ = 0;
  uint64_t truncated_ = 0;
  uint64_t errors_ = 0;
};

}  // namespace petrel
