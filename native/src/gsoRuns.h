// UDP GSO run building and UDP GRO cmsg parsing, shared by the sockets driver (sendmmsg/recvmmsg)
// and the io_uring driver (SENDMSG/multishot RECVMSG): which transmit slots leave as one
// UDP_SEGMENT send, and how a coalesced receive says its segment size.
#pragma once

#include <netinet/in.h>
#include <netinet/udp.h>
#include <string.h>
#include <sys/socket.h>

#include <cstdint>

#include "batchView.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

namespace petrel {
namespace native {

// The kernel accepts at most 64 segments per GSO send on older kernels (UDP_MAX_SEGMENTS); newer
// ones take 128. 64 is safe everywhere.
constexpr uint32_t kGsoSegmentsMax = 64;
// A GSO send's payload must fit one IPv4 UDP datagram (65535 - 20 IP - 8 UDP).
constexpr uint32_t kGsoBytesMax = 65507;
// The largest coalesced receive UDP GRO hands up (one IPv4 UDP datagram's worth, rounded up).
constexpr uint32_t kGroBytesMax = 65536;

// One outgoing message: a GSO run (segment != 0) or a single datagram.
struct GsoRun {
  uint32_t first_slot;
  uint32_t slots;
  uint32_t stride;   // 1: consecutive slots; 2: every other slot (one half of a pair run)
  uint32_t segment;  // 0: a single datagram, no UDP_SEGMENT cmsg
  uint32_t span;     // batch slots this message completes once sent (0: the first half of a pair run)
};

// Room for one int cmsg (UDP_SEGMENT's uint16_t, UDP_GRO's int).
struct UdpControl {
  alignas(cmsghdr) char bytes[CMSG_SPACE(sizeof(int))];
};

// Builds one message starting at tx slot `first` (< end): a GSO run of equal-length datagrams to
// one destination from one endpoint (the last may be shorter), or a single datagram. Returns the
// number of slots it covers.
inline uint32_t BuildGsoRun(const BatchView& tx, uint32_t first, uint32_t end, bool gso, GsoRun* out) {
  const int32_t endpoint_id = tx.endpoint_ids[first];
  const uint32_t ip = tx.ips[first];
  const uint16_t port = tx.ports[first];
  const uint32_t segment = static_cast<uint32_t>(tx.lengths[first]);
  uint32_t count = 1;
  uint32_t total = segment;
  if (gso) {
    // Every segment but the last must be exactly `segment` long; the last may be shorter.
    while (first + count < end && count < kGsoSegmentsMax) {
      const uint32_t next = first + count;
      const uint32_t length = static_cast<uint32_t>(tx.lengths[next]);
      if (tx.endpoint_ids[next] != endpoint_id || tx.ips[next] != ip || tx.ports[next] != port) break;
      if (length > segment || total + length > kGsoBytesMax) break;
      count++;
      total += length;
      if (length < segment) break;
    }
  }
  out->first_slot = first;
  out->slots = count;
  out->stride = 1;
  out->segment = count > 1 ? segment : 0;
  out->span = count;
  return count;
}

// Pairs of a full datagram and a shorter tail, repeated (a stream of messages one fragment longer
// than the mtu carries: 1408, 56, 1408, 56, ...): alternating lengths defeat one GSO run, so the
// pairs go as two runs, the full datagrams then the tails. The receiver orders frames by term
// offset. Returns how many pairs from `first` (0 or 1 when the slots do not form such a run worth
// splitting).
inline uint32_t PairRunLength(const BatchView& tx, uint32_t first, uint32_t end) {
  if (first + 3 >= end) return 0;
  const int32_t endpoint_id = tx.endpoint_ids[first];
  const uint32_t ip = tx.ips[first];
  const uint16_t port = tx.ports[first];
  const int32_t full = tx.lengths[first];
  const int32_t tail = tx.lengths[first + 1];
  if (tail >= full) return 0;
  uint32_t pairs = 0;
  while (first + 2 * pairs + 1 < end && pairs < kGsoSegmentsMax &&
         static_cast<uint64_t>(pairs + 1) * static_cast<uint32_t>(full) <= kGsoBytesMax) {
    const uint32_t a = first + 2 * pairs;
    const uint32_t b = a + 1;
    if (tx.lengths[a] != full || tx.lengths[b] != tail) break;
    if (tx.endpoint_ids[a] != endpoint_id || tx.ips[a] != ip || tx.ports[a] != port) break;
    if (tx.endpoint_ids[b] != endpoint_id || tx.ips[b] != ip || tx.ports[b] != port) break;
    pairs++;
  }
  return pairs;
}

// Points `header` at the run's slots (iovecs from `iovs`, which must hold run.slots entries) and
// destination, with the UDP_SEGMENT cmsg in `control` when it is a GSO run.
inline void FillGsoHeader(const BatchView& tx, const GsoRun& run, msghdr* header, sockaddr_in* address, iovec* iovs,
                          UdpControl* control) {
  memset(header, 0, sizeof(*header));
  memset(address, 0, sizeof(*address));
  address->sin_family = AF_INET;
  address->sin_addr.s_addr = htonl(tx.ips[run.first_slot]);
  address->sin_port = htons(tx.ports[run.first_slot]);
  for (uint32_t k = 0; k < run.slots; k++) {
    const uint32_t slot = run.first_slot + k * run.stride;
    iovs[k].iov_base = tx.bytes + static_cast<size_t>(slot) * tx.slot_length;
    iovs[k].iov_len = static_cast<size_t>(tx.lengths[slot]);
  }
  header->msg_name = address;
  header->msg_namelen = sizeof(*address);
  header->msg_iov = iovs;
  header->msg_iovlen = run.slots;
  if (run.segment != 0) {
    memset(control, 0, sizeof(*control));
    header->msg_control = control->bytes;
    header->msg_controllen = sizeof(control->bytes);
    cmsghdr* cmsg = CMSG_FIRSTHDR(header);
    cmsg->cmsg_level = SOL_UDP;
    cmsg->cmsg_type = UDP_SEGMENT;
    cmsg->cmsg_len = CMSG_LEN(sizeof(uint16_t));
    const uint16_t segment = static_cast<uint16_t>(run.segment);
    memcpy(CMSG_DATA(cmsg), &segment, sizeof(segment));
  }
}

// The UDP_GRO segment size in a received control area of `length` bytes at `control` (0: none, the
// receive is one datagram). Walks the cmsgs without trusting any length past `length`.
inline uint32_t GroSegment(const void* control, size_t length) {
  const uint8_t* at = static_cast<const uint8_t*>(control);
  size_t offset = 0;
  uint32_t segment = 0;
  // Bounded: every step advances by at least CMSG_ALIGN(sizeof(cmsghdr)).
  while (offset + sizeof(cmsghdr) <= length) {
    cmsghdr cmsg;
    memcpy(&cmsg, at + offset, sizeof(cmsg));
    if (cmsg.cmsg_len < sizeof(cmsghdr) || cmsg.cmsg_len > length - offset) break;
    if (cmsg.cmsg_level == SOL_UDP && cmsg.cmsg_type == UDP_GRO && cmsg.cmsg_len >= CMSG_LEN(sizeof(int))) {
      int value = 0;
      memcpy(&value, at + offset + CMSG_LEN(0), sizeof(value));
      if (value > 0) segment = static_cast<uint32_t>(value);
    }
    offset += CMSG_ALIGN(cmsg.cmsg_len);
  }
  return segment;
}

}  // namespace native
}  // namespace petrel
