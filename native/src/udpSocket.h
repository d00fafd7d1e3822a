// Opening an engine endpoint's UDP socket, shared by the sockets and io_uring backends: the same
// arguments from JavaScript, the same options in the same order, one typed failure.
#pragma once

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>

#include "napiCommon.h"

namespace petrel {
namespace native {

struct UdpSocketOptions {
  uint32_t ip = 0;
  uint32_t port = 0;
  uint32_t rcvbuf = 0;
  uint32_t sndbuf = 0;
  uint32_t ttl = 0;
  uint32_t group = 0;
  uint32_t interface_ip = 0;
  /** O_NONBLOCK (the sockets driver); io_uring wants a blocking socket (its sends carry MSG_DONTWAIT). */
  bool nonblocking = true;
};

struct UdpSocket {
  /** The socket, or -1 when a step failed (then `error` and `failed` say which). */
  int fd = -1;
  int error = 0;
  const char* failed = nullptr;
  /** The bound address (the ephemeral port the kernel chose when port was 0). */
  sockaddr_in address{};
  /** Buffer sizes as the kernel reports them (-1 when unknown). */
  int rcvbuf = -1;
  int sndbuf = -1;
};

// Reads open(endpointId, bindIp, bindPort, rcvbufBytes, sndbufBytes, ttl, multicastGroupIp,
// interfaceIp). Returns false (and throws a TypeError in JavaScript) when an argument is missing or
// out of range.
inline bool OpenArgs(const Napi::CallbackInfo& info, uint32_t* id, UdpSocketOptions* o) {
  if (!Uint32Arg(info, 0, 0, 0x7fffffff, id) || !Uint32Arg(info, 1, 0, 0xffffffffu, &o->ip) ||
      !Uint32Arg(info, 2, 0, 65535, &o->port) || !Uint32Arg(info, 3, 0, 0x7fffffff, &o->rcvbuf) ||
      !Uint32Arg(info, 4, 0, 0x7fffffff, &o->sndbuf) || !Uint32Arg(info, 5, 0, 255, &o->ttl) ||
      !Uint32Arg(info, 6, 0, 0xffffffffu, &o->group) || !Uint32Arg(info, 7, 0, 0xffffffffu, &o->interface_ip)) {
    ThrowType(info.Env(), "open(endpointId, bindIp, bindPort, rcvbufBytes, sndbufBytes, ttl, multicastGroupIp, interfaceIp) "
                          "expects integers in range");
    return false;
  }
  return true;
}

// Creates, configures, binds and (for a group) joins. On failure the socket is closed and the
// result names the failing call and its errno.
inline UdpSocket OpenUdpSocket(const UdpSocketOptions& o) {
  UdpSocket s;
  int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | (o.nonblocking ? SOCK_NONBLOCK : 0), 0);
  if (fd < 0) {
    s.error = errno;
    s.failed = "socket";
    return s;
  }
  const char* failed = nullptr;
  // Buffer sizes: the *FORCE variants pass the rmem_max/wmem_max limits and need CAP_NET_ADMIN;
  // without it, fall back to the plain option (which the kernel silently caps).
  if (o.rcvbuf > 0 && !SetIntOption(fd, SOL_SOCKET, SO_RCVBUFFORCE, static_cast<int>(o.rcvbuf)) &&
      !SetIntOption(fd, SOL_SOCKET, SO_RCVBUF, static_cast<int>(o.rcvbuf))) {
    failed = "setsockopt(SO_RCVBUF)";
  } else if (o.sndbuf > 0 && !SetIntOption(fd, SOL_SOCKET, SO_SNDBUFFORCE, static_cast<int>(o.sndbuf)) &&
             !SetIntOption(fd, SOL_SOCKET, SO_SNDBUF, static_cast<int>(o.sndbuf))) {
    failed = "setsockopt(SO_SNDBUF)";
  } else if (o.ttl > 0 && !SetIntOption(fd, IPPROTO_IP, IP_TTL, static_cast<int>(o.ttl))) {
    failed = "setsockopt(IP_TTL)";
    // Multicast: every member on this host binds the same port, so the port must be shareable;
    // the interface and TTL also apply to datagrams this socket sends to a group.
  } else if (o.group != 0 && !SetIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1)) {
    failed = "setsockopt(SO_REUSEADDR)";
  } else if (o.ttl > 0 && !SetIntOption(fd, IPPROTO_IP, IP_MULTICAST_TTL, static_cast<int>(o.ttl))) {
    failed = "setsockopt(IP_MULTICAST_TTL)";
  }
  if (failed == nullptr && o.interface_ip != 0) {
    in_addr interface_address{};
    interface_address.s_addr = htonl(o.interface_ip);
    if (setsockopt(fd, IPPROTO_IP, IP_MULTICAST_IF, &interface_address, sizeof(interface_address)) != 0) {
      failed = "setsockopt(IP_MULTICAST_IF)";
    }
  }
  // A multicast socket binds the group address itself (Linux delivers a group's datagrams only to
  // sockets bound to the group or to the wildcard); the interface is chosen by IP_ADD_MEMBERSHIP.
  s.address.sin_family = AF_INET;
  s.address.sin_addr.s_addr = htonl(o.group != 0 ? o.group : o.ip);
  s.address.sin_port = htons(static_cast<uint16_t>(o.port));
  socklen_t length = sizeof(s.address);
  if (failed == nullptr && bind(fd, reinterpret_cast<sockaddr*>(&s.address), sizeof(s.address)) != 0) failed = "bind";
  if (failed == nullptr && getsockname(fd, reinterpret_cast<sockaddr*>(&s.address), &length) != 0) failed = "getsockname";
  if (failed == nullptr && o.group != 0) {
    ip_mreq membership{};
    membership.imr_multiaddr.s_addr = htonl(o.group);
    membership.imr_interface.s_addr = htonl(o.interface_ip);
    if (setsockopt(fd, IPPROTO_IP, IP_ADD_MEMBERSHIP, &membership, sizeof(membership)) != 0) {
      failed = "setsockopt(IP_ADD_MEMBERSHIP)";
    }
  }
  if (failed != nullptr) {
    s.error = errno;
    s.failed = failed;
    close(fd);
    return s;
  }
  socklen_t option_length = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s.rcvbuf, &option_length) != 0) s.rcvbuf = -1;
  option_length = sizeof(int);
  if (getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &s.sndbuf, &option_length) != 0) s.sndbuf = -1;
  s.fd = fd;
  return s;
}

/** The part of open()'s result both backends share. */
inline void SetOpenResult(Napi::Object result, const UdpSocket& s) {
  Napi::Env env = result.Env();
  result.Set("port", Napi::Number::New(env, ntohs(s.address.sin_port)));
  result.Set("ip", Napi::Number::New(env, ntohl(s.address.sin_addr.s_addr)));
  result.Set("rcvbufBytes", Napi::Number::New(env, s.rcvbuf));
  result.Set("sndbufBytes", Napi::Number::New(env, s.sndbuf));
}

}  // namespace native
}  // namespace petrel
