// Petrel's sockets driver: non-blocking IPv4 UDP sockets moved in batches. One call from
// JavaScript sends a whole TransmitBatch (sendmmsg, with UDP GSO for runs of equal-size datagrams
// to one destination) or fills a whole ReceiveBatch (recvmmsg, with UDP GRO where the kernel has
// it: coalesced receives are split back into one slot per datagram by the gso_size cmsg).
//
// Memory: the batches' typed arrays are handed over once, at construction; the driver keeps a
// reference to each and reads and writes them in place. A reference does not stop the application
// from detaching (transferring) an ArrayBuffer, after which its memory can be freed: every send and
// receive first checks that each array still lends the same memory (LostBatchArray) and otherwise
// returns a typed EFAULT error without touching it. No datagram is
// copied on the send side (each slot is one iovec); on the receive side a datagram is copied once
// from the GRO staging area into its slot, always after checking its length against the slot.
//
// Errors: C++ exceptions are off. Misuse from JavaScript (wrong argument types, impossible sizes)
// throws a JavaScript TypeError/RangeError; every failing system call is returned as a plain
// object {errno, code, syscall, message} (code is the errno name, e.g. "EADDRINUSE") that the
// TypeScript side turns into a DriverError.
#include "sockets.h"
#include "napiCommon.h"
#include "udpSocket.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <cstdio>
#include <string>
#include <utility>
#include <vector>


namespace petrel {
namespace {

using namespace petrel::native;

// Messages handed to one sendmmsg/recvmmsg call.
constexpr uint32_t kMessagesMax = 64;
// GRO staging: receives of up to 64 KiB each, split into slots afterwards.
constexpr uint32_t kStagingMessages = 16;
constexpr uint32_t kStagingBytes = 65536;
constexpr uint32_t kSocketsMax = 1024;

}  // namespace

Napi::Object SocketsDriver::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "SocketsDriver", {
      InstanceMethod("open", &SocketsDriver::Open),
      InstanceMethod("close", &SocketsDriver::Close),
      InstanceMethod("closeAll", &SocketsDriver::CloseAll),
      InstanceMethod("send", &SocketsDriver::Send),
      InstanceMethod("receive", &SocketsDriver::Receive),
      InstanceMethod("stats", &SocketsDriver::Stats),
      InstanceMethod("lastError", &SocketsDriver::LastError),
      InstanceMethod("wait", &SocketsDriver::Wait),
      InstanceMethod("armWake", &SocketsDriver::ArmWake),
      InstanceMethod("disarmWake", &SocketsDriver::DisarmWake),
      InstanceMethod("setTransmit", &SocketsDriver::SetTransmit),
  });
  exports.Set("SocketsDriver", constructor);
  exports.Set("probeUdpOffload", Napi::Function::New(env, ProbeUdpOffload, "probeUdpOffload"));
  return exports;
}

// probeUdpOffload() -> {gso, gro}: whether this kernel accepts UDP_SEGMENT and UDP_GRO.
Napi::Value SocketsDriver::ProbeUdpOffload(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  bool gso = false;
  bool gro = false;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd >= 0) {
    int value = 0;
    socklen_t length = sizeof(value);
    gso = getsockopt(fd, SOL_UDP, UDP_SEGMENT, &value, &length) == 0;
    gro = SetIntOption(fd, SOL_UDP, UDP_GRO, 1);
    close(fd);
  }
  Napi::Object result = Napi::Object::New(env);
  result.Set("gso", Napi::Boolean::New(env, gso));
  result.Set("gro", Napi::Boolean::New(env, gro));
  return result;
}

// new SocketsDriver(txBytes, txLengths, txIps, txPorts, txEndpointIds, txCapacity, txSlotLength,
//                   rxBytes, rxLengths, rxIps, rxPorts, rxEndpointIds, rxCapacity, rxSlotLength,
//                   useGso, useGro)
SocketsDriver::SocketsDriver(const Napi::CallbackInfo& info) : Napi::ObjectWrap<SocketsDriver>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 16) {
    ThrowType(env, "SocketsDriver expects 16 arguments (two batches, two flags)");
    return;
  }
  if (!ReadBatchView(info, 0, &tx_, "SocketsDriver") || !ReadBatchView(info, 7, &rx_, "SocketsDriver")) return;
  use_gso_ = info[14].ToBoolean().Value();
  use_gro_ = info[15].ToBoolean().Value();
  staging_.resize(use_gro_ ? static_cast<size_t>(kStagingMessages) * kStagingBytes : 0);
  staged_.resize(kStagingMessages);
}

// Runs when JavaScript drops the driver without dispose(): close what is still open. A failing
// close here has nowhere to be reported (the object is being collected), so it is ignored.
SocketsDriver::~SocketsDriver() {
  for (const Endpoint& endpoint : endpoints_) {
    if (endpoint.fd >= 0) close(endpoint.fd);
  }
}

SocketsDriver::Endpoint* SocketsDriver::Find(int32_t id) {
  if (last_found_ < endpoints_.size() && endpoints_[last_found_].id == id) return &endpoints_[last_found_];
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i].id == id) {
      last_found_ = i;
      return &endpoints_[i];
    }
  }
  return nullptr;
}

void SocketsDriver::Record(int error, const char* syscall, int32_t endpoint_id, std::string detail) {
  last_detail_ = std::move(detail);
  last_errno_ = error;
  last_syscall_ = syscall;
  last_endpoint_id_ = endpoint_id;
  errors_++;
}

// open(endpointId, bindIp, bindPort, rcvbufBytes, sndbufBytes, ttl, multicastGroupIp, interfaceIp)
//   -> {port, ip, gro, gso, rcvbufBytes, sndbufBytes} or an error object.
Napi::Value SocketsDriver::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  UdpSocketOptions options;
  if (!OpenArgs(info, &id, &options)) return env.Undefined();
  if (options.group != 0 && (options.group >> 28) != 0xe) return SyscallError(env, EINVAL, "open(multicastGroupIp)");
  if (Find(static_cast<int32_t>(id)) != nullptr) return SyscallError(env, EEXIST, "open");
  if (endpoints_.size() >= kSocketsMax) return SyscallError(env, EMFILE, "open");
  options.nonblocking = true;
  const UdpSocket socket = OpenUdpSocket(options);
  if (socket.fd < 0) return SyscallError(env, socket.error, socket.failed);
  // GRO is best effort: a kernel without it (ENOPROTOOPT) simply delivers one datagram per read.
  bool gro = use_gro_ && SetIntOption(socket.fd, SOL_UDP, UDP_GRO, 1);
  endpoints_.push_back(Endpoint{static_cast<int32_t>(id), socket.fd, gro, use_gso_});
  Napi::Object result = Napi::Object::New(env);
  SetOpenResult(result, socket);
  result.Set("gro", Napi::Boolean::New(env, gro));
  result.Set("gso", Napi::Boolean::New(env, use_gso_));
  return result;
}

// close(endpointId) -> true if it was open.
Napi::Value SocketsDriver::Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t id = 0;
  if (!Uint32Arg(info, 0, 0, 0x7fffffff, &id)) {
    ThrowType(env, "close(endpointId) expects an integer");
    return env.Undefined();
  }
  for (size_t i = 0; i < endpoints_.size(); i++) {
    if (endpoints_[i].id != static_cast<int32_t>(id)) continue;
    if (close(endpoints_[i].fd) != 0) Record(errno, "close", endpoints_[i].id);
    endpoints_.erase(endpoints_.begin() + static_cast<std::ptrdiff_t>(i));
    last_found_ = 0;
    // Staged GRO segments that came from this socket would carry a dead endpoint id: drop them.
    for (uint32_t m = staged_next_; m < staged_count_; m++) {
      if (staged_[m].endpoint_id == static_cast<int32_t>(id)) staged_[m].length = staged_[m].offset;
    }
    return Napi::Boolean::New(env, true);
  }
  return Napi::Boolean::New(env, false);
}

Napi::Value SocketsDriver::CloseAll(const Napi::CallbackInfo& info) {
  for (const Endpoint& endpoint : endpoints_) {
    if (close(endpoint.fd) != 0) Record(errno, "close", endpoint.id);
  }
  endpoints_.clear();
  staged_count_ = 0;
  staged_next_ = 0;
  // The driver is done: its waker's thread goes now rather than when the object is collected.
  waker_.Shutdown();
  return info.Env().Undefined();
}

// Run building (BuildGsoRun, PairRunLength, FillGsoHeader) is gsoRuns.h's, shared with the
// io_uring driver.
void SocketsDriver::FillHeader(uint32_t message, const Outgoing& out, uint32_t iovs) {
  FillGsoHeader(tx_, out, &tx_headers_[message].msg_hdr, &tx_addresses_[message], &tx_iovs_[iovs], &tx_control_[message]);
  tx_headers_[message].msg_len = 0;
}

// setTransmit(bytes, lengths, ips, ports, endpointIds, capacity, slotLength): serve a new transmit
// batch from now on (the TypeScript side grew the slots for a channel's mtu and copied the slots
// still to send). Throws like the constructor on bad arguments, leaving the old batch in place.
Napi::Value SocketsDriver::SetTransmit(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  BatchView fresh;
  if (info.Length() != 7 || !ReadBatchView(info, 0, &fresh, "setTransmit")) {
    if (!env.IsExceptionPending()) ThrowType(env, "setTransmit expects 7 arguments (one batch)");
    return env.Undefined();
  }
  tx_ = std::move(fresh);
  return env.Undefined();
}

// send(start, end) -> slots consumed from `start`: sent, or dropped after a hard error (counted,
// see lastError()). Stops early, with the rest unsent, when the socket buffer is full (EAGAIN).
// An error object (EFAULT) instead when a transmit batch array is no longer lent (detached).
Napi::Value SocketsDriver::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t start = 0, end = 0;
  if (!Uint32Arg(info, 0, 0, tx_.capacity, &start) || !Uint32Arg(info, 1, start, tx_.capacity, &end)) {
    Napi::RangeError::New(env, "send(start, end) expects 0 <= start <= end <= capacity").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  // Before anything reads a slot: the batch's memory must still be ours.
  if (const char* lost = LostBatchArray(env, tx_)) {
    Napi::Object error = DetachedError(env, "sendmmsg", "transmit", lost);
    Record(EFAULT, "sendmmsg", -1, error.Get("message").As<Napi::String>().Utf8Value());
    return error;
  }
  // Validate every slot before the kernel sees a pointer into the batch.
  for (uint32_t i = start; i < end; i++) {
    const int32_t length = tx_.lengths[i];
    if (length <= 0 || static_cast<uint32_t>(length) > tx_.slot_length) {
      Napi::RangeError::New(env, "send: a slot length is outside 1..slotLength").ThrowAsJavaScriptException();
      return env.Undefined();
    }
  }
  uint32_t slot = start;
  // Bounded: every pass consumes at least one slot or returns.
  while (slot < end) {
    Endpoint* endpoint = Find(tx_.endpoint_ids[slot]);
    if (endpoint == nullptr) {
      Record(EBADF, "sendmmsg", tx_.endpoint_ids[slot]);
      dropped_++;
      slot++;
      continue;
    }
    // Gather messages for this socket: consecutive slots from the same endpoint.
    uint32_t messages = 0;
    uint32_t iovs = 0;
    uint32_t next = slot;
    while (next < end && messages < kMessagesMax && tx_.endpoint_ids[next] == endpoint->id) {
      const uint32_t pairs = endpoint->gso && messages + 2 <= kMessagesMax ? PairRunLength(tx_, next, end) : 0;
      if (pairs >= 2) {
        // The full datagrams, then the tails; the pair run is complete only once both are sent.
        outgoing_[messages] = Outgoing{next, pairs, 2, static_cast<uint32_t>(tx_.lengths[next]), 0};
        outgoing_[messages + 1] = Outgoing{next + 1, pairs, 2, static_cast<uint32_t>(tx_.lengths[next + 1]), 2 * pairs};
        FillHeader(messages, outgoing_[messages], iovs);
        FillHeader(messages + 1, outgoing_[messages + 1], iovs + pairs);
        iovs += 2 * pairs;
        next += 2 * pairs;
        messages += 2;
        pair_runs_++;
        continue;
      }
      Outgoing& out = outgoing_[messages];
      uint32_t covered = BuildGsoRun(tx_, next, end, endpoint->gso, &out);
      FillHeader(messages, out, iovs);
      iovs += covered;
      next += covered;
      messages++;
    }
    int sent = sendmmsg(endpoint->fd, tx_headers_, messages, 0);
    if (sent > 0) {
      // A pair run's first half sent without its second leaves the run unconsumed: the next send
      // repeats its full datagrams (duplicates the protocol ignores) rather than losing its tails.
      for (int m = 0; m < sent; m++) {
        slot += outgoing_[m].span;
        datagrams_sent_ += outgoing_[m].slots;
        if (outgoing_[m].segment != 0) gso_sends_++;
      }
      send_calls_++;
      if (outgoing_[sent - 1].span == 0) {
        // A pair run's full datagrams went but not its tails: send the tails now, so that every
        // pass still consumes slots (or stops on EAGAIN, leaving the run to be sent again).
        const Outgoing& tails = outgoing_[sent];
        int more;
        do {
          more = sendmmsg(endpoint->fd, &tx_headers_[sent], 1, 0);
        } while (more < 0 && errno == EINTR);
        if (more == 1) {
          slot += tails.span;
          datagrams_sent_ += tails.slots;
          if (tails.segment != 0) gso_sends_++;
          continue;
        }
        const int tail_error = more == 0 ? EAGAIN : errno;
        if (tail_error == EAGAIN || tail_error == EWOULDBLOCK || tail_error == ENOBUFS) {
          would_block_++;
          break;
        }
        if (tails.segment != 0 && (tail_error == EINVAL || tail_error == EIO || tail_error == EMSGSIZE)) {
          // The path cannot segment the tails: the run goes again without GSO (its full
          // datagrams twice, which the protocol ignores).
          endpoint->gso = false;
          Record(tail_error, "sendmmsg(UDP_SEGMENT)", endpoint->id);
          continue;
        }
        Record(tail_error, "sendmmsg", endpoint->id);
        dropped_ += tails.slots;
        slot += tails.span;
      }
      continue;
    }
    const int error = sent == 0 ? EAGAIN : errno;
    if (error == EINTR) continue;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      would_block_++;
      break;
    }
    if (outgoing_[0].segment != 0 && (error == EINVAL || error == EIO || error == EMSGSIZE)) {
      // The path cannot segment (a device MTU smaller than the run's segment, no checksum
      // offload): send this socket's datagrams one by one from now on.
      endpoint->gso = false;
      Record(error, "sendmmsg(UDP_SEGMENT)", endpoint->id);
      continue;
    }
    // A hard error on the first message (ECONNREFUSED from an earlier ICMP, ENETUNREACH, EPERM):
    // drop that message's datagrams, count them, and carry on with the rest.
    // (A pair run's first half fails for the whole run: drop both halves.)
    Record(error, "sendmmsg", endpoint->id);
    const uint32_t lost = outgoing_[0].span != 0 ? outgoing_[0].span : 2 * outgoing_[0].slots;
    dropped_ += lost;
    slot += lost;
  }
  return Napi::Number::New(env, slot - start);
}

// A datagram longer than a receive slot: dropped, counted (truncated), and kept as lastError
// (EMSGSIZE from recvmmsg, naming the endpoint, the length and the slot length) so that it is seen,
// not only counted. Never silently: the default slots hold any Aeron frame (65504 bytes).
void SocketsDriver::RecordTruncated(uint32_t length, uint32_t ip, uint16_t port, int32_t endpoint_id) {
  truncated_++;
  char detail[200];
  snprintf(detail, sizeof(detail),
           "a datagram of %u bytes from %u.%u.%u.%u:%u does not fit a receive slot of %u bytes: dropped (truncated)", length,
           ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, port, rx_.slot_length);
  Record(EMSGSIZE, "recvmmsg", endpoint_id, detail);
}

// Copies staged GRO segments into rx slots from `count`; returns the new count.
uint32_t SocketsDriver::DrainStaged(uint32_t count) {
  while (staged_next_ < staged_count_ && count < rx_.capacity) {
    Staged& staged = staged_[staged_next_];
    if (staged.offset >= staged.length) {
      staged_next_++;
      continue;
    }
    const uint32_t remaining = staged.length - staged.offset;
    const uint32_t segment = staged.segment == 0 || staged.segment > remaining ? remaining : staged.segment;
    const uint8_t* source = staging_.data() + static_cast<size_t>(staged_next_) * kStagingBytes + staged.offset;
    staged.offset += segment;
    if (segment > rx_.slot_length) {
      RecordTruncated(segment, staged.ip, staged.port, staged.endpoint_id);
      continue;
    }
    memcpy(rx_.bytes + static_cast<size_t>(count) * rx_.slot_length, source, segment);
    rx_.lengths[count] = static_cast<int32_t>(segment);
    rx_.ips[count] = staged.ip;
    rx_.ports[count] = staged.port;
    rx_.endpoint_ids[count] = staged.endpoint_id;
    count++;
    datagrams_received_++;
  }
  if (staged_next_ >= staged_count_) {
    staged_next_ = 0;
    staged_count_ = 0;
  }
  return count;
}

// receive() -> datagrams written to the rx batch from slot 0 (its count). Reads every socket
// once, round-robin, until the batch is full or every socket is drained for now. An error object
// (EFAULT) instead when a receive batch array is no longer lent (detached): nothing is written.
Napi::Value SocketsDriver::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  // Before recvmmsg or a staged copy writes a slot: the batch's memory must still be ours.
  if (const char* lost = LostBatchArray(env, rx_)) {
    Napi::Object error = DetachedError(env, "recvmmsg", "receive", lost);
    Record(EFAULT, "recvmmsg", -1, error.Get("message").As<Napi::String>().Utf8Value());
    return error;
  }
  uint32_t count = DrainStaged(0);
  const size_t sockets = endpoints_.size();
  if (sockets == 0) return Napi::Number::New(env, count);
  const size_t first = receive_start_++ % sockets;
  for (size_t k = 0; k < sockets && count < rx_.capacity && staged_count_ == 0; k++) {
    Endpoint& endpoint = endpoints_[(first + k) % sockets];
    uint32_t want = rx_.capacity - count;
    if (endpoint.gro) {
      if (want > kStagingMessages) want = kStagingMessages;
      for (uint32_t m = 0; m < want; m++) {
        mmsghdr& header = rx_headers_[m];
        memset(&header, 0, sizeof(header));
        rx_iovs_[m].iov_base = staging_.data() + static_cast<size_t>(m) * kStagingBytes;
        rx_iovs_[m].iov_len = kStagingBytes;
        header.msg_hdr.msg_iov = &rx_iovs_[m];
        header.msg_hdr.msg_iovlen = 1;
        header.msg_hdr.msg_name = &rx_addresses_[m];
        header.msg_hdr.msg_namelen = sizeof(sockaddr_in);
        header.msg_hdr.msg_control = rx_control_[m].bytes;
        header.msg_hdr.msg_controllen = sizeof(rx_control_[m].bytes);
      }
    } else {
      if (want > kMessagesMax) want = kMessagesMax;
      for (uint32_t m = 0; m < want; m++) {
        mmsghdr& header = rx_headers_[m];
        memset(&header, 0, sizeof(header));
        rx_iovs_[m].iov_base = rx_.bytes + static_cast<size_t>(count + m) * rx_.slot_length;
        rx_iovs_[m].iov_len = rx_.slot_length;
        header.msg_hdr.msg_iov = &rx_iovs_[m];
        header.msg_hdr.msg_iovlen = 1;
        header.msg_hdr.msg_name = &rx_addresses_[m];
        header.msg_hdr.msg_namelen = sizeof(sockaddr_in);
      }
    }
    // MSG_TRUNC (plain path): msg_len is the datagram's real length, so a truncation can say how long.
    int received = recvmmsg(endpoint.fd, rx_headers_, want, endpoint.gro ? MSG_DONTWAIT : MSG_DONTWAIT | MSG_TRUNC, nullptr);
    if (received < 0) {
      const int error = errno;
      if (error != EAGAIN && error != EWOULDBLOCK && error != EINTR) {
        // ECONNREFUSED after an ICMP port unreachable, for example: reported, not fatal.
        Record(error, "recvmmsg", endpoint.id);
      }
      continue;
    }
    receive_calls_++;
    for (int m = 0; m < received; m++) {
      const mmsghdr& header = rx_headers_[m];
      const sockaddr_in& from = rx_addresses_[m];
      const uint32_t ip = ntohl(from.sin_addr.s_addr);
      const uint16_t port = ntohs(from.sin_port);
      const bool truncated = (header.msg_hdr.msg_flags & MSG_TRUNC) != 0;
      if (endpoint.gro) {
        const uint32_t segment = GroSegment(header.msg_hdr.msg_control, header.msg_hdr.msg_controllen);
        Staged& staged = staged_[m];
        staged.length = truncated || header.msg_len > kStagingBytes ? 0 : header.msg_len;
        if (truncated) RecordTruncated(header.msg_len, ip, port, endpoint.id);
        if (segment != 0) gro_receives_++;
        staged.offset = 0;
        staged.segment = segment;
        staged.ip = ip;
        staged.port = port;
        staged.endpoint_id = endpoint.id;
      } else {
        if (truncated || header.msg_len > rx_.slot_length) {
          RecordTruncated(header.msg_len, ip, port, endpoint.id);
          continue;
        }
        // Slots are filled in order: after a truncated datagram, later ones move down a slot.
        const uint32_t target = count;
        uint8_t* source = static_cast<uint8_t*>(rx_iovs_[m].iov_base);
        uint8_t* destination = rx_.bytes + static_cast<size_t>(target) * rx_.slot_length;
        if (source != destination) memmove(destination, source, header.msg_len);
        rx_.lengths[target] = static_cast<int32_t>(header.msg_len);
        rx_.ips[target] = ip;
        rx_.ports[target] = port;
        rx_.endpoint_ids[target] = endpoint.id;
        count++;
        datagrams_received_++;
      }
    }
    if (endpoint.gro) {
      staged_count_ = static_cast<uint32_t>(received);
      staged_next_ = 0;
      count = DrainStaged(count);
    }
  }
  return Napi::Number::New(env, count);
}

// wait(timeoutMs) -> true when a socket is readable (or GRO segments are staged), false on
// timeout. Blocks the calling thread in poll(2): an idle strategy for a thread that does nothing
// else, which wakes on the first datagram instead of spinning (and so survives a busy machine).
Napi::Value SocketsDriver::Wait(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t timeout_ms = 0;
  if (!Uint32Arg(info, 0, 0, 1000, &timeout_ms)) {
    Napi::RangeError::New(env, "wait(timeoutMs) expects an integer in 0..1000").ThrowAsJavaScriptException();
    return env.Undefined();
  }
  if (staged_next_ < staged_count_) return Napi::Boolean::New(env, true);
  const size_t count = endpoints_.size();
  if (poll_fds_.size() < count) poll_fds_.resize(count);
  for (size_t i = 0; i < count; i++) {
    poll_fds_[i].fd = endpoints_[i].fd;
    poll_fds_[i].events = POLLIN;
    poll_fds_[i].revents = 0;
  }
  int ready = poll(poll_fds_.data(), static_cast<nfds_t>(count), static_cast<int>(timeout_ms));
  if (ready < 0) {
    if (errno != EINTR) Record(errno, "poll", -1);
    return Napi::Boolean::New(env, false);
  }
  return Napi::Boolean::New(env, ready > 0);
}

// armWake(callback) -> true when armed: `callback` is called once (from the event loop, never
// re-entrantly) when a socket becomes readable; false when received data is already staged (run a
// duty cycle instead of parking); or an error object when the waker could not start. The first
// call's callback is the one every later wake calls.
Napi::Value SocketsDriver::ArmWake(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsFunction()) {
    ThrowType(env, "armWake(callback) expects a function");
    return env.Undefined();
  }
  if (staged_next_ < staged_count_) return Napi::Boolean::New(env, false);
  if (!waker_.started()) {
    const char* failed = "armWake";
    int error = waker_.Start(env, info[0].As<Napi::Function>(), &failed);
    if (error != 0) return SyscallError(env, error, failed);
  }
  if (arm_fds_.size() < endpoints_.size()) arm_fds_.resize(endpoints_.size());
  for (size_t i = 0; i < endpoints_.size(); i++) arm_fds_[i] = endpoints_[i].fd;
  int error = waker_.Arm(arm_fds_.data(), endpoints_.size());
  if (error != 0) return SyscallError(env, error, "epoll_ctl");
  return Napi::Boolean::New(env, true);
}

// disarmWake() -> the number of wakes so far. No wake call for readiness after this returns
// (one already queued to the event loop may still arrive: the caller treats it as spurious).
Napi::Value SocketsDriver::DisarmWake(const Napi::CallbackInfo& info) {
  if (waker_.started()) waker_.Disarm();
  return Napi::Number::New(info.Env(), static_cast<double>(waker_.started() ? waker_.wakes() : 0));
}

Napi::Value SocketsDriver::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  result.Set("datagramsSent", Napi::Number::New(env, static_cast<double>(datagrams_sent_)));
  result.Set("datagramsReceived", Napi::Number::New(env, static_cast<double>(datagrams_received_)));
  result.Set("sendCalls", Napi::Number::New(env, static_cast<double>(send_calls_)));
  result.Set("receiveCalls", Napi::Number::New(env, static_cast<double>(receive_calls_)));
  result.Set("gsoSends", Napi::Number::New(env, static_cast<double>(gso_sends_)));
  result.Set("groReceives", Napi::Number::New(env, static_cast<double>(gro_receives_)));
  result.Set("pairRuns", Napi::Number::New(env, static_cast<double>(pair_runs_)));
  result.Set("wouldBlock", Napi::Number::New(env, static_cast<double>(would_block_)));
  result.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_)));
  result.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
  result.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
  result.Set("sockets", Napi::Number::New(env, static_cast<double>(endpoints_.size())));
  return result;
}

// lastError() -> the most recent error of send/receive/close as {errno, code, syscall, message,
// endpointId}, or null.
Napi::Value SocketsDriver::LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (last_errno_ == 0) return env.Null();
  Napi::Object result = SyscallError(env, last_errno_, last_syscall_, last_detail_.empty() ? nullptr : last_detail_.c_str());
  result.Set("endpointId", Napi::Number::New(env, last_endpoint_id_));
  return result;
}

}  // namespace petrel
