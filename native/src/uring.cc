// Petrel's io_uring driver: the sockets driver's batches and UDP sockets, moved through one
// io_uring instead of sendmmsg/recvmmsg.
//
// Send: one IORING_OP_SENDMSG (or SENDMSG_ZC) submission per message, where a message is a UDP GSO
// run built exactly as the sockets driver builds its sendmmsg messages (gsoRuns.h: equal-size
// datagrams to one destination, the last may be shorter, carried with a UDP_SEGMENT cmsg; full+tail
// pairs as two runs) or a single datagram. The submissions are not linked: MSG_DONTWAIT sends are
// issued inline and in order by the submit, so the whole batch is one io_uring_enter (none at all
// with SQPOLL when the poller is awake). A send the socket refuses (EAGAIN) ends the batch there
// ("slots [start, start + n) went, the rest wait"); a later one that went anyway is sent again with
// the rest, a duplicate the protocol ignores. (Linked chains were 3-20x slower here.) The call waits for the batch's completions (and, with zero copy, for the
// notifications that release the buffers) before it returns, because the slots belong to
// JavaScript again afterwards.
//
// Receive: one multishot recvmsg (IORING_RECV_MULTISHOT) per socket, drawing buffers from a
// provided-buffer ring registered with io_uring_register_buf_ring over memory mmap'd here. With
// UDP_GRO on the socket (the default) each buffer takes a whole coalesced receive (64 KiB of payload
// after io_uring_recvmsg_out, the source address and room for the UDP_GRO cmsg); the cmsg's gso_size
// splits it back into one ReceiveBatch slot per datagram, and a buffer only part copied when the batch
// fills stays at the head of the queue for the next poll. MSG_TRUNC and MSG_CTRUNC receives are
// dropped and counted. Each buffer goes back to the ring as soon as it is copied out (the slots are
// JavaScript's and are rewritten by every poll, so ring buffers are never lent out). Where multishot
// or buffer rings are missing (or forceSingleShotRecv asks), a fixed number of single-shot recvmsg
// requests per socket, each over its own slot-sized buffer, are re-armed as they complete (no GRO).
//
// Completions are reaped in batches (io_uring_peek_batch_cqe + io_uring_cq_advance). The ring is
// set up with IORING_SETUP_SINGLE_ISSUER | DEFER_TASKRUN | TASKRUN_FLAG where the kernel has them:
// completions then appear only when this thread asks (io_uring_submit_and_get_events), and the
// kernel raises IORING_SQ_TASKRUN when there is work, so an idle poll costs no system call.
//
// Errors: C++ exceptions are off. Misuse (wrong argument types) throws a JavaScript TypeError; every
// failing setup step or completion becomes {errno, code, syscall, message} (code = errno name,
// syscall = the io_uring operation) that the TypeScript side turns into a DriverError.
#include "uring.h"
#include "napiCommon.h"
#include "udpSocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <climits>
#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>

namespace petrel {
namespace {

using namespace petrel::native;

constexpr uint32_t kSocketsMax = 1024;
constexpr uint16_t kBufferGroup = 0;
// Receive buffer layout for multishot recvmsg: io_uring_recvmsg_out, the source address, payload.
constexpr uint32_t kRecvHeaderBytes = sizeof(io_uring_recvmsg_out) + sizeof(sockaddr_in);
// Completions taken off the CQ per peek.
constexpr unsigned kPeekBatch = 256;
// A transmit call waits at most this long for its own completions (they are non-blocking sends, so
// this is a guard against a kernel bug, not a tuning knob).
constexpr long long kSendWaitNsMax = 2'000'000'000LL;
constexpr int32_t kPending = INT32_MIN;

enum Kind : uint64_t { kRecvMulti = 1, kRecvSingle = 2, kSend = 3, kCancel = 4, kProbe = 5 };

inline uint64_t UserData(Kind kind, uint32_t aux, uint32_t id) {
  return (static_cast<uint64_t>(kind) << 56) | (static_cast<uint64_t>(aux & 0xffffffu) << 32) | id;
}
inline Kind KindOf(uint64_t data) { return static_cast<Kind>(data >> 56); }
inline uint32_t AuxOf(uint64_t data) { return static_cast<uint32_t>(data >> 32) & 0xffffffu; }
inline uint32_t IdOf(uint64_t data) { return static_cast<uint32_t>(data); }

struct FlagName {
  unsigned flag;
  const char* name;
};
constexpr FlagName kSetupFlagNames[] = {
    {IORING_SETUP_SQPOLL, "SQPOLL"},           {IORING_SETUP_CQSIZE, "CQSIZE"},
    {IORING_SETUP_SUBMIT_ALL, "SUBMIT_ALL"},   {IORING_SETUP_COOP_TASKRUN, "COOP_TASKRUN"},
    {IORING_SETUP_TASKRUN_FLAG, "TASKRUN_FLAG"}, {IORING_SETUP_SINGLE_ISSUER, "SINGLE_ISSUER"},
    {IORING_SETUP_DEFER_TASKRUN, "DEFER_TASKRUN"},
};
constexpr FlagName kFeatureNames[] = {
    {IORING_FEAT_SINGLE_MMAP, "SINGLE_MMAP"},   {IORING_FEAT_NODROP, "NODROP"},
    {IORING_FEAT_SUBMIT_STABLE, "SUBMIT_STABLE"}, {IORING_FEAT_RW_CUR_POS, "RW_CUR_POS"},
    {IORING_FEAT_CUR_PERSONALITY, "CUR_PERSONALITY"}, {IORING_FEAT_FAST_POLL, "FAST_POLL"},
    {IORING_FEAT_POLL_32BITS, "POLL_32BITS"},   {IORING_FEAT_SQPOLL_NONFIXED, "SQPOLL_NONFIXED"},
    {IORING_FEAT_EXT_ARG, "EXT_ARG"},           {IORING_FEAT_NATIVE_WORKERS, "NATIVE_WORKERS"},
    {IORING_FEAT_RSRC_TAGS, "RSRC_TAGS"},       {IORING_FEAT_CQE_SKIP, "CQE_SKIP"},
    {IORING_FEAT_LINKED_FILE, "LINKED_FILE"},
};

}  // namespace

Napi::Object UringDriver::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "UringDriver", {
      InstanceMethod("setup", &UringDriver::Setup),
      InstanceMethod("open", &UringDriver::Open),
      InstanceMethod("close", &UringDriver::Close),
      InstanceMethod("closeAll", &UringDriver::CloseAll),
      InstanceMethod("send", &UringDriver::Send),
      InstanceMethod("receive", &UringDriver::Receive),
      InstanceMethod("stats", &UringDriver::Stats),
      InstanceMethod("lastError", &UringDriver::LastError),
      InstanceMethod("features", &UringDriver::Features),
      InstanceMethod("setTransmit", &UringDriver::SetTransmit),
  });
  exports.Set("UringDriver", constructor);
  return exports;
}

// new UringDriver(txBytes, txLengths, txIps, txPorts, txEndpointIds, txCapacity, txSlotLength,
//                 rxBytes, rxLengths, rxIps, rxPorts, rxEndpointIds, rxCapacity, rxSlotLength)
// then setup(...) creates the ring (separately, so that its failures come back as typed errors).
UringDriver::UringDriver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<UringDriver>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 14) {
    ThrowType(env, "UringDriver expects 14 arguments (two batches)");
    return;
  }
  if (!ReadBatchView(info, 0, &tx_, "UringDriver") || !ReadBatchView(info, 7, &rx_, "UringDriver")) return;
  ResizeTransmit();
}

UringDriver::~UringDriver() { Teardown(); }

// Per-message send state, sized for the transmit batch: at most one message per slot.
void UringDriver::ResizeTransmit() {
  tx_runs_.resize(tx_.capacity);
  tx_controls_.resize(tx_.capacity);
  tx_headers_.resize(tx_.capacity);
  tx_iovs_.resize(tx_.capacity);
  tx_addresses_.resize(tx_.capacity);
  tx_results_.assign(tx_.capacity, kPending);
}

void UringDriver::Teardown() {
  if (ring_ready_) {
    // Closing the ring cancels every request still armed; with DEFER_TASKRUN no completion runs in
    // this process afterwards, so the buffers can go once the ring is gone.
    io_uring_queue_exit(&ring_);
    ring_ready_ = false;
  }
  for (const Endpoint& endpoint : endpoints_) {
    if (endpoint.fd >= 0) close(endpoint.fd);
  }
  endpoints_.clear();
  if (buf_ring_ != nullptr) munmap(buf_ring_, buf_ring_mapped_);
  buf_ring_ = nullptr;
  if (buffers_ != nullptr) munmap(buffers_, buffers_mapped_);
  buffers_ = nullptr;
}

UringDriver::Endpoint* UringDriver::Find(int32_t id) {
  if (last_found_ < endpoints_.size() && endpoints_[last_found_].id == id) return &endpoints_[last_found_];
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i].id == id) {
      last_found_ = i;
      return &endpoints_[i];
    }
  }
  return nullptr;
}

void UringDriver::Record(int error, const char* op, int32_t endpoint_id, std::string detail) {
  last_detail_ = std::move(detail);
  last_errno_ = error;
  last_op_ = op;
  last_endpoint_id_ = endpoint_id;
  errors_++;
}

// Tries the setup flags from most to least capable; EINVAL means "this kernel lacks a flag", any
// other error (EPERM from io_uring_disabled or a seccomp filter, ENOSYS, ENOMEM) is final.
int UringDriver::SetupRing(uint32_t sq_entries, uint32_t cq_entries, bool sqpoll, uint32_t sq_idle_ms,
                           const char** failed) {
  const unsigned base = IORING_SETUP_CQSIZE | IORING_SETUP_SUBMIT_ALL;
  std::vector<unsigned> ladder;
  if (sqpoll) {
    ladder = {base | IORING_SETUP_SQPOLL | IORING_SETUP_SINGLE_ISSUER, base | IORING_SETUP_SQPOLL,
              IORING_SETUP_CQSIZE | IORING_SETUP_SQPOLL};
  } else {
    ladder = {base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
              base | IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG,
              base | IORING_SETUP_COOP_TASKRUN | IORING_SETUP_TASKRUN_FLAG, IORING_SETUP_CQSIZE};
  }
  int result = -EINVAL;
  for (size_t i = 0; i < ladder.size(); i++) {
    io_uring_params params{};
    params.flags = ladder[i];
    params.cq_entries = cq_entries;
    if (sqpoll) params.sq_thread_idle = sq_idle_ms;
    result = io_uring_queue_init_params(sq_entries, &ring_, &params);
    if (result == 0) {
      setup_flags_ = params.flags;
      kernel_features_ = params.features;
      sq_entries_ = params.sq_entries;
      cq_entries_ = params.cq_entries;
      if (i > 0) fallbacks_.push_back(sqpoll ? "SQPOLL without SINGLE_ISSUER/SUBMIT_ALL (refused by the kernel)"
                                             : "no DEFER_TASKRUN (refused by the kernel): COOP_TASKRUN or plain");
      return 0;
    }
    if (result != -EINVAL) break;
  }
  *failed = "io_uring_setup";
  return result;
}

// Maps the buffers and the ring that hands them to the kernel, and registers the ring (liburing 2.3
// has no io_uring_setup_buf_ring, so the ring memory is mapped here).
int UringDriver::SetupBufferRing() {
  buf_ring_mapped_ = static_cast<size_t>(buffer_count_) * sizeof(io_uring_buf);
  void* ring = mmap(nullptr, buf_ring_mapped_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (ring == MAP_FAILED) return -errno;
  buf_ring_ = static_cast<io_uring_buf_ring*>(ring);
  io_uring_buf_ring_init(buf_ring_);
  io_uring_buf_reg reg{};
  reg.ring_addr = reinterpret_cast<uint64_t>(buf_ring_);
  reg.ring_entries = buffer_count_;
  reg.bgid = kBufferGroup;
  int result = io_uring_register_buf_ring(&ring_, &reg, 0);
  if (result != 0) {
    munmap(buf_ring_, buf_ring_mapped_);
    buf_ring_ = nullptr;
    return result;
  }
  const int mask = io_uring_buf_ring_mask(buffer_count_);
  for (uint32_t bid = 0; bid < buffer_count_; bid++) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(bid) * buffer_bytes_, buffer_bytes_,
                          static_cast<unsigned short>(bid), mask, static_cast<int>(bid));
  }
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(buffer_count_));
  return 0;
}

// Arms a multishot recvmsg on a throwaway socket and sends it one datagram: multishot works if the
// completion carries a buffer and IORING_CQE_F_MORE. Kernels without it fail the request with
// EINVAL. Bounded by a 500 ms wait.
bool UringDriver::ProbeMultishot() {
  multishot_probed_ = true;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof(address);
  bool works = false;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0 &&
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) == 0) {
    io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
    if (sqe != nullptr) {
      io_uring_prep_recvmsg_multishot(sqe, fd, &multishot_header_, 0);
      sqe->flags |= IOSQE_BUFFER_SELECT;
      sqe->buf_group = kBufferGroup;
      io_uring_sqe_set_data64(sqe, UserData(kProbe, 0, 0));
      io_uring_submit(&ring_);
      const char ping = 'p';
      sendto(fd, &ping, 1, 0, reinterpret_cast<sockaddr*>(&address), sizeof(address));
      bool done = false;
      bool cancelled = false;
      // Bounded: at most 8 completions or waits.
      for (int round = 0; round < 8 && !done; round++) {
        __kernel_timespec timeout{0, 100'000'000};
        io_uring_cqe* cqe = nullptr;
        int wait = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
        if (wait < 0 || cqe == nullptr) {
          if (!cancelled) {
            // No datagram seen: cancel and keep reading until the request's final completion.
            io_uring_sqe* cancel = io_uring_get_sqe(&ring_);
            if (cancel == nullptr) break;
            io_uring_prep_cancel64(cancel, UserData(kProbe, 0, 0), 0);
            io_uring_sqe_set_data64(cancel, UserData(kCancel, 0, 0));
            cancelled = true;
          }
          continue;
        }
        const uint64_t data = io_uring_cqe_get_data64(cqe);
        const int result = cqe->res;
        const uint32_t flags = cqe->flags;
        io_uring_cqe_seen(&ring_, cqe);
        if (KindOf(data) != kProbe) continue;
        if (result > 0 && (flags & IORING_CQE_F_BUFFER) != 0) {
          works = (flags & IORING_CQE_F_MORE) != 0;
          RecycleBuffer(flags >> IORING_CQE_BUFFER_SHIFT);
          FlushRecycled();
        }
        if ((flags & IORING_CQE_F_MORE) != 0 && !cancelled) {
          io_uring_sqe* cancel = io_uring_get_sqe(&ring_);
          if (cancel == nullptr) break;
          io_uring_prep_cancel64(cancel, UserData(kProbe, 0, 0), 0);
          io_uring_sqe_set_data64(cancel, UserData(kCancel, 0, 0));
          cancelled = true;
        }
        if ((flags & IORING_CQE_F_MORE) == 0) done = true;
      }
      // Drain the cancel's own completion (it may come before or after the request's last one).
      io_uring_submit_and_get_events(&ring_);
      io_uring_cqe* cqes[8];
      unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, 8);
      io_uring_cq_advance(&ring_, n);
      if (!done) works = false;
    }
  }
  close(fd);
  return works;
}

// setup(sqEntries, cqEntries, sqpoll, sqThreadIdleMs, sendZc, forceSingleShotRecv, bufferCount, gso, gro)
//   -> features() or an error object. gso: UDP_SEGMENT sends where the socket accepts them; gro:
// UDP_GRO receives (multishot only: each provided buffer then holds a 64 KiB coalesced receive).
Napi::Value UringDriver::Setup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (ring_ready_) return SyscallError(env, EALREADY, "io_uring_setup");
  uint32_t sq_entries = 0, cq_entries = 0, sq_idle_ms = 0, buffer_count = 0;
  if (info.Length() != 9 || !info[0].IsNumber() || !info[1].IsNumber() || !info[3].IsNumber() ||
      !info[6].IsNumber()) {
    ThrowType(env, "setup(sqEntries, cqEntries, sqpoll, sqThreadIdleMs, sendZc, forceSingleShotRecv, bufferCount, gso, gro)");
    return env.Undefined();
  }
  // Bounded sizes: the SQ must hold a whole transmit batch's worth of links in a few chunks, the CQ
  // absorbs bursts of receive completions between polls; io_uring itself caps the SQ at 32768.
  if (!Uint32Arg(info, 0, 8, 4096, &sq_entries) || !IsPowerOfTwo(sq_entries)) {
    return SyscallError(env, EINVAL, "io_uring_setup(sqEntries)", "sqEntries must be a power of two in 8..4096");
  }
  if (!Uint32Arg(info, 1, sq_entries, 65536, &cq_entries) || !IsPowerOfTwo(cq_entries)) {
    return SyscallError(env, EINVAL, "io_uring_setup(cqEntries)", "cqEntries must be a power of two in sqEntries..65536");
  }
  if (!Uint32Arg(info, 3, 0, 60000, &sq_idle_ms)) {
    return SyscallError(env, EINVAL, "io_uring_setup(sqThreadIdleMs)", "sqThreadIdleMs must be an integer in 0..60000");
  }
  if (!Uint32Arg(info, 6, 16, 32768, &buffer_count) || !IsPowerOfTwo(buffer_count)) {
    return SyscallError(env, EINVAL, "io_uring_register_buf_ring(bufferCount)",
                   "bufferCount must be a power of two in 16..32768");
  }
  const bool sqpoll = info[2].ToBoolean().Value();
  const bool want_zc = info[4].ToBoolean().Value();
  const bool force_single = info[5].ToBoolean().Value();
  want_gso_ = info[7].ToBoolean().Value();
  want_gro_ = info[8].ToBoolean().Value() && !force_single;

  const char* failed = "io_uring_setup";
  int result = SetupRing(sq_entries, cq_entries, sqpoll, sq_idle_ms, &failed);
  if (result != 0) return SyscallError(env, -result, failed);
  ring_ready_ = true;
  sqpoll_ = (setup_flags_ & IORING_SETUP_SQPOLL) != 0;
  sq_idle_ms_ = sqpoll_ ? sq_idle_ms : 0;
  defer_taskrun_ = (setup_flags_ & IORING_SETUP_DEFER_TASKRUN) != 0;
  taskrun_flag_ = (setup_flags_ & IORING_SETUP_TASKRUN_FLAG) != 0;

  io_uring_probe* probe = io_uring_get_probe_ring(&ring_);
  if (probe == nullptr) {
    Teardown();
    return SyscallError(env, ENOSYS, "io_uring_register(PROBE)");
  }
  sendmsg_supported_ = io_uring_opcode_supported(probe, IORING_OP_SENDMSG) != 0;
  recvmsg_supported_ = io_uring_opcode_supported(probe, IORING_OP_RECVMSG) != 0;
  cancel_supported_ = io_uring_opcode_supported(probe, IORING_OP_ASYNC_CANCEL) != 0;
  send_zc_supported_ = io_uring_opcode_supported(probe, IORING_OP_SENDMSG_ZC) != 0;
  io_uring_free_probe(probe);
  if (!sendmsg_supported_ || !recvmsg_supported_ || !cancel_supported_) {
    Teardown();
    return SyscallError(env, ENOSYS, "io_uring_register(PROBE)", "the kernel's io_uring lacks SENDMSG, RECVMSG or ASYNC_CANCEL");
  }
  send_zc_ = want_zc && send_zc_supported_;
  if (want_zc && !send_zc_supported_) fallbacks_.push_back("SENDMSG_ZC missing: plain SENDMSG");

  buffer_count_ = buffer_count;
  // With GRO a buffer must take a whole coalesced receive (up to 64 KiB) and its UDP_GRO cmsg;
  // anything shorter would come back MSG_TRUNC with segments lost.
  const uint32_t payload_bytes = want_gro_ && rx_.slot_length < kGroBytesMax ? kGroBytesMax : rx_.slot_length;
  buffer_bytes_ = kRecvHeaderBytes + static_cast<uint32_t>(sizeof(UdpControl)) + payload_bytes;
  // Round each buffer to 64 bytes so that payloads start cache-line aligned in the single-shot case.
  buffer_bytes_ = (buffer_bytes_ + 63u) & ~63u;
  buffers_mapped_ = static_cast<size_t>(buffer_count_) * buffer_bytes_;
  void* memory = mmap(nullptr, buffers_mapped_, PROT_READ | PROT_WRITE, MAP_ANONYMOUS | MAP_PRIVATE, -1, 0);
  if (memory == MAP_FAILED) {
    int error = errno;
    Teardown();
    return SyscallError(env, error, "mmap(receive buffers)");
  }
  buffers_ = static_cast<uint8_t*>(memory);
  received_.resize(buffer_count_);

  multishot_header_ = msghdr{};
  multishot_header_.msg_namelen = sizeof(sockaddr_in);
  multishot_header_.msg_controllen = want_gro_ ? sizeof(UdpControl) : 0;

  if (force_single) {
    fallbacks_.push_back("forceSingleShotRecv: single-shot recvmsg re-armed per buffer");
  } else {
    result = SetupBufferRing();
    if (result == 0) {
      buffer_ring_ = true;
      multishot_ = ProbeMultishot();
      if (!multishot_) {
        // The ring's buffers must be ours again before single-shot requests use them.
        io_uring_unregister_buf_ring(&ring_, kBufferGroup);
        munmap(buf_ring_, buf_ring_mapped_);
        buf_ring_ = nullptr;
        buffer_ring_ = false;
        fallbacks_.push_back("multishot recvmsg refused by the kernel: single-shot recvmsg");
        if (want_gro_) fallbacks_.push_back("no multishot: no UDP_GRO (single-shot buffers are slot-sized)");
        want_gro_ = false;
      }
    } else {
      fallbacks_.push_back("io_uring_register_buf_ring refused: single-shot recvmsg");
      if (want_gro_) fallbacks_.push_back("no multishot: no UDP_GRO (single-shot buffers are slot-sized)");
      want_gro_ = false;
    }
  }
  if (!multishot_) {
    single_.resize(buffer_count_);
    free_bids_.clear();
    for (uint32_t bid = buffer_count_; bid > 0; bid--) {
      single_[bid - 1].endpoint_id = -1;
      free_bids_.push_back(bid - 1);
    }
    single_per_endpoint_ = buffer_count_ >= 64 ? 16 : buffer_count_ / 4;
  }
  return Features(info);
}

Napi::Value UringDriver::Features(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  Napi::Array flags = Napi::Array::New(env);
  uint32_t n = 0;
  for (const FlagName& f : kSetupFlagNames) {
    if ((setup_flags_ & f.flag) != 0) flags.Set(n++, Napi::String::New(env, f.name));
  }
  Napi::Array features = Napi::Array::New(env);
  n = 0;
  for (const FlagName& f : kFeatureNames) {
    if ((kernel_features_ & f.flag) != 0) features.Set(n++, Napi::String::New(env, f.name));
  }
  Napi::Array fallbacks = Napi::Array::New(env);
  for (uint32_t i = 0; i < fallbacks_.size(); i++) fallbacks.Set(i, Napi::String::New(env, fallbacks_[i]));
  Napi::Object opcodes = Napi::Object::New(env);
  opcodes.Set("sendmsg", Napi::Boolean::New(env, sendmsg_supported_));
  opcodes.Set("recvmsg", Napi::Boolean::New(env, recvmsg_supported_));
  opcodes.Set("asyncCancel", Napi::Boolean::New(env, cancel_supported_));
  opcodes.Set("sendmsgZc", Napi::Boolean::New(env, send_zc_supported_));
  result.Set("setupFlags", flags);
  result.Set("kernelFeatures", features);
  result.Set("opcodes", opcodes);
  result.Set("sqEntries", Napi::Number::New(env, sq_entries_));
  result.Set("cqEntries", Napi::Number::New(env, cq_entries_));
  result.Set("sqpoll", Napi::Boolean::New(env, sqpoll_));
  result.Set("sqThreadIdleMs", Napi::Number::New(env, sq_idle_ms_));
  result.Set("singleIssuer", Napi::Boolean::New(env, (setup_flags_ & IORING_SETUP_SINGLE_ISSUER) != 0));
  result.Set("deferTaskrun", Napi::Boolean::New(env, defer_taskrun_));
  result.Set("multishotRecv", Napi::Boolean::New(env, multishot_));
  result.Set("multishotProbed", Napi::Boolean::New(env, multishot_probed_));
  result.Set("bufferRing", Napi::Boolean::New(env, buffer_ring_));
  result.Set("bufferCount", Napi::Number::New(env, buffer_count_));
  result.Set("bufferBytes", Napi::Number::New(env, buffer_bytes_));
  // Mapped receive memory (anonymous, so resident only as far as datagrams have touched it).
  result.Set("bufferMemoryBytes", Napi::Number::New(env, static_cast<double>(buffers_mapped_ + buf_ring_mapped_)));
  result.Set("gso", Napi::Boolean::New(env, want_gso_));
  result.Set("gro", Napi::Boolean::New(env, want_gro_));
  result.Set("recvMode", Napi::String::New(env, multishot_ ? "multishot" : "single-shot"));
  result.Set("sendZc", Napi::Boolean::New(env, send_zc_));
  result.Set("linkedSends", Napi::Boolean::New(env, false));
  result.Set("fallbacks", fallbacks);
  return result;
}

// An SQE, submitting what is queued first if the SQ is full (bounded: one submit frees the SQ).
io_uring_sqe* UringDriver::Sqe() {
  io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
  if (sqe != nullptr) return sqe;
  io_uring_submit(&ring_);
  return io_uring_get_sqe(&ring_);
}

bool UringDriver::ArmReceive(Endpoint* endpoint) {
  io_uring_sqe* sqe = Sqe();
  if (sqe == nullptr) return false;
  // MSG_TRUNC: io_uring_recvmsg_out.payloadlen is the datagram's real length, so a datagram longer
  // than a slot is reported with its length (its payload is never copied: see Receive).
  io_uring_prep_recvmsg_multishot(sqe, endpoint->fd, &multishot_header_, MSG_TRUNC);
  sqe->flags |= IOSQE_BUFFER_SELECT;
  sqe->buf_group = kBufferGroup;
  io_uring_sqe_set_data64(sqe, UserData(kRecvMulti, 0, static_cast<uint32_t>(endpoint->id)));
  endpoint->armed = true;
  rearms_++;
  return true;
}

bool UringDriver::ArmSingleShot(uint32_t bid, const Endpoint& endpoint) {
  io_uring_sqe* sqe = Sqe();
  if (sqe == nullptr) return false;
  SingleShot& s = single_[bid];
  s.endpoint_id = endpoint.id;
  s.iov.iov_base = buffers_ + static_cast<size_t>(bid) * buffer_bytes_;
  s.iov.iov_len = rx_.slot_length;
  s.header = msghdr{};
  s.header.msg_name = &s.from;
  s.header.msg_namelen = sizeof(s.from);
  s.header.msg_iov = &s.iov;
  s.header.msg_iovlen = 1;
  // MSG_TRUNC: the result is the datagram's real length, so an oversize one is detected and dropped.
  io_uring_prep_recvmsg(sqe, endpoint.fd, &s.header, MSG_TRUNC);
  io_uring_sqe_set_data64(sqe, UserData(kRecvSingle, bid, static_cast<uint32_t>(endpoint.id)));
  return true;
}

// Returns a multishot buffer to the kernel's ring (made visible by FlushRecycled), or re-arms a
// single-shot buffer on its socket (or frees it if the socket is gone).
void UringDriver::RecycleBuffer(uint32_t bid) {
  if (buf_ring_ != nullptr) {
    io_uring_buf_ring_add(buf_ring_, buffers_ + static_cast<size_t>(bid) * buffer_bytes_, buffer_bytes_,
                          static_cast<unsigned short>(bid), io_uring_buf_ring_mask(buffer_count_),
                          static_cast<int>(recycled_));
    recycled_++;
    return;
  }
  Endpoint* endpoint = Find(single_[bid].endpoint_id);
  if (endpoint == nullptr || !ArmSingleShot(bid, *endpoint)) {
    single_[bid].endpoint_id = -1;
    free_bids_.push_back(bid);
  }
}

void UringDriver::FlushRecycled() {
  if (recycled_ == 0) return;
  io_uring_buf_ring_advance(buf_ring_, static_cast<int>(recycled_));
  recycled_ = 0;
}

void UringDriver::OnCompletion(const io_uring_cqe* cqe) {
  completions_++;
  const uint64_t data = io_uring_cqe_get_data64(cqe);
  const int32_t result = cqe->res;
  const uint32_t flags = cqe->flags;
  switch (KindOf(data)) {
    case kSend: {
      const uint32_t slot = IdOf(data);
      if (slot >= tx_.capacity) return;
      if ((flags & IORING_CQE_F_NOTIF) != 0) {
        // Zero copy: the kernel no longer needs the slot's bytes.
        if (notifs_pending_ > 0) notifs_pending_--;
        zc_notifications_++;
        return;
      }
      tx_results_[slot] = result;
      if (sends_pending_ > 0) sends_pending_--;
      if ((flags & IORING_CQE_F_MORE) != 0) notifs_pending_++;
      return;
    }
    case kRecvMulti: {
      const int32_t id = static_cast<int32_t>(IdOf(data));
      Endpoint* endpoint = Find(id);
      if (result >= 0 && (flags & IORING_CQE_F_BUFFER) != 0) {
        const uint32_t bid = flags >> IORING_CQE_BUFFER_SHIFT;
        if (endpoint == nullptr || bid >= buffer_count_ || received_count_ >= buffer_count_) {
          if (bid < buffer_count_) RecycleBuffer(bid);
        } else {
          received_[(received_head_ + received_count_) % buffer_count_] = Received{result, flags, bid, id, 0};
          received_count_++;
        }
      } else if (result == -ENOBUFS) {
        // Every buffer is waiting to be copied out: the request ends; the next poll re-arms it.
        no_buffers_++;
      } else if (result < 0 && result != -ECANCELED) {
        Record(-result, "recvmsg(multishot)", id);
      }
      if ((flags & IORING_CQE_F_MORE) == 0 && endpoint != nullptr) endpoint->armed = false;
      return;
    }
    case kRecvSingle: {
      const uint32_t bid = AuxOf(data);
      if (bid >= single_.size()) return;
      const int32_t id = static_cast<int32_t>(IdOf(data));
      if (result >= 0 && Find(id) != nullptr && received_count_ < buffer_count_) {
        received_[(received_head_ + received_count_) % buffer_count_] = Received{result, flags, bid, id, 0};
        received_count_++;
        return;
      }
      if (result < 0 && result != -ECANCELED) Record(-result, "recvmsg", id);
      if (result == -ECANCELED) {
        single_[bid].endpoint_id = -1;
        free_bids_.push_back(bid);
        return;
      }
      RecycleBuffer(bid);
      return;
    }
    case kCancel:
    case kProbe:
      return;
  }
}

// Takes every completion off the CQ, in batches. Bounded: at most twice the CQ's size per call.
void UringDriver::Reap() {
  io_uring_cqe* cqes[kPeekBatch];
  uint32_t budget = cq_entries_ * 2;
  while (budget > 0) {
    const unsigned n = io_uring_peek_batch_cqe(&ring_, cqes, kPeekBatch);
    if (n == 0) break;
    for (unsigned i = 0; i < n; i++) OnCompletion(cqes[i]);
    io_uring_cq_advance(&ring_, n);
    budget = n >= budget ? 0 : budget - n;
  }
  FlushRecycled();
}

// Enters the kernel only when there is something to do there: SQEs to submit (without a poller),
// deferred task work (IORING_SQ_TASKRUN), or a CQ overflow to flush. Without TASKRUN_FLAG the
// kernel cannot say, so an empty CQ always enters.
void UringDriver::EnterIfNeeded() {
  const unsigned sq_flags = IO_URING_READ_ONCE(*ring_.sq.kflags);
  const bool pending_sqes = io_uring_sq_ready(&ring_) > 0;
  const bool overflow = (sq_flags & IORING_SQ_CQ_OVERFLOW) != 0;
  if (sqpoll_) {
    if (pending_sqes) io_uring_submit(&ring_);
    if (overflow) {
      io_uring_get_events(&ring_);
      receive_calls_++;
    }
    return;
  }
  const bool task_work = taskrun_flag_ ? (sq_flags & IORING_SQ_TASKRUN) != 0 : io_uring_cq_ready(&ring_) == 0;
  if (pending_sqes || task_work || overflow) {
    io_uring_submit_and_get_events(&ring_);
    receive_calls_++;
  }
}

// receive() -> datagrams written to the rx batch from slot 0 (its count). An error object (EFAULT)
// instead when a receive batch array is no longer lent (detached): nothing is copied; completions
// stay in the ring's own buffers.
Napi::Value UringDriver::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (const char* lost = LostBatchArray(env, rx_)) {
    Napi::Object error = DetachedError(env, "recvmsg", "receive", lost);
    Record(EFAULT, "recvmsg", -1, error.Get("message").As<Napi::String>().Utf8Value());
    return error;
  }
  if (!ring_ready_) return Napi::Number::New(env, 0);
  EnterIfNeeded();
  Reap();
  uint32_t count = 0;
  // Bounded by received_count_ (at most buffer_count_) and the batch's capacity: each pass either
  // fills a slot, drops a datagram, or takes a buffer off the queue.
  while (received_count_ > 0 && count < rx_.capacity) {
    Received& r = received_[received_head_];
    uint8_t* buffer = buffers_ + static_cast<size_t>(r.bid) * buffer_bytes_;
    const uint8_t* payload = nullptr;
    uint32_t length = 0;
    uint32_t segment = 0;  // UDP_GRO's gso_size: the payload holds datagrams of this size (last shorter)
    uint32_t ip = 0;
    uint16_t port = 0;
    bool truncated = false;
    uint32_t reported = 0;  // the datagram's real length (for a truncation's lastError)
    if (multishot_) {
      io_uring_recvmsg_out* out = io_uring_recvmsg_validate(buffer, r.result, &multishot_header_);
      if (out == nullptr) {
        truncated = true;
      } else {
        const bool coalesced_possible = multishot_header_.msg_controllen != 0;
        length = io_uring_recvmsg_payload_length(out, r.result, &multishot_header_);
        reported = out->payloadlen;
        if (coalesced_possible) {
          // The cmsg area follows the name; validate() checked the header, controllen is the kernel's.
          const uint8_t* control = reinterpret_cast<const uint8_t*>(out + 1) + multishot_header_.msg_namelen;
          const size_t control_length = out->controllen <= multishot_header_.msg_controllen ? out->controllen : 0;
          segment = GroSegment(control, control_length);
          if ((out->flags & MSG_CTRUNC) != 0) {
            // The UDP_GRO cmsg did not fit: the payload cannot be split safely. Dropped, counted.
            control_truncated_++;
            truncated = true;
          }
        }
        if ((out->flags & MSG_TRUNC) != 0 || out->payloadlen > length) truncated = true;
        if (segment == 0 && length > rx_.slot_length) truncated = true;
        payload = static_cast<const uint8_t*>(io_uring_recvmsg_payload(out, &multishot_header_));
        sockaddr_in from{};
        memcpy(&from, io_uring_recvmsg_name(out), sizeof(from));
        ip = ntohl(from.sin_addr.s_addr);
        port = ntohs(from.sin_port);
      }
    } else {
      length = static_cast<uint32_t>(r.result);
      reported = length;
      truncated = length > rx_.slot_length;
      payload = buffer;
      ip = ntohl(single_[r.bid].from.sin_addr.s_addr);
      port = ntohs(single_[r.bid].from.sin_port);
    }
    const bool open = Find(r.endpoint_id) != nullptr;
    if (truncated) {
      RecordTruncated(reported, ip, port, r.endpoint_id);
    } else if (open && (segment == 0 || length <= segment)) {
      memcpy(rx_.bytes + static_cast<size_t>(count) * rx_.slot_length, payload, length);
      rx_.lengths[count] = static_cast<int32_t>(length);
      rx_.ips[count] = ip;
      rx_.ports[count] = port;
      rx_.endpoint_ids[count] = r.endpoint_id;
      count++;
      datagrams_received_++;
    } else if (open) {
      // A GRO-coalesced receive: one slot per segment, each copy bounded by the slot and by the
      // payload the kernel reported. The batch may fill mid-buffer: the rest waits for the next poll.
      if (r.offset == 0) gro_receives_++;
      // Bounded: each pass advances r.offset by at least one byte.
      while (r.offset < length && count < rx_.capacity) {
        const uint32_t remaining = length - r.offset;
        const uint32_t piece = remaining < segment ? remaining : segment;
        const uint8_t* source = payload + r.offset;
        r.offset += piece;
        if (piece > rx_.slot_length) {
          RecordTruncated(piece, ip, port, r.endpoint_id);
          continue;
        }
        memcpy(rx_.bytes + static_cast<size_t>(count) * rx_.slot_length, source, piece);
        rx_.lengths[count] = static_cast<int32_t>(piece);
        rx_.ips[count] = ip;
        rx_.ports[count] = port;
        rx_.endpoint_ids[count] = r.endpoint_id;
        count++;
        datagrams_received_++;
        gro_datagrams_++;
      }
      if (r.offset < length) break;  // the batch is full; this buffer stays at the head
    }
    const uint32_t bid = r.bid;
    received_head_ = (received_head_ + 1) % buffer_count_;
    received_count_--;
    RecycleBuffer(bid);
  }
  FlushRecycled();
  if (multishot_) {
    for (Endpoint& endpoint : endpoints_) {
      if (!endpoint.armed) ArmReceive(&endpoint);
    }
  }
  return Napi::Number::New(env, count);
}

// open(endpointId, bindIp, bindPort, rcvbufBytes, sndbufBytes, ttl, multicastGroupIp, interfaceIp)
//   -> {port, ip, gro, gso, rcvbufBytes, sndbufBytes} or an error object. The socket is opened by
// OpenUdpSocket (udpSocket.h), as the sockets driver opens its own, then handed to the ring.
Napi::Value UringDriver::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  UdpSocketOptions options;
  if (!OpenArgs(info, &id, &options)) return env.Undefined();
  if (!ring_ready_) return SyscallError(env, EBADF, "open", "the io_uring driver is not set up (or was disposed)");
  if (options.group != 0 && (options.group >> 28) != 0xe) return SyscallError(env, EINVAL, "open(multicastGroupIp)");
  if (Find(static_cast<int32_t>(id)) != nullptr) return SyscallError(env, EEXIST, "open");
  if (endpoints_.size() >= kSocketsMax) return SyscallError(env, EMFILE, "open");
  if (!multishot_ && free_bids_.size() < single_per_endpoint_) {
    return SyscallError(env, ENOBUFS, "open(recvmsg buffers)", "every receive buffer is taken: raise bufferCount");
  }
  // A blocking socket: io_uring itself never blocks, but on an O_NONBLOCK socket a single-shot
  // recvmsg completes at once with EAGAIN instead of waiting in the kernel. Sends carry MSG_DONTWAIT
  // (REQ_F_NOWAIT), so a full socket buffer still completes them with EAGAIN.
  options.nonblocking = false;
  const UdpSocket socket = OpenUdpSocket(options);
  if (socket.fd < 0) return SyscallError(env, socket.error, socket.failed);
  // GSO: the kernel answers getsockopt(UDP_SEGMENT) when it can segment. GRO: best effort, as in
  // the sockets driver (a kernel without it delivers one datagram per completion).
  int segment_size = 0;
  socklen_t segment_length = sizeof(segment_size);
  const bool gso = want_gso_ && getsockopt(socket.fd, SOL_UDP, UDP_SEGMENT, &segment_size, &segment_length) == 0;
  const int on = 1;
  const bool gro = want_gro_ && setsockopt(socket.fd, SOL_UDP, UDP_GRO, &on, sizeof(on)) == 0;
  endpoints_.push_back(Endpoint{static_cast<int32_t>(id), socket.fd, false, gso, gro});
  last_found_ = 0;
  Endpoint& endpoint = endpoints_.back();
  if (multishot_) {
    ArmReceive(&endpoint);
  } else {
    for (uint32_t k = 0; k < single_per_endpoint_ && !free_bids_.empty(); k++) {
      const uint32_t bid = free_bids_.back();
      free_bids_.pop_back();
      if (!ArmSingleShot(bid, endpoint)) {
        free_bids_.push_back(bid);
        break;
      }
    }
  }
  io_uring_submit(&ring_);
  Napi::Object result = Napi::Object::New(env);
  SetOpenResult(result, socket);
  result.Set("gro", Napi::Boolean::New(env, gro));
  result.Set("gso", Napi::Boolean::New(env, gso));
  return result;
}

// close(endpointId) -> true if it was open. Cancels the socket's receive requests (they hold the
// file open) and closes it; completions still in flight for it are dropped when they arrive.
Napi::Value UringDriver::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  if (!Uint32Arg(info, 0, 0, 0x7fffffff, &id)) {
    ThrowType(env, "close(endpointId) expects an integer");
    return env.Undefined();
  }
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i].id != static_cast<int32_t>(id)) continue;
    if (ring_ready_) {
      io_uring_sqe* sqe = Sqe();
      if (sqe != nullptr) {
        io_uring_prep_cancel_fd(sqe, endpoints_[i].fd, IORING_ASYNC_CANCEL_ALL);
        io_uring_sqe_set_data64(sqe, UserData(kCancel, 0, id));
        io_uring_submit(&ring_);
      }
    }
    if (close(endpoints_[i].fd) != 0) Record(errno, "close", endpoints_[i].id);
    endpoints_.erase(endpoints_.begin() + static_cast<std::ptrdiff_t>(i));
    last_found_ = 0;
    return Napi::Boolean::New(env, true);
  }
  return Napi::Boolean::New(env, false);
}

Napi::Value UringDriver::CloseAll(const Napi::CallbackInfo& info) {
  Teardown();
  return info.Env().Undefined();
}

// setTransmit(bytes, lengths, ips, ports, endpointIds, capacity, slotLength): serve a new transmit
// batch from now on (grown slots). Safe between calls: send() waits for every completion (and
// zero-copy notification) of its slots before it returns, so the kernel holds no old slot.
Napi::Value UringDriver::SetTransmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchView fresh;
  if (info.Length() != 7 || !ReadBatchView(info, 0, &fresh, "setTransmit")) {
    if (!env.IsExceptionPending()) ThrowType(env, "setTransmit expects 7 arguments (one batch)");
    return env.Undefined();
  }
  tx_ = std::move(fresh);
  ResizeTransmit();
  return env.Undefined();
}

// A datagram longer than a receive slot: dropped, counted, and kept as lastError (EMSGSIZE, naming
// the endpoint, the length and the slot length).
void UringDriver::RecordTruncated(uint32_t length, uint32_t ip, uint16_t port, int32_t endpoint_id) {
  truncated_++;
  char detail[200];
  snprintf(detail, sizeof(detail),
           "a datagram of %u bytes from %u.%u.%u.%u:%u does not fit a receive slot of %u bytes: dropped (truncated)", length,
           ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port, rx_.slot_length);
  Record(EMSGSIZE, multishot_ ? "recvmsg(multishot)" : "recvmsg", endpoint_id, detail);
}

// send(start, end) -> slots consumed from `start`: sent, or dropped after a hard error (counted, see
// lastError()). Stops early, with the rest unsent, when a socket buffer is full (EAGAIN/ENOBUFS).
// An error object (EFAULT) instead when a transmit batch array is no longer lent (detached).
Napi::Value UringDriver::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t start = 0, end = 0;
  if (!Uint32Arg(info, 0, 0, tx_.capacity, &start) || !Uint32Arg(info, 1, start, tx_.capacity, &end)) {
    Napi::RangeError::New(env, "send(start, end) expects 0 <= start <= end <= capacity").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Before anything reads a slot (or hands the kernel a pointer into one): the memory must be ours.
  if (const char* lost = LostBatchArray(env, tx_)) {
    Napi::Object error = DetachedError(env, "sendmsg", "transmit", lost);
    Record(EFAULT, "sendmsg", -1, error.Get("message").As<Napi::String>().Utf8Value());
    return error;
  }
  for (uint32_t i = start; i < end; i++) {
    const int32_t length = tx_.lengths[i];
    if (length <= 0 || static_cast<uint32_t>(length) > tx_.slot_length) {
      Napi::RangeError::New(env, "send: a slot length is outside 1..slotLength").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  if (!ring_ready_) return Napi::Number::New(env, 0);
  // Receive requests to re-arm go in with the sends (one enter for both).
  uint32_t slot = start;
  // Bounded: every pass consumes at least one slot or returns (a pass that only turns GSO off for a
  // socket consumes none, but GSO goes off at most once per socket).
  while (slot < end) {
    if (Find(tx_.endpoint_ids[slot]) == nullptr) {
      Record(EBADF, "sendmsg", tx_.endpoint_ids[slot]);
      dropped_++;
      slot++;
      continue;
    }
    // One linked chain of messages (GSO runs, pair-run halves or single datagrams) over
    // consecutive slots with open endpoints, as many as the SQ has room for.
    uint32_t room = io_uring_sq_space_left(&ring_);
    if (room < 2) {
      io_uring_submit(&ring_);
      room = io_uring_sq_space_left(&ring_);
      if (room == 0) break;
    }
    uint32_t messages = 0;
    uint32_t iovs = 0;
    uint32_t next = slot;
    // Bounded: each step covers at least one slot and one SQE.
    while (next < end && messages < room) {
      Endpoint* endpoint = Find(tx_.endpoint_ids[next]);
      if (endpoint == nullptr) break;
      const uint32_t pairs = endpoint->gso && messages + 2 <= room ? PairRunLength(tx_, next, end) : 0;
      uint32_t covered = 0;
      if (pairs >= 2) {
        // The full datagrams, then the tails; the pair run is complete only once both are sent.
        tx_runs_[messages] = GsoRun{next, pairs, 2, static_cast<uint32_t>(tx_.lengths[next]), 0};
        tx_runs_[messages + 1] = GsoRun{next + 1, pairs, 2, static_cast<uint32_t>(tx_.lengths[next + 1]), 2 * pairs};
        covered = 2 * pairs;
        pair_runs_++;
      } else {
        covered = BuildGsoRun(tx_, next, end, endpoint->gso, &tx_runs_[messages]);
      }
      const uint32_t made = pairs >= 2 ? 2 : 1;
      for (uint32_t k = 0; k < made; k++) {
        const uint32_t m = messages + k;
        FillGsoHeader(tx_, tx_runs_[m], &tx_headers_[m], &tx_addresses_[m], &tx_iovs_[iovs], &tx_controls_[m]);
        iovs += tx_runs_[m].slots;
        io_uring_sqe* sqe = io_uring_get_sqe(&ring_);
        // MSG_DONTWAIT: a full socket buffer completes with EAGAIN instead of parking the request.
        if (send_zc_) {
          io_uring_prep_sendmsg_zc(sqe, endpoint->fd, &tx_headers_[m], MSG_DONTWAIT);
        } else {
          io_uring_prep_sendmsg(sqe, endpoint->fd, &tx_headers_[m], MSG_DONTWAIT);
        }
        io_uring_sqe_set_data64(sqe, UserData(kSend, 0, m));
        tx_results_[m] = kPending;
      }
      messages += made;
      next += covered;
    }
    if (messages == 0) break;
    sends_pending_ = messages;
    // Wait for the chain (and zero-copy notifications): bounded by kSendWaitNsMax.
    long long waited_ns = 0;
    while (sends_pending_ > 0 || notifs_pending_ > 0) {
      __kernel_timespec timeout{0, 50'000'000};
      io_uring_cqe* cqe = nullptr;
      // Unlinked MSG_DONTWAIT sends are issued inline, in order, by the submit itself, so their
      // completions are there when it returns: one enter per batch. (IOSQE_IO_LINK chains were
      // measured 3-20x slower here: each link is its own task-work hop, and with DEFER_TASKRUN a
      // wait for more than one CQE slept until its timeout.)
      int result = io_uring_submit_and_wait_timeout(&ring_, &cqe, 1, &timeout, nullptr);
      send_calls_++;
      if (result == -ETIME) {
        waited_ns += 50'000'000;
        if (waited_ns >= kSendWaitNsMax) break;
      } else if (result < 0 && result != -EINTR && result != -EAGAIN && result != -EBUSY) {
        Record(-result, "io_uring_enter(sendmsg)", -1);
        break;
      }
      Reap();
    }
    if (sends_pending_ > 0 || notifs_pending_ > 0) {
      // The kernel still holds slots JavaScript is about to reuse: nothing safe is left but to stop
      // using this ring for sends. Report it; never reached on a working kernel.
      Record(ETIME, "io_uring_enter(sendmsg)", -1);
      sends_pending_ = 0;
      notifs_pending_ = 0;
      ring_ready_ = false;
      return Napi::Number::New(env, slot - start);
    }
    // Results in slot order. Every message was tried: one after a refused one may have gone too,
    // and is sent again with the rest (a duplicate, which the protocol ignores).
    for (uint32_t m = 0; m < messages; m++) {
      const GsoRun& run = tx_runs_[m];
      const int32_t result = tx_results_[m];
      if (result >= 0) {
        // A pair run's first half (span 0) completes nothing until its tails have gone too.
        slot += run.span;
        datagrams_sent_ += run.slots;
        messages_sent_++;
        if (run.segment != 0) gso_sends_++;
        continue;
      }
      if (result == -EAGAIN || result == -EWOULDBLOCK || result == -ENOBUFS) {
        // The rest waits (a pair run whose full datagrams went repeats them: duplicates the
        // protocol ignores).
        would_block_++;
        return Napi::Number::New(env, slot - start);
      }
      if (result == -ECANCELED) break;  // not expected without links: resubmit from here
      Endpoint* endpoint = Find(tx_.endpoint_ids[run.first_slot]);
      if (run.segment != 0 && endpoint != nullptr && (result == -EINVAL || result == -EIO || result == -EMSGSIZE)) {
        // The path cannot segment (a device MTU smaller than the run's segment, no checksum
        // offload): this socket's datagrams go one by one from now on; resubmit from here.
        endpoint->gso = false;
        Record(-result, send_zc_ ? "sendmsg_zc(UDP_SEGMENT)" : "sendmsg(UDP_SEGMENT)", endpoint->id);
        break;
      }
      // A hard error (ECONNREFUSED from an earlier ICMP, ENETUNREACH, EPERM): drop this message's
      // datagrams (a pair run's first half: both halves), count them, and go on.
      Record(-result, send_zc_ ? "sendmsg_zc" : "sendmsg", tx_.endpoint_ids[run.first_slot]);
      const uint32_t lost = run.span != 0 ? run.span : 2 * run.slots;
      dropped_ += run.span != 0 && run.stride == 2 ? run.slots : lost;
      slot += lost;
      break;
    }
  }
  return Napi::Number::New(env, slot - start);
}

Napi::Value UringDriver::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("datagramsSent", Napi::Number::New(env, static_cast<double>(datagrams_sent_)));
  result.Set("datagramsReceived", Napi::Number::New(env, static_cast<double>(datagrams_received_)));
  result.Set("sendCalls", Napi::Number::New(env, static_cast<double>(send_calls_)));
  result.Set("receiveCalls", Napi::Number::New(env, static_cast<double>(receive_calls_)));
  result.Set("gsoSends", Napi::Number::New(env, static_cast<double>(gso_sends_)));
  result.Set("groReceives", Napi::Number::New(env, static_cast<double>(gro_receives_)));
  result.Set("groDatagrams", Napi::Number::New(env, static_cast<double>(gro_datagrams_)));
  result.Set("messagesSent", Napi::Number::New(env, static_cast<double>(messages_sent_)));
  result.Set("pairRuns", Napi::Number::New(env, static_cast<double>(pair_runs_)));
  result.Set("controlTruncated", Napi::Number::New(env, static_cast<double>(control_truncated_)));
  result.Set("wouldBlock", Napi::Number::New(env, static_cast<double>(would_block_)));
  result.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_)));
  result.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
  result.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
  result.Set("sockets", Napi::Number::New(env, static_cast<double>(endpoints_.size())));
  result.Set("completions", Napi::Number::New(env, static_cast<double>(completions_)));
  result.Set("receiveArms", Napi::Number::New(env, static_cast<double>(rearms_)));
  result.Set("noBuffers", Napi::Number::New(env, static_cast<double>(no_buffers_)));
  result.Set("zcNotifications", Napi::Number::New(env, static_cast<double>(zc_notifications_)));
  return result;
}

Napi::Value UringDriver::LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (last_errno_ == 0) return env.Null();
  Napi::Object result = SyscallError(env, last_errno_, last_op_, last_detail_.empty() ? nullptr : last_detail_.c_str());
  result.Set("endpointId", Napi::Number::New(env, last_endpoint_id_));
  return result;
}

}  // namespace petrel
