// The io_uring driver's class (see uring.cc for what it does and why). Compiled only when CMake
// finds liburing (PETREL_HAVE_URING); addon.cc then registers UringDriver beside SocketsDriver.
#pragma once

#include <liburing.h>
#include <napi.h>

#include "batchView.h"
#include "gsoRuns.h"
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <cstdint>
#include <string>
#include <vector>

namespace petrel {

class UringDriver : public Napi::ObjectWrap<UringDriver> {
 public:
  static Napi::Object Init(Napi::Env env, Napi::Object exports);
  explicit UringDriver(const Napi::CallbackInfo& info);
  ~UringDriver() override;

 private:
  // One batch's parallel arrays, as raw pointers into memory JavaScript lends (held, and checked on
  // every send and receive: see LostBatchArray).
  using BatchView = native::BatchView;
  struct Endpoint {
    int32_t id;
    int fd;
    // Multishot: whether a receive request is armed (a final CQE without IORING_CQE_F_MORE clears
    // it; the next poll re-arms).
    bool armed;
    // UDP_SEGMENT sends (until the path refuses one) and UDP_GRO receives on this socket.
    bool gso;
    bool gro;
  };
  // A receive completion taken off the CQ but not yet copied into a ReceiveBatch slot (the batch
  // was full, or it was reaped while waiting for send completions). It owns buffer `bid`.
  struct Received {
    int32_t result;
    uint32_t flags;
    uint32_t bid;
    int32_t endpoint_id;
    // Bytes of a GRO-coalesced payload already split into slots (the batch filled mid-buffer).
    uint32_t offset;
  };
  // Single-shot fallback: one in-flight recvmsg per buffer, with its own header.
  struct SingleShot {
    msghdr header;
    iovec iov;
    sockaddr_in from;
    int32_t endpoint_id;  // -1: free
  };

  Napi::Value Setup(const Napi::CallbackInfo& info);
  Napi::Value Open(const Napi::CallbackInfo& info);
  Napi::Value Close(const Napi::CallbackInfo& info);
  Napi::Value CloseAll(const Napi::CallbackInfo& info);
  Napi::Value Send(const Napi::CallbackInfo& info);
  Napi::Value Receive(const Napi::CallbackInfo& info);
  Napi::Value Stats(const Napi::CallbackInfo& info);
  Napi::Value LastError(const Napi::CallbackInfo& info);
  Napi::Value Features(const Napi::CallbackInfo& info);
  Napi::Value SetTransmit(const Napi::CallbackInfo& info);

  Endpoint* Find(int32_t id);
  void Record(int error, const char* op, int32_t endpoint_id, std::string detail = std::string());
  void RecordTruncated(uint32_t length, uint32_t ip, uint16_t port, int32_t endpoint_id);
  int SetupRing(uint32_t sq_entries, uint32_t cq_entries, bool sqpoll, uint32_t sq_idle_ms, const char** failed);
  int SetupBufferRing();
  bool ProbeMultishot();
  io_uring_sqe* Sqe();
  bool ArmReceive(Endpoint* endpoint);
  bool ArmSingleShot(uint32_t bid, const Endpoint& endpoint);
  void RecycleBuffer(uint32_t bid);
  void FlushRecycled();
  void Reap();
  void OnCompletion(const io_uring_cqe* cqe);
  void EnterIfNeeded();
  void Teardown();
  void ResizeTransmit();

  BatchView tx_;
  BatchView rx_;
  std::vector<Endpoint> endpoints_;
  size_t last_found_ = 0;

  io_uring ring_{};
  bool ring_ready_ = false;
  // What setup found and chose (reported by features()).
  unsigned setup_flags_ = 0;
  unsigned kernel_features_ = 0;
  uint32_t sq_entries_ = 0;
  uint32_t cq_entries_ = 0;
  uint32_t sq_idle_ms_ = 0;
  bool sqpoll_ = false;
  bool defer_taskrun_ = false;
  bool taskrun_flag_ = false;
  bool multishot_ = false;
  bool buffer_ring_ = false;
  bool send_zc_ = false;
  bool want_gso_ = false;
  bool want_gro_ = false;
  bool send_zc_supported_ = false;
  bool sendmsg_supported_ = false;
  bool recvmsg_supported_ = false;
  bool cancel_supported_ = false;
  bool multishot_probed_ = false;
  std::vector<const char*> fallbacks_;

  // Receive buffers: buffer_count_ buffers of buffer_bytes_, mmap'd. With a buffer ring the kernel
  // picks them (multishot); in the fallback each in-flight single-shot recvmsg owns one.
  uint32_t buffer_count_ = 0;
  uint32_t buffer_bytes_ = 0;
  uint8_t* buffers_ = nullptr;
  size_t buffers_mapped_ = 0;
  io_uring_buf_ring* buf_ring_ = nullptr;
  size_t buf_ring_mapped_ = 0;
  uint32_t recycled_ = 0;
  msghdr multishot_header_{};
  std::vector<SingleShot> single_;
  std::vector<uint32_t> free_bids_;
  uint32_t single_per_endpoint_ = 8;

  // Receive completions waiting for a slot: a ring of at most buffer_count_ (each owns a buffer).
  std::vector<Received> received_;
  uint32_t received_head_ = 0;
  uint32_t received_count_ = 0;

  // Sends in flight for the current transmitBatch: one message (a GSO run or one datagram) per
  // SQE, at most one per tx slot; per message its run and result (INT32_MIN: pending).
  std::vector<native::GsoRun> tx_runs_;
  std::vector<native::UdpControl> tx_controls_;
  std::vector<msghdr> tx_headers_;
  std::vector<iovec> tx_iovs_;
  std::vector<sockaddr_in> tx_addresses_;
  std::vector<int32_t> tx_results_;
  uint32_t sends_pending_ = 0;
  uint32_t notifs_pending_ = 0;

  int last_errno_ = 0;
  const char* last_op_ = "";
  std::string last_detail_;
  int32_t last_endpoint_id_ = -1;
  uint64_t datagrams_sent_ = 0;
  uint64_t datagrams_received_ = 0;
  uint64_t send_calls_ = 0;
  uint64_t receive_calls_ = 0;
  uint64_t would_block_ = 0;
  uint64_t dropped_ = 0;
  uint64_t truncated_ = 0;
  uint64_t errors_ = 0;
  uint64_t rearms_ = 0;
  uint64_t no_buffers_ = 0;
  uint64_t zc_notifications_ = 0;
  uint64_t completions_ = 0;
  uint64_t gso_sends_ = 0;
  uint64_t messages_sent_ = 0;
  uint64_t gro_receives_ = 0;
  uint64_t gro_datagrams_ = 0;
  uint64_t pair_runs_ = 0;
  uint64_t control_truncated_ = 0;
};

}  // namespace petrel
