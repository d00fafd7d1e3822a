// Petrel's AF_PACKET frame port: one SOCK_RAW packet socket bound to one interface, with a
// TPACKET_V3 receive ring (block-based: the kernel fills whole blocks, retired when full or after
// a timeout) and a TPACKET_V3 transmit ring (fixed-size frames) in one mmap'ed region. It moves
// whole Ethernet frames; Petrel's netstack (src/drivers/netstack) builds and parses every header.
//
// One call from JavaScript moves a whole batch: send(start, end) copies frames from the JS
// FrameBatch into free TX ring frames, marks them TP_STATUS_SEND_REQUEST and flushes them with one
// sendto(fd, NULL, 0, MSG_DONTWAIT); receive() copies every frame the kernel has handed over (up to
// the batch's capacity) from the RX ring into the batch and gives finished blocks back. Ring memory
// is never exposed to JavaScript: a block goes back to the kernel as soon as it is read, so no JS
// view can outlive the kernel's ownership of it. One copy each way is the price.
//
// Options: PACKET_QDISC_BYPASS (frames go straight to the device's transmit queue), PACKET_FANOUT
// (several sockets share an interface's traffic, for one reader per core), PACKET_IGNORE_OUTGOING
// (our own and the kernel's outgoing frames are not looped into the RX ring) and PACKET_LOSS (a
// malformed TX frame is skipped instead of stalling the ring). Every system call is checked;
// failures come back as {errno, code, syscall, message} objects (EPERM without CAP_NET_RAW), and
// hot-path failures are counted and kept for lastError(). No C++ exceptions.
#include "afpacket.h"
#include "napiCommon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <string>

#ifndef PACKET_QDISC_BYPASS
#define PACKET_QDISC_BYPASS 20
#endif
#ifndef PACKET_IGNORE_OUTGOING
#define PACKET_IGNORE_OUTGOING 23
#endif

namespace petrel {
namespace {

using namespace petrel::native;

// Where a TX frame's data starts: after the aligned tpacket3_hdr (the kernel's tp_hdrlen minus
// the sockaddr_ll it reserves on receive).
constexpr uint32_t kTxDataOffset = TPACKET_ALIGN(sizeof(tpacket3_hdr));
// PACKET_VNET_HDR: a virtio_net_hdr precedes every frame in both rings. On receive it carries the
// GSO size of a coalesced UDP super-frame (veth hands the peer unsegmented GSO packets, and a
// kernel sender on the other end uses UDP GSO), which receive() splits back into datagrams.
// Its layout (linux/virtio_net.h, whose C header does not compile as C++), host byte order as the
// kernel writes it for a packet socket on a little-endian machine.
struct VnetHeader {
  uint8_t flags;
  uint8_t gso_type;
  uint16_t hdr_len;
  uint16_t gso_size;
  uint16_t csum_start;
  uint16_t csum_offset;
};
static_assert(sizeof(VnetHeader) == 10, "virtio_net_hdr is 10 bytes");
constexpr uint8_t kVnetNeedsCsum = 1;  // kVnetNeedsCsum
constexpr uint8_t kVnetDataValid = 2;  // kVnetDataValid
constexpr uint8_t kVnetGsoNone = 0;    // kVnetGsoNone
constexpr uint32_t kVnetBytes = sizeof(VnetHeader);

uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }
void Write16(uint8_t* p, uint32_t v) {
  p[0] = static_cast<uint8_t>(v >> 8);
  p[1] = static_cast<uint8_t>(v);
}

uint16_t Ipv4HeaderChecksum(const uint8_t* ip, uint32_t length) {
  uint32_t sum = 0;
  for (uint32_t i = 0; i + 1 < length; i += 2) {
    if (i == 10) continue;
    sum += Read16(ip + i);
  }
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  return static_cast<uint16_t>(~sum & 0xffff);
}

uint32_t LoadStatus(const volatile uint32_t* status) { return __atomic_load_n(status, __ATOMIC_ACQUIRE); }
void StoreStatus(volatile uint32_t* status, uint32_t value) { __atomic_store_n(status, value, __ATOMIC_RELEASE); }

}  // namespace

Napi::Object AfPacketPort::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "AfPacketPort", {
      InstanceMethod("open", &AfPacketPort::Open),
      InstanceMethod("send", &AfPacketPort::Send),
      InstanceMethod("receive", &AfPacketPort::Receive),
      InstanceMethod("stats", &AfPacketPort::Stats),
      InstanceMethod("lastError", &AfPacketPort::LastError),
      InstanceMethod("close", &AfPacketPort::Close),
  });
  exports.Set("AfPacketPort", constructor);
  return exports;
}

// new AfPacketPort(txBytes, txLengths, txFlags, txTimestamps, txCapacity, txSlotLength,
//                  rxBytes, rxLengths, rxFlags, rxTimestamps, rxCapacity, rxSlotLength)
AfPacketPort::AfPacketPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<AfPacketPort>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 12) {
    ThrowType(env, "AfPacketPort expects 12 arguments (two frame batches)");
    return;
  }
  if (!Uint32Arg(info, 4, 1, 4096, &tx_.capacity) || !Uint32Arg(info, 5, 64, 65536, &tx_.slot_length) ||
      !Uint32Arg(info, 10, 1, 4096, &rx_.capacity) || !Uint32Arg(info, 11, 64, 65536, &rx_.slot_length)) {
    Napi::RangeError::New(env, "AfPacketPort: capacity must be 1..4096 and slot length 64..65536").ThrowAsJavaScriptException();
    return;
  }
  if (!Frames(info, 0, &tx_)) return;
  Frames(info, 6, &rx_);
}

AfPacketPort::~AfPacketPort() { Release(); }

bool AfPacketPort::Frames(const Napi::CallbackInfo& info, size_t first, FrameView* view) {
  const size_t capacity = view->capacity;
  view->bytes = TypedArrayArg<uint8_t>(info, first, napi_uint8_array, capacity * view->slot_length,
                                       "frame bytes must be a Uint8Array of capacity * slotLength", &view->held[0]);
  if (view->bytes == nullptr) return false;
  view->lengths = TypedArrayArg<int32_t>(info, first + 1, napi_int32_array, capacity, "lengths must be an Int32Array", &view->held[1]);
  if (view->lengths == nullptr) return false;
  view->flags = TypedArrayArg<uint8_t>(info, first + 2, napi_uint8_array, capacity, "flags must be a Uint8Array", &view->held[2]);
  if (view->flags == nullptr) return false;
  view->timestamps = TypedArrayArg<double>(info, first + 3, napi_float64_array, capacity, "timestamps must be a Float64Array", &view->held[3]);
  return view->timestamps != nullptr;
}

// The first of a frame batch's arrays no longer lent to the port (detached, shrunk), or nullptr. Send
// and receive check before they touch the batch: the memory may have been transferred and freed.
const char* AfPacketPort::LostFrames(napi_env env, const FrameView& view) {
  static constexpr const char* kNames[4] = {"bytes", "lengths", "flags", "timestampsNs"};
  for (size_t i = 0; i < 4; i++) {
    if (!StillHeld(env, view.held[i])) return kNames[i];
  }
  return nullptr;
}

void AfPacketPort::Record(int error, const char* syscall) {
  last_errno_ = error;
  last_syscall_ = syscall;
  errors_++;
}

void AfPacketPort::Release() {
  if (ring_ != nullptr) {
    if (munmap(ring_, ring_bytes_) != 0) Record(errno, "munmap");
    ring_ = nullptr;
    tx_ring_ = nullptr;
  }
  if (fd_ >= 0) {
    if (close(fd_) != 0) Record(errno, "close");
    fd_ = -1;
  }
}

// open(interfaceName, {blockSize, blockCount, blockTimeoutMs, txFrameSize, txFrameCount, qdiscBypass,
//      fanoutGroup, fanoutMode, allMulticast}) -> {ifindex, mac: number[6], mtu, qdiscBypass,
//      ignoreOutgoing, fanout} or an error object.
Napi::Value AfPacketPort::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 10 || !info[0].IsString()) {
    ThrowType(env, "open(name, blockSize, blockCount, blockTimeoutMs, txFrameSize, txFrameCount, qdiscBypass, fanoutGroup, fanoutMode, allMulticast)");
    return env.Undefined();
  }
  uint32_t block_size = 0, block_count = 0, block_timeout_ms = 0, tx_frame_size = 0, tx_frame_count = 0, fanout_group = 0, fanout_mode = 0;
  if (!Uint32Arg(info, 1, 4096, 1u << 30, &block_size) || !Uint32Arg(info, 2, 1, 65536, &block_count) ||
      !Uint32Arg(info, 3, 0, 60000, &block_timeout_ms) || !Uint32Arg(info, 4, 128, 1u << 20, &tx_frame_size) ||
      !Uint32Arg(info, 5, 1, 1u << 20, &tx_frame_count) || !Uint32Arg(info, 7, 0, 65535, &fanout_group) ||
      !Uint32Arg(info, 8, 0, 0xffff, &fanout_mode)) {
    ThrowType(env, "open: ring sizes and fanout must be integers in range");
    return env.Undefined();
  }
  const bool qdisc_bypass = info[6].ToBoolean().Value();
  const bool all_multicast = info[9].ToBoolean().Value();
  const long page = sysconf(_SC_PAGESIZE);
  if (page <= 0 || !IsPowerOfTwo(block_size) || block_size % static_cast<uint32_t>(page) != 0 || !IsPowerOfTwo(tx_frame_size) ||
      tx_frame_size % TPACKET_ALIGNMENT != 0 || tx_frame_size > block_size) {
    return SyscallError(env, EINVAL, "open(ring geometry: power-of-two sizes, blocks a multiple of the page)");
  }
  if (fd_ >= 0) return SyscallError(env, EISCONN, "open");
  const std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.empty() || name.size() >= IFNAMSIZ) return SyscallError(env, EINVAL, "open(interface name)");

  // Protocol 0: the socket receives nothing until bind() names the protocol and the interface, so
  // no frame from another interface slips into the ring while it is set up.
  int fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return SyscallError(env, errno, "socket(AF_PACKET)");
  fd_ = fd;
  auto fail = [&](const char* syscall) -> Napi::Value {
    int error = errno;
    Release();
    return SyscallError(env, error, syscall);
  };

  ifreq request{};
  memcpy(request.ifr_name, name.c_str(), name.size() + 1);
  if (ioctl(fd, SIOCGIFINDEX, &request) != 0) return fail("ioctl(SIOCGIFINDEX)");
  const int ifindex = request.ifr_ifindex;
  if (ioctl(fd, SIOCGIFHWADDR, &request) != 0) return fail("ioctl(SIOCGIFHWADDR)");
  uint8_t mac[6];
  memcpy(mac, request.ifr_hwaddr.sa_data, 6);
  if (ioctl(fd, SIOCGIFMTU, &request) != 0) return fail("ioctl(SIOCGIFMTU)");
  const int mtu = request.ifr_mtu;

  int version = TPACKET_V3;
  if (setsockopt(fd, SOL_PACKET, PACKET_VERSION, &version, sizeof(version)) != 0) return fail("setsockopt(PACKET_VERSION)");
  int one = 1;
  if (setsockopt(fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) != 0) return fail("setsockopt(PACKET_LOSS)");
  if (setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)) != 0) return fail("setsockopt(PACKET_VNET_HDR)");
  bool bypass = false;
  if (qdisc_bypass) {
    if (setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one, sizeof(one)) != 0) return fail("setsockopt(PACKET_QDISC_BYPASS)");
    bypass = true;
  }
  // Best effort (kernel 4.20+): without it, outgoing frames of other sockets are skipped by type below.
  const bool ignore_outgoing = setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof(one)) == 0;

  tpacket_req3 rx_request{};
  rx_request.tp_block_size = block_size;
  rx_request.tp_block_nr = block_count;
  rx_request.tp_frame_size = tx_frame_size;
  rx_request.tp_frame_nr = static_cast<uint32_t>((static_cast<uint64_t>(block_size) / tx_frame_size) * block_count);
  rx_request.tp_retire_blk_tov = block_timeout_ms;
  if (setsockopt(fd, SOL_PACKET, PACKET_RX_RING, &rx_request, sizeof(rx_request)) != 0) return fail("setsockopt(PACKET_RX_RING)");
  // TX with TPACKET_V3: blocks only group frames; retire timeout, private area and features must be 0.
  const uint32_t tx_block_size = block_size;
  const uint32_t frames_per_block = tx_block_size / tx_frame_size;
  const uint32_t tx_blocks = (tx_frame_count + frames_per_block - 1) / frames_per_block;
  tpacket_req3 tx_request{};
  tx_request.tp_block_size = tx_block_size;
  tx_request.tp_block_nr = tx_blocks;
  tx_request.tp_frame_size = tx_frame_size;
  tx_request.tp_frame_nr = tx_blocks * frames_per_block;
  if (setsockopt(fd, SOL_PACKET, PACKET_TX_RING, &tx_request, sizeof(tx_request)) != 0) return fail("setsockopt(PACKET_TX_RING)");

  const size_t rx_bytes = static_cast<size_t>(block_size) * block_count;
  const size_t tx_bytes = static_cast<size_t>(tx_block_size) * tx_blocks;
  void* ring = mmap(nullptr, rx_bytes + tx_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_LOCKED | MAP_POPULATE, fd, 0);
  if (ring == MAP_FAILED) {
    // MAP_LOCKED fails beyond RLIMIT_MEMLOCK; the ring works unlocked too.
    ring = mmap(nullptr, rx_bytes + tx_bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, fd, 0);
    if (ring == MAP_FAILED) return fail("mmap(PACKET_MMAP rings)");
  }
  ring_ = static_cast<uint8_t*>(ring);
  ring_bytes_ = rx_bytes + tx_bytes;
  rx_block_size_ = block_size;
  rx_block_count_ = block_count;
  rx_block_ = 0;
  rx_packets_left_ = 0;
  tx_ring_ = ring_ + rx_bytes;
  tx_frame_size_ = tx_frame_size;
  tx_frame_count_ = tx_blocks * frames_per_block;
  tx_frame_ = 0;

  sockaddr_ll address{};
  address.sll_family = AF_PACKET;
  address.sll_protocol = htons(ETH_P_ALL);
  address.sll_ifindex = ifindex;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) return fail("bind(AF_PACKET)");
  if (all_multicast) {
    packet_mreq membership{};
    membership.mr_ifindex = ifindex;
    membership.mr_type = PACKET_MR_ALLMULTI;
    if (setsockopt(fd, SOL_PACKET, PACKET_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0) return fail("setsockopt(PACKET_ADD_MEMBERSHIP)");
  }
  if (fanout_group != 0) {
    int fanout = static_cast<int>(fanout_group | (fanout_mode << 16));
    if (setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &fanout, sizeof(fanout)) != 0) return fail("setsockopt(PACKET_FANOUT)");
  }

  Napi::Object result = Napi::Object::New(env);
  result.Set("ifindex", Napi::Number::New(env, ifindex));
  Napi::Array mac_array = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) mac_array.Set(i, Napi::Number::New(env, mac[i]));
  result.Set("mac", mac_array);
  result.Set("mtu", Napi::Number::New(env, mtu));
  result.Set("qdiscBypass", Napi::Boolean::New(env, bypass));
  result.Set("ignoreOutgoing", Napi::Boolean::New(env, ignore_outgoing));
  result.Set("txFrames", Napi::Number::New(env, tx_frame_count_));
  result.Set("rxBlocks", Napi::Number::New(env, rx_block_count_));
  return result;
}

// send(start, end) -> frames consumed from start (queued in the ring, or dropped as too long).
Napi::Value AfPacketPort::Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  uint32_t start = 0, end = 0;
  if (!Uint32Arg(info, 0, 0, tx_.capacity, &start) || !Uint32Arg(info, 1, 0, tx_.capacity, &end) || start > end) {
    ThrowType(env, "send(start, end) expects 0 <= start <= end <= capacity");
    return env.Undefined();
  }
  if (const char* lost = LostFrames(env, tx_)) {
    Record(EFAULT, "send");
    return DetachedError(env, "send", "transmit frame", lost);
  }
  if (fd_ < 0) {
    Record(EBADF, "send");
    return Napi::Number::New(env, 0);
  }
  const uint32_t room = tx_frame_size_ - kTxDataOffset - kVnetBytes;
  uint32_t i = start;
  uint32_t queued = 0;
  for (; i < end; i++) {
    const int32_t length = tx_.lengths[i];
    if (length <= 0 || static_cast<uint32_t>(length) > room || static_cast<uint32_t>(length) > tx_.slot_length) {
      dropped_++;
      Record(EMSGSIZE, "send(frame longer than a TX ring frame)");
      continue;
    }
    uint8_t* frame = tx_ring_ + static_cast<size_t>(tx_frame_) * tx_frame_size_;
    tpacket3_hdr* header = reinterpret_cast<tpacket3_hdr*>(frame);
    const uint32_t status = LoadStatus(&header->tp_status);
    if (status != TP_STATUS_AVAILABLE && status != TP_STATUS_WRONG_FORMAT) break;  // ring full: the kernel still owns it
    // A zero virtio_net_hdr (no offload asked) precedes the frame: the socket has PACKET_VNET_HDR on.
    memset(frame + kTxDataOffset, 0, kVnetBytes);
    memcpy(frame + kTxDataOffset + kVnetBytes, tx_.bytes + static_cast<size_t>(i) * tx_.slot_length, static_cast<size_t>(length));
    header->tp_len = static_cast<uint32_t>(length) + kVnetBytes;
    header->tp_snaplen = static_cast<uint32_t>(length) + kVnetBytes;
    header->tp_next_offset = 0;
    StoreStatus(&header->tp_status, TP_STATUS_SEND_REQUEST);
    tx_frame_ = tx_frame_ + 1 == tx_frame_count_ ? 0 : tx_frame_ + 1;
    queued++;
  }
  if (i < end) would_block_++;
  // One flush for the whole batch (and for frames an earlier EAGAIN left in the ring).
  send_calls_++;
  if (sendto(fd_, nullptr, 0, MSG_DONTWAIT, nullptr, 0) < 0) {
    const int error = errno;
    if (error == EAGAIN || error == EWOULDBLOCK || error == ENOBUFS) {
      would_block_++;
    } else {
      Record(error, "sendto(PACKET_TX_RING)");
    }
  }
  frames_sent_ += queued;
  return Napi::Number::New(env, i - start);
}

// receive() -> frames written to the RX batch from slot 0.
Napi::Value AfPacketPort::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (const char* lost = LostFrames(env, rx_)) {
    Record(EFAULT, "receive");
    return DetachedError(env, "receive", "receive frame", lost);
  }
  if (fd_ < 0) return Napi::Number::New(env, 0);
  receive_calls_++;
  uint32_t n = 0;
  // Bounded: at most one pass over the ring's blocks per call.
  for (uint32_t visited = 0; visited < rx_block_count_ && n < rx_.capacity; visited++) {
    uint8_t* block = ring_ + static_cast<size_t>(rx_block_) * rx_block_size_;
    tpacket_block_desc* desc = reinterpret_cast<tpacket_block_desc*>(block);
    const uint32_t status = LoadStatus(&desc->hdr.bh1.block_status);
    if ((status & TP_STATUS_USER) == 0) break;
    if (rx_packets_left_ == 0 && rx_packet_offset_ == 0) {
      rx_packets_left_ = desc->hdr.bh1.num_pkts;
      rx_packet_offset_ = desc->hdr.bh1.offset_to_first_pkt;
    }
    while (rx_packets_left_ > 0 && n < rx_.capacity) {
      if (rx_packet_offset_ + sizeof(tpacket3_hdr) > rx_block_size_) {  // cannot happen with a sane kernel
        rx_packets_left_ = 0;
        Record(EIO, "receive(corrupt TPACKET_V3 block)");
        break;
      }
      const tpacket3_hdr* packet = reinterpret_cast<const tpacket3_hdr*>(block + rx_packet_offset_);
      const sockaddr_ll* link = reinterpret_cast<const sockaddr_ll*>(reinterpret_cast<const uint8_t*>(packet) + TPACKET_ALIGN(sizeof(tpacket3_hdr)));
      const uint32_t length = packet->tp_snaplen;
      bool done = true;
      if (link->sll_pkttype == PACKET_OUTGOING) {
        outgoing_skipped_++;
      } else if (packet->tp_mac < kVnetBytes || packet->tp_mac + length > rx_block_size_ - rx_packet_offset_) {
        truncated_++;
      } else {
        const uint8_t* frame = reinterpret_cast<const uint8_t*>(packet) + packet->tp_mac;
        VnetHeader vnet_header;
        memcpy(&vnet_header, frame - kVnetBytes, kVnetBytes);
        const VnetHeader* vnet = &vnet_header;
        uint8_t flags = 0;
        if ((packet->tp_status & TP_STATUS_CSUMNOTREADY) != 0 || (vnet->flags & kVnetNeedsCsum) != 0) flags |= 1;
        if ((packet->tp_status & TP_STATUS_CSUM_VALID) != 0 || (vnet->flags & kVnetDataValid) != 0) flags |= 2;
        const double timestamp = static_cast<double>(packet->tp_sec) * 1e9 + static_cast<double>(packet->tp_nsec);
        if (vnet->gso_type != kVnetGsoNone && vnet->gso_size > 0) {
          done = SplitGso(frame, length, vnet->gso_size, timestamp, &n);
        } else if (length > rx_.slot_length) {
          truncated_++;
        } else {
          memcpy(rx_.bytes + static_cast<size_t>(n) * rx_.slot_length, frame, length);
          rx_.lengths[n] = static_cast<int32_t>(length);
          rx_.flags[n] = flags;
          rx_.timestamps[n] = timestamp;
          n++;
        }
      }
      if (!done) break;  // the batch filled inside a GSO super-frame: resume there
      rx_packets_left_--;
      rx_packet_offset_ = packet->tp_next_offset == 0 ? rx_block_size_ : rx_packet_offset_ + packet->tp_next_offset;
    }
    if (rx_packets_left_ > 0) break;  // the batch is full: resume inside this block next time
    rx_packet_offset_ = 0;
    StoreStatus(&desc->hdr.bh1.block_status, TP_STATUS_KERNEL);
    rx_block_ = rx_block_ + 1 == rx_block_count_ ? 0 : rx_block_ + 1;
  }
  frames_received_ += n;
  return Napi::Number::New(env, n);
}

// Splits a UDP GSO super-frame (one Ethernet/IPv4/UDP header, payload of many gso_size segments)
// into one frame per segment in the RX batch: each gets the headers with its own IPv4 total length
// and header checksum, its UDP length, and UDP checksum 0 (absent, legal over IPv4; the kernel
// vouched for the data, which came from a local sender). Returns false when the batch filled first
// (rx_gso_offset_ remembers where to resume). A super-frame that is not IPv4/UDP is dropped.
bool AfPacketPort::SplitGso(const uint8_t* frame, uint32_t length, uint32_t gso_size, double timestamp, uint32_t* n) {
  uint32_t link = 14;
  if (length < link + 20) {
    truncated_++;
    return true;
  }
  uint16_t ether_type = Read16(frame + 12);
  if (ether_type == 0x8100) {
    link = 18;
    ether_type = Read16(frame + 16);
  }
  const uint8_t* ip = frame + link;
  const uint32_t ihl = static_cast<uint32_t>(ip[0] & 0x0f) * 4;
  if (ether_type != 0x0800 || (ip[0] >> 4) != 4 || ihl < 20 || ip[9] != 17 || link + ihl + 8 > length) {
    gso_dropped_++;
    return true;
  }
  const uint32_t headers = link + ihl + 8;
  const uint32_t payload = length - headers;
  while (rx_gso_offset_ < payload) {
    if (*n >= rx_.capacity) return false;
    const uint32_t segment = payload - rx_gso_offset_ < gso_size ? payload - rx_gso_offset_ : gso_size;
    if (headers + segment > rx_.slot_length) {
      truncated_++;
    } else {
      uint8_t* out = rx_.bytes + static_cast<size_t>(*n) * rx_.slot_length;
      memcpy(out, frame, headers);
      memcpy(out + headers, frame + headers + rx_gso_offset_, segment);
      uint8_t* out_ip = out + link;
      Write16(out_ip + 2, ihl + 8 + segment);
      Write16(out_ip + 10, Ipv4HeaderChecksum(out_ip, ihl));
      Write16(out_ip + ihl + 4, 8 + segment);
      Write16(out_ip + ihl + 6, 0);
      rx_.lengths[*n] = static_cast<int32_t>(headers + segment);
      rx_.flags[*n] = 0;
      rx_.timestamps[*n] = timestamp;
      (*n)++;
      gso_segments_++;
    }
    rx_gso_offset_ += segment;
  }
  rx_gso_offset_ = 0;
  return true;
}

void AfPacketPort::ReadKernelStats() {
  if (fd_ < 0) return;
  tpacket_stats_v3 stats{};
  socklen_t length = sizeof(stats);
  // The kernel resets its counters on every read: accumulate.
  if (getsockopt(fd_, SOL_PACKET, PACKET_STATISTICS, &stats, &length) != 0) {
    Record(errno, "getsockopt(PACKET_STATISTICS)");
    return;
  }
  kernel_packets_ += stats.tp_packets;
  kernel_drops_ += stats.tp_drops;
  kernel_freezes_ += stats.tp_freeze_q_cnt;
}

Napi::Value AfPacketPort::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  ReadKernelStats();
  Napi::Object result = Napi::Object::New(env);
  result.Set("framesSent", Napi::Number::New(env, static_cast<double>(frames_sent_)));
  result.Set("framesReceived", Napi::Number::New(env, static_cast<double>(frames_received_)));
  result.Set("sendCalls", Napi::Number::New(env, static_cast<double>(send_calls_)));
  result.Set("receiveCalls", Napi::Number::New(env, static_cast<double>(receive_calls_)));
  result.Set("wouldBlock", Napi::Number::New(env, static_cast<double>(would_block_)));
  result.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_ + kernel_drops_)));
  result.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
  result.Set("gsoSegments", Napi::Number::New(env, static_cast<double>(gso_segments_)));
  result.Set("gsoDropped", Napi::Number::New(env, static_cast<double>(gso_dropped_)));
  result.Set("outgoingSkipped", Napi::Number::New(env, static_cast<double>(outgoing_skipped_)));
  result.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
  result.Set("kernelPackets", Napi::Number::New(env, static_cast<double>(kernel_packets_)));
  result.Set("kernelDrops", Napi::Number::New(env, static_cast<double>(kernel_drops_)));
  result.Set("kernelFreezes", Napi::Number::New(env, static_cast<double>(kernel_freezes_)));
  return result;
}

Napi::Value AfPacketPort::LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (last_errno_ == 0) return env.Null();
  return SyscallError(env, last_errno_, last_syscall_);
}

Napi::Value AfPacketPort::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace petrel
