// Petrel's DPDK frame port: one ethdev port (a physical NIC bound to a poll-mode driver, or a
// virtual device such as net_af_packet or net_af_xdp over a kernel interface), one RX and one TX
// queue, and a pktmbuf pool sized from the two frame batches. It moves whole Ethernet frames;
// Petrel's netstack (src/drivers/netstack) builds and parses every header, as over AF_PACKET.
//
// One call from JavaScript moves a whole batch: send(start, end) takes mbufs from the pool in one
// bulk allocation, copies each frame of the JS FrameBatch into one, and hands them to the port with
// one rte_eth_tx_burst; mbufs the PMD did not take are freed and their slots stay in the batch (the
// caller sends them again, first). receive() calls rte_eth_rx_burst once for up to the batch's
// capacity, copies each frame into a slot and frees the mbufs at once. mbuf memory is never exposed
// to JavaScript: one copy each way is the price (as with the AF_PACKET rings).
//
// The EAL (DPDK's environment: memory, lcores, buses, devices) is initialised once per process, by
// the first port opened, with the arguments it gives; rte_eal_cleanup runs when the last port of
// the process closes. DPDK allows one initialisation per process: after cleanup (or after a failed
// rte_eal_init) no port can be opened again in that process (EALREADY). rte_eal_init pins the calling
// thread to the main lcore's CPUs; the port restores the thread's previous affinity afterwards so
// that Node's main thread keeps running wherever the scheduler likes (a process pinned to CPU 0
// next to a peer pinned to CPU 0 halves both on a small machine).
//
// Offloads: IPv4 header and UDP checksums are computed by the device when it offers them (the
// netstack then leaves the UDP checksum 0 and this file writes the pseudo-header sum the device
// completes); otherwise the netstack computes them in software. Received frames that the device
// marks with good IP and L4 checksums skip the software check. Multi-segment mbufs (RX scatter)
// are copied segment by segment. Multicast: all-multicast when the PMD has it, else a MAC filter
// of the joined groups, else promiscuous mode.
//
// Every DPDK call's failure comes back as {errno, code, syscall, message}: code is the rte_errno
// (or negative return) name such as "ENODEV", "EBUSY", "E_RTE_SECONDARY", syscall the rte_ call.
// No C++ exceptions.
#include "dpdk.h"
#include "napiCommon.h"

#include <errno.h>
#include <net/if.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace petrel {
namespace {

using namespace petrel::native;

// The EAL's process-wide state. DPDK keeps one environment per process; the addon may be used from
// several threads (worker mode), so the state changes under a mutex.
enum class Eal { kNone, kUp, kFailed, kCleanedUp };
std::mutex g_eal_mutex;
Eal g_eal = Eal::kNone;
int g_eal_errno = 0;
int g_eal_users = 0;
uint32_t g_pool_serial = 0;
// rte_eal_init may keep pointers into argv (device arguments): the strings live for the process.
std::vector<std::string>* g_eal_args = nullptr;
std::vector<char*>* g_eal_argv = nullptr;
// The EAL's runtime directory (/var/run/dpdk/<file-prefix>), removed after rte_eal_cleanup when
// DPDK left it empty (with --no-shconf it holds no file).
std::string* g_runtime_dir = nullptr;

// rte_eal_cleanup, then the runtime directory if empty. Called with g_eal_mutex held.
int CleanupEal() {
  const int ret = rte_eal_cleanup();
  g_eal = Eal::kCleanedUp;
  if (g_runtime_dir != nullptr && !g_runtime_dir->empty() && rmdir(g_runtime_dir->c_str()) != 0 && errno != ENOENT &&
      errno != ENOTEMPTY && errno != EEXIST) {
    return ret != 0 ? ret : -errno;
  }
  return ret;
}

// At exit, the runtime directory goes even when no port was disposed of (a process that ended
// without dispose): with --no-shconf it is empty while the EAL runs, and rmdir removes nothing else.
void RemoveRuntimeDirAtExit() {
  if (g_runtime_dir != nullptr && !g_runtime_dir->empty()) rmdir(g_runtime_dir->c_str());
}

// rte_eal_init prints its usage and some notices with printf: while it runs, the process's stdout
// (which may be the application's own channel, as for the test peers) points at stderr.
class StdoutToStderr {
 public:
  StdoutToStderr() {
    fflush(stdout);
    saved_ = dup(STDOUT_FILENO);
    if (saved_ >= 0 && dup2(STDERR_FILENO, STDOUT_FILENO) < 0) {
      close(saved_);
      saved_ = -1;
    }
  }
  ~StdoutToStderr() {
    if (saved_ < 0) return;
    fflush(stdout);
    if (dup2(saved_, STDOUT_FILENO) < 0) perror("petrel: restoring stdout after rte_eal_init");
    close(saved_);
  }
  StdoutToStderr(const StdoutToStderr&) = delete;
  StdoutToStderr& operator=(const StdoutToStderr&) = delete;

 private:
  int saved_ = -1;
};

const char* RteErrorName(int error) {
  if (error == E_RTE_SECONDARY) return "E_RTE_SECONDARY";
  if (error == E_RTE_NO_CONFIG) return "E_RTE_NO_CONFIG";
  return ErrnoName(error);
}

// { errno, code, syscall, message } for a DPDK failure: `error` is a positive rte_errno / errno value.
Napi::Object RteError(Napi::Env env, int error, const char* call, const std::string& detail = "") {
  Napi::Object result = Napi::Object::New(env);
  result.Set("errno", Napi::Number::New(env, error));
  result.Set("code", Napi::String::New(env, RteErrorName(error)));
  result.Set("syscall", Napi::String::New(env, call));
  std::string message = rte_strerror(error);
  if (!detail.empty()) message = detail + ": " + message;
  result.Set("message", Napi::String::New(env, message));
  return result;
}

// (ethdev returns -errno: -1 is EPERM, not "see rte_errno").
int Negated(int ret) { return ret < 0 ? -ret : (rte_errno != 0 ? rte_errno : EIO); }

// Every "iface=NAME" in the EAL arguments (virtual devices over kernel interfaces) must name an
// interface that exists: DPDK would otherwise fail deep in rte_eal_init with ENOTSUP ("Cannot probe
// devices"), which says nothing about the cause.
std::string MissingInterface(const std::vector<std::string>& args) {
  for (const std::string& arg : args) {
    for (size_t at = arg.find("iface="); at != std::string::npos; at = arg.find("iface=", at + 6)) {
      if (at != 0 && arg[at - 1] != ',' && arg[at - 1] != '=') continue;
      const size_t end = arg.find(',', at + 6);
      const std::string name = arg.substr(at + 6, end == std::string::npos ? std::string::npos : end - at - 6);
      if (name.empty() || name.size() >= IF_NAMESIZE || if_nametoindex(name.c_str()) == 0) return name.empty() ? "(empty)" : name;
    }
  }
  return "";
}

uint16_t Read16(const uint8_t* p) { return static_cast<uint16_t>((p[0] << 8) | p[1]); }

}  // namespace

Napi::Object DpdkPort::Init(Napi::Env env, Napi::Object exports) {
  Napi::Function constructor = DefineClass(env, "DpdkPort", {
      InstanceMethod("open", &DpdkPort::Open),
      InstanceMethod("send", &DpdkPort::Send),
      InstanceMethod("receive", &DpdkPort::Receive),
      InstanceMethod("setMulticast", &DpdkPort::SetMulticast),
      InstanceMethod("stats", &DpdkPort::Stats),
      InstanceMethod("lastError", &DpdkPort::LastError),
      InstanceMethod("close", &DpdkPort::Close),
  });
  exports.Set("DpdkPort", constructor);
  return exports;
}

// new DpdkPort(txBytes, txLengths, txFlags, txTimestamps, txCapacity, txSlotLength,
//              rxBytes, rxLengths, rxFlags, rxTimestamps, rxCapacity, rxSlotLength)
DpdkPort::DpdkPort(const Napi::CallbackInfo& info) : Napi::ObjectWrap<DpdkPort>(info) {
  Napi::Env env = info.Env();
  if (info.Length() != 12) {
    ThrowType(env, "DpdkPort expects 12 arguments (two frame batches)");
    return;
  }
  if (!Uint32Arg(info, 4, 1, 4096, &tx_.capacity) || !Uint32Arg(info, 5, 64, 65536, &tx_.slot_length) ||
      !Uint32Arg(info, 10, 1, 4096, &rx_.capacity) || !Uint32Arg(info, 11, 64, 65536, &rx_.slot_length)) {
    Napi::RangeError::New(env, "DpdkPort: capacity must be 1..4096 and slot length 64..65536").ThrowAsJavaScriptException();
    return;
  }
  if (!Frames(info, 0, &tx_)) return;
  Frames(info, 6, &rx_);
}

DpdkPort::~DpdkPort() { Release(); }

bool DpdkPort::Frames(const Napi::CallbackInfo& info, size_t first, FrameView* view) {
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

const char* DpdkPort::LostFrames(napi_env env, const FrameView& view) {
  static constexpr const char* kNames[4] = {"bytes", "lengths", "flags", "timestampsNs"};
  for (size_t i = 0; i < 4; i++) {
    if (!StillHeld(env, view.held[i])) return kNames[i];
  }
  return nullptr;
}

void DpdkPort::Record(int error, const char* call) {
  last_errno_ = error;
  last_call_ = call;
  errors_++;
}

// Stops and closes the port, frees its pool, and cleans the EAL up when this was its last user.
void DpdkPort::Release() {
  if (started_) {
    const int ret = rte_eth_dev_stop(port_id_);
    if (ret != 0) Record(Negated(ret), "rte_eth_dev_stop");
    started_ = false;
  }
  if (owned_) {
    int ret = rte_eth_dev_owner_unset(port_id_, owner_id_);
    if (ret != 0) Record(Negated(ret), "rte_eth_dev_owner_unset");
    ret = rte_eth_dev_owner_delete(owner_id_);
    if (ret != 0) Record(Negated(ret), "rte_eth_dev_owner_delete");
    owned_ = false;
  }
  if (open_) {
    const int ret = rte_eth_dev_close(port_id_);
    if (ret != 0) Record(Negated(ret), "rte_eth_dev_close");
  }
  if (pool_ != nullptr) {
    rte_mempool_free(static_cast<rte_mempool*>(pool_));
    pool_ = nullptr;
  }
  if (open_) {
    open_ = false;
    std::lock_guard<std::mutex> lock(g_eal_mutex);
    if (--g_eal_users == 0 && g_eal == Eal::kUp) {
      const int ret = CleanupEal();
      if (ret != 0) Record(Negated(ret), "rte_eal_cleanup");
    }
  }
}

// open(ealArgs: string[], port: string | number, rxDescriptors, txDescriptors, allMulticast,
//      restoreAffinity) -> {portId, name, driver, mac, mtu, offloads, multicast, ...} or an error.
Napi::Value DpdkPort::Open(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 6 || !info[0].IsArray() || !(info[1].IsString() || info[1].IsNumber())) {
    ThrowType(env, "open(ealArgs, port, rxDescriptors, txDescriptors, allMulticast, restoreAffinity)");
    return env.Undefined();
  }
  uint32_t rx_desc32 = 0, tx_desc32 = 0;
  if (!Uint32Arg(info, 2, 16, 16384, &rx_desc32) || !Uint32Arg(info, 3, 16, 16384, &tx_desc32)) {
    ThrowType(env, "open: rxDescriptors and txDescriptors must be integers in 16..16384");
    return env.Undefined();
  }
  const bool all_multicast = info[4].ToBoolean().Value();
  const bool restore_affinity = info[5].ToBoolean().Value();
  if (open_) return RteError(env, EISCONN, "open", "this port is already open");
  Napi::Array array = info[0].As<Napi::Array>();
  if (array.Length() > 256) return RteError(env, E2BIG, "rte_eal_init", "at most 256 EAL arguments");
  std::vector<std::string> args;
  args.reserve(array.Length() + 1);
  args.emplace_back("petrel");
  for (uint32_t i = 0; i < array.Length(); i++) {
    Napi::Value value = array.Get(i);
    if (!value.IsString()) {
      ThrowType(env, "open: every EAL argument must be a string");
      return env.Undefined();
    }
    args.push_back(value.As<Napi::String>().Utf8Value());
    if (args.back().size() > 4096) return RteError(env, E2BIG, "rte_eal_init", "an EAL argument longer than 4096 bytes");
  }

  {
    std::lock_guard<std::mutex> lock(g_eal_mutex);
    if (g_eal == Eal::kFailed) return RteError(env, EALREADY, "rte_eal_init", "an earlier rte_eal_init failed in this process (DPDK cannot retry it)");
    if (g_eal == Eal::kCleanedUp) {
      return RteError(env, EALREADY, "rte_eal_init", "the EAL was cleaned up in this process (DPDK initialises once per process)");
    }
    if (g_eal == Eal::kNone) {
      const std::string missing = MissingInterface(args);
      if (!missing.empty()) return RteError(env, ENODEV, "if_nametoindex", "no such interface for the virtual device: " + missing);
      g_eal_args = new std::vector<std::string>(args);
      g_eal_argv = new std::vector<char*>();
      for (std::string& arg : *g_eal_args) g_eal_argv->push_back(arg.data());
      g_eal_argv->push_back(nullptr);
      // DPDK's console log goes to stdout by default: keep it on stderr, away from the application's output.
      if (rte_openlog_stream(stderr) != 0) return RteError(env, EIO, "rte_openlog_stream");
      cpu_set_t affinity;
      CPU_ZERO(&affinity);
      const int got_affinity = pthread_getaffinity_np(pthread_self(), sizeof(affinity), &affinity);
      if (got_affinity != 0) return RteError(env, got_affinity, "pthread_getaffinity_np");
      int ret = 0;
      {
        StdoutToStderr redirect;
        ret = rte_eal_init(static_cast<int>(g_eal_args->size()), g_eal_argv->data());
      }
      if (ret < 0) {
        g_eal = Eal::kFailed;
        g_eal_errno = rte_errno != 0 ? rte_errno : EINVAL;
        std::string joined;
        for (size_t i = 1; i < args.size(); i++) joined += (i > 1 ? " " : "") + args[i];
        return RteError(env, g_eal_errno, "rte_eal_init", "EAL initialisation failed with arguments [" + joined + "]");
      }
      g_eal = Eal::kUp;
      g_runtime_dir = new std::string(rte_eal_get_runtime_dir());
      if (atexit(RemoveRuntimeDirAtExit) != 0) {
        CleanupEal();
        return RteError(env, ENOMEM, "atexit");
      }
      if (restore_affinity) {
        const int set = pthread_setaffinity_np(pthread_self(), sizeof(affinity), &affinity);
        if (set != 0) {
          CleanupEal();
          return RteError(env, set, "pthread_setaffinity_np");
        }
      }
    }
    g_eal_users++;
    open_ = true;  // from here on Release() undoes what was done, the EAL user included
  }
  auto fail = [&](int error, const char* call, const std::string& detail = "") -> Napi::Value {
    Release();
    return RteError(env, error, call, detail);
  };

  uint16_t port_id = 0;
  std::string name;
  if (info[1].IsNumber()) {
    uint32_t id = 0;
    if (!Uint32Arg(info, 1, 0, RTE_MAX_ETHPORTS - 1, &id) || !rte_eth_dev_is_valid_port(static_cast<uint16_t>(id))) {
      return fail(ENODEV, "rte_eth_dev_is_valid_port", "no DPDK port " + std::to_string(info[1].As<Napi::Number>().DoubleValue()));
    }
    port_id = static_cast<uint16_t>(id);
  } else {
    name = info[1].As<Napi::String>().Utf8Value();
    const int ret = rte_eth_dev_get_port_by_name(name.c_str(), &port_id);
    if (ret != 0) return fail(ENODEV, "rte_eth_dev_get_port_by_name", "no DPDK port named " + name + " (" + std::to_string(rte_eth_dev_count_avail()) + " ports)");
  }
  char port_name[RTE_ETH_NAME_MAX_LEN] = {0};
  int ret = rte_eth_dev_get_name_by_port(port_id, port_name);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_get_name_by_port");
  // Port ownership is DPDK's own "in use" mark: a second Petrel port (or another DPDK component) on
  // the same device gets EBUSY here instead of two owners fighting over one queue pair.
  ret = rte_eth_dev_owner_new(&owner_id_);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_owner_new");
  rte_eth_dev_owner owner{};
  owner.id = owner_id_;
  snprintf(owner.name, sizeof(owner.name), "petrel");
  ret = rte_eth_dev_owner_set(port_id, &owner);
  if (ret != 0) {
    // DPDK says EPERM when the port already has an owner; Petrel reports that as EBUSY ("port in
    // use", naming the owner), and any other failure as it is.
    int error = Negated(ret);
    rte_eth_dev_owner current{};
    std::string detail = std::string("rte_eth_dev_owner_set on DPDK port ") + port_name;
    if (rte_eth_dev_owner_get(port_id, &current) == 0 && current.id != RTE_ETH_DEV_NO_OWNER) {
      error = EBUSY;
      detail = std::string("DPDK port ") + port_name + " is in use (owned by \"" + current.name + "\": another Petrel port or DPDK component)";
    }
    if (rte_eth_dev_owner_delete(owner_id_) != 0) errors_++;
    // The port belongs to someone else: do not close it.
    {
      std::lock_guard<std::mutex> lock(g_eal_mutex);
      open_ = false;
      if (--g_eal_users == 0 && g_eal == Eal::kUp && CleanupEal() != 0) errors_++;
    }
    return RteError(env, error, "rte_eth_dev_owner_set", detail);
  }
  owned_ = true;
  port_id_ = port_id;

  rte_eth_dev_info dev_info{};
  ret = rte_eth_dev_info_get(port_id, &dev_info);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_info_get");
  rte_eth_conf conf{};
  const uint64_t tx_cksum = RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM;
  const uint64_t rx_cksum = RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM;
  tx_ip_cksum_ = (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_IPV4_CKSUM) != 0;
  tx_udp_cksum_ = (dev_info.tx_offload_capa & RTE_ETH_TX_OFFLOAD_UDP_CKSUM) != 0;
  rx_cksum_ = (dev_info.rx_offload_capa & rx_cksum) == rx_cksum;
  conf.txmode.offloads = dev_info.tx_offload_capa & (tx_cksum | RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
  conf.rxmode.offloads = dev_info.rx_offload_capa & (rx_cksum | RTE_ETH_RX_OFFLOAD_SCATTER);
  ret = rte_eth_dev_configure(port_id, 1, 1, &conf);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_configure");
  uint16_t rx_desc = static_cast<uint16_t>(rx_desc32);
  uint16_t tx_desc = static_cast<uint16_t>(tx_desc32);
  ret = rte_eth_dev_adjust_nb_rx_tx_desc(port_id, &rx_desc, &tx_desc);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_adjust_nb_rx_tx_desc");

  // The pool holds every descriptor of both rings, one full batch each way in flight, the per-lcore
  // cache, and what a PMD keeps in rings of its own: net_af_xdp fills its UMEM fill ring (up to 4096
  // entries by default) with mbufs from this pool, and frees sent ones only as completions come back.
  // Its data room holds the largest slot (capped at what an mbuf can describe).
  const uint32_t cache = 256;
  const uint32_t pmd_rings = 8192;
  const uint32_t pool_size = static_cast<uint32_t>(rx_desc) + tx_desc + rx_.capacity + tx_.capacity + 2 * cache + pmd_rings;
  const uint32_t largest = rx_.slot_length > tx_.slot_length ? rx_.slot_length : tx_.slot_length;
  const uint32_t room_limit = UINT16_MAX - RTE_PKTMBUF_HEADROOM;
  data_room_ = largest < room_limit ? largest : room_limit;
  char pool_name[RTE_MEMPOOL_NAMESIZE];
  {
    std::lock_guard<std::mutex> lock(g_eal_mutex);
    snprintf(pool_name, sizeof(pool_name), "petrel%u_%u", port_id, g_pool_serial++);
  }
  const int socket = rte_eth_dev_socket_id(port_id);
  rte_mempool* pool = rte_pktmbuf_pool_create(pool_name, pool_size, cache, 0, static_cast<uint16_t>(data_room_ + RTE_PKTMBUF_HEADROOM),
                                              socket < 0 ? SOCKET_ID_ANY : socket);
  if (pool == nullptr) return fail(rte_errno, "rte_pktmbuf_pool_create", "a pool of " + std::to_string(pool_size) + " mbufs");
  pool_ = pool;
  rte_eth_rxconf rxconf = dev_info.default_rxconf;
  rxconf.offloads = conf.rxmode.offloads;
  ret = rte_eth_rx_queue_setup(port_id, 0, rx_desc, socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket), &rxconf, pool);
  if (ret != 0) return fail(Negated(ret), "rte_eth_rx_queue_setup");
  rte_eth_txconf txconf = dev_info.default_txconf;
  txconf.offloads = conf.txmode.offloads;
  ret = rte_eth_tx_queue_setup(port_id, 0, tx_desc, socket < 0 ? SOCKET_ID_ANY : static_cast<unsigned>(socket), &txconf);
  if (ret != 0) return fail(Negated(ret), "rte_eth_tx_queue_setup");
  ret = rte_eth_dev_start(port_id);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_start");
  started_ = true;

  // Multicast: all-multicast where the PMD has it; otherwise a MAC filter set per joined group
  // (setMulticast); otherwise promiscuous. Virtual devices over a kernel interface deliver every
  // frame the interface receives whatever the mode.
  const char* multicast = "none";
  ret = all_multicast ? rte_eth_allmulticast_enable(port_id) : -ENOTSUP;
  if (ret == 0) {
    all_multicast_ = true;
    multicast = "allmulticast";
  } else if (rte_eth_dev_set_mc_addr_list(port_id, nullptr, 0) == 0) {
    multicast = "mac-filter";
  } else {
    ret = rte_eth_promiscuous_enable(port_id);
    if (ret == 0) {
      promiscuous_ = true;
      multicast = "promiscuous";
    }
  }

  rte_ether_addr mac{};
  ret = rte_eth_macaddr_get(port_id, &mac);
  if (ret != 0) return fail(Negated(ret), "rte_eth_macaddr_get");
  uint16_t mtu = 0;
  ret = rte_eth_dev_get_mtu(port_id, &mtu);
  if (ret != 0) return fail(Negated(ret), "rte_eth_dev_get_mtu");

  rx_mbufs_.assign(rx_.capacity, nullptr);
  tx_mbufs_.assign(tx_.capacity, nullptr);
  tx_slots_.assign(tx_.capacity, 0);

  Napi::Object result = Napi::Object::New(env);
  result.Set("portId", Napi::Number::New(env, port_id));
  result.Set("name", Napi::String::New(env, port_name));
  result.Set("driver", Napi::String::New(env, dev_info.driver_name != nullptr ? dev_info.driver_name : ""));
  Napi::Array mac_array = Napi::Array::New(env, 6);
  for (uint32_t i = 0; i < 6; i++) mac_array.Set(i, Napi::Number::New(env, mac.addr_bytes[i]));
  result.Set("mac", mac_array);
  result.Set("mtu", Napi::Number::New(env, mtu));
  result.Set("maxRxFrame", Napi::Number::New(env, dev_info.max_rx_pktlen));
  result.Set("rxDescriptors", Napi::Number::New(env, rx_desc));
  result.Set("txDescriptors", Napi::Number::New(env, tx_desc));
  result.Set("poolSize", Napi::Number::New(env, pool_size));
  result.Set("dataRoom", Napi::Number::New(env, data_room_));
  Napi::Object offloads = Napi::Object::New(env);
  offloads.Set("txIpv4Checksum", Napi::Boolean::New(env, tx_ip_cksum_));
  offloads.Set("txUdpChecksum", Napi::Boolean::New(env, tx_udp_cksum_));
  offloads.Set("rxChecksum", Napi::Boolean::New(env, rx_cksum_));
  offloads.Set("txMultiSegment", Napi::Boolean::New(env, (conf.txmode.offloads & RTE_ETH_TX_OFFLOAD_MULTI_SEGS) != 0));
  offloads.Set("rxScatter", Napi::Boolean::New(env, (conf.rxmode.offloads & RTE_ETH_RX_OFFLOAD_SCATTER) != 0));
  result.Set("offloads", offloads);
  result.Set("multicast", Napi::String::New(env, multicast));
  return result;
}

// send(start, end) -> frames consumed from start (handed to the PMD, or dropped as malformed).
Napi::Value DpdkPort::Send(const Napi::CallbackInfo& info) {
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
  if (!started_) {
    Record(EBADF, "send");
    return Napi::Number::New(env, 0);
  }
  // Slots that can go out; malformed ones (no Ethernet header, longer than a slot or an mbuf) are
  // dropped and counted, and stay consumed.
  uint32_t k = 0;
  for (uint32_t i = start; i < end; i++) {
    const int32_t length = tx_.lengths[i];
    if (length < 14 || static_cast<uint32_t>(length) > tx_.slot_length || static_cast<uint32_t>(length) > data_room_) {
      dropped_++;
      Record(EMSGSIZE, "send(frame longer than a slot or an mbuf)");
      continue;
    }
    tx_slots_[k++] = i;
  }
  send_calls_++;
  if (k == 0) return Napi::Number::New(env, end - start);
  rte_mbuf** mbufs = reinterpret_cast<rte_mbuf**>(tx_mbufs_.data());
  if (rte_pktmbuf_alloc_bulk(static_cast<rte_mempool*>(pool_), mbufs, k) != 0) {
    // The pool is empty (the PMD still holds mbufs): like a full ring, send later.
    no_mbufs_++;
    would_block_++;
    return Napi::Number::New(env, tx_slots_[0] - start);
  }
  for (uint32_t j = 0; j < k; j++) {
    const uint32_t slot = tx_slots_[j];
    const uint32_t length = static_cast<uint32_t>(tx_.lengths[slot]);
    rte_mbuf* m = mbufs[j];
    uint8_t* data = rte_pktmbuf_mtod(m, uint8_t*);
    memcpy(data, tx_.bytes + static_cast<size_t>(slot) * tx_.slot_length, length);
    m->data_len = static_cast<uint16_t>(length);
    m->pkt_len = length;
    // Checksum offload: an IPv4/UDP frame whose UDP checksum the netstack left 0 gets the pseudo-header
    // sum the device completes (and the IP header checksum, zeroed, when the device does that too).
    if (tx_udp_cksum_ && length >= 14 + 20 + 8 && Read16(data + 12) == 0x0800 && data[14 + 9] == 17) {
      const uint32_t ihl = static_cast<uint32_t>(data[14] & 0x0f) * 4;
      if (ihl >= 20 && 14 + ihl + 8 <= length) {
        rte_ipv4_hdr* ip = reinterpret_cast<rte_ipv4_hdr*>(data + 14);
        rte_udp_hdr* udp = reinterpret_cast<rte_udp_hdr*>(data + 14 + ihl);
        if (udp->dgram_cksum == 0) {
          m->l2_len = 14;
          m->l3_len = ihl;
          m->ol_flags = RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_UDP_CKSUM;
          if (tx_ip_cksum_) {
            m->ol_flags |= RTE_MBUF_F_TX_IP_CKSUM;
            ip->hdr_checksum = 0;
          }
          udp->dgram_cksum = rte_ipv4_phdr_cksum(ip, m->ol_flags);
          checksum_offloaded_++;
        }
      }
    }
  }
  const uint16_t sent = rte_eth_tx_burst(port_id_, 0, mbufs, static_cast<uint16_t>(k));
  frames_sent_ += sent;
  if (sent < k) {
    // The PMD's ring is full: the frames it did not take stay in the batch, in order.
    rte_pktmbuf_free_bulk(mbufs + sent, k - sent);
    would_block_++;
    return Napi::Number::New(env, tx_slots_[sent] - start);
  }
  return Napi::Number::New(env, end - start);
}

// receive() -> frames written to the RX batch from slot 0 (one rte_eth_rx_burst).
Napi::Value DpdkPort::Receive(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (const char* lost = LostFrames(env, rx_)) {
    Record(EFAULT, "receive");
    return DetachedError(env, "receive", "receive frame", lost);
  }
  if (!started_) return Napi::Number::New(env, 0);
  receive_calls_++;
  rte_mbuf** mbufs = reinterpret_cast<rte_mbuf**>(rx_mbufs_.data());
  const uint16_t got = rte_eth_rx_burst(port_id_, 0, mbufs, static_cast<uint16_t>(rx_.capacity));
  uint32_t n = 0;
  for (uint16_t j = 0; j < got; j++) {
    const rte_mbuf* m = mbufs[j];
    const uint32_t length = rte_pktmbuf_pkt_len(m);
    if (length > rx_.slot_length) {
      truncated_++;
      continue;
    }
    uint8_t* out = rx_.bytes + static_cast<size_t>(n) * rx_.slot_length;
    // A scattered frame is a chain of segments: copy each, never beyond pkt_len (<= the slot).
    uint32_t copied = 0;
    for (const rte_mbuf* seg = m; seg != nullptr && copied < length; seg = seg->next) {
      const uint32_t piece = seg->data_len < length - copied ? seg->data_len : length - copied;
      memcpy(out + copied, rte_pktmbuf_mtod(seg, const uint8_t*), piece);
      copied += piece;
    }
    if (copied != length) {
      truncated_++;
      continue;
    }
    uint8_t flags = 0;
    if (rx_cksum_ && (m->ol_flags & RTE_MBUF_F_RX_IP_CKSUM_MASK) == RTE_MBUF_F_RX_IP_CKSUM_GOOD &&
        (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) == RTE_MBUF_F_RX_L4_CKSUM_GOOD) {
      flags = 2;  // FRAME_FLAG_CHECKSUM_VALID
    }
    rx_.lengths[n] = static_cast<int32_t>(length);
    rx_.flags[n] = flags;
    rx_.timestamps[n] = 0;
    n++;
  }
  if (got > 0) rte_pktmbuf_free_bulk(mbufs, got);
  frames_received_ += n;
  return Napi::Number::New(env, n);
}

// setMulticast(macs: Uint8Array of 6-byte group MACs) -> mode string, or an error. With all-multicast
// or promiscuous on there is nothing to program; otherwise the MAC filter becomes exactly `macs`.
Napi::Value DpdkPort::SetMulticast(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() != 1 || !info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) {
    ThrowType(env, "setMulticast(macs: Uint8Array)");
    return env.Undefined();
  }
  Napi::Uint8Array macs = info[0].As<Napi::Uint8Array>();
  const size_t count = macs.ElementLength() / 6;
  if (macs.ElementLength() % 6 != 0 || count > 256) {
    ThrowType(env, "setMulticast: a whole number of 6-byte MACs, at most 256");
    return env.Undefined();
  }
  if (!started_) return RteError(env, EBADF, "setMulticast", "the port is closed");
  if (all_multicast_) return Napi::String::New(env, "allmulticast");
  if (promiscuous_) return Napi::String::New(env, "promiscuous");
  std::vector<rte_ether_addr> list(count);
  for (size_t i = 0; i < count; i++) memcpy(list[i].addr_bytes, macs.Data() + i * 6, 6);
  const int ret = rte_eth_dev_set_mc_addr_list(port_id_, list.data(), static_cast<uint32_t>(count));
  if (ret != 0) {
    const int promisc = rte_eth_promiscuous_enable(port_id_);
    if (promisc != 0) return RteError(env, Negated(ret), "rte_eth_dev_set_mc_addr_list", "and promiscuous mode failed too");
    promiscuous_ = true;
    return Napi::String::New(env, "promiscuous");
  }
  return Napi::String::New(env, "mac-filter");
}

Napi::Value DpdkPort::Stats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object result = Napi::Object::New(env);
  rte_eth_stats eth{};
  if (started_) {
    const int ret = rte_eth_stats_get(port_id_, &eth);
    if (ret != 0) Record(Negated(ret), "rte_eth_stats_get");
  }
  result.Set("framesSent", Napi::Number::New(env, static_cast<double>(frames_sent_)));
  result.Set("framesReceived", Napi::Number::New(env, static_cast<double>(frames_received_)));
  result.Set("sendCalls", Napi::Number::New(env, static_cast<double>(send_calls_)));
  result.Set("receiveCalls", Napi::Number::New(env, static_cast<double>(receive_calls_)));
  result.Set("wouldBlock", Napi::Number::New(env, static_cast<double>(would_block_)));
  result.Set("noMbufs", Napi::Number::New(env, static_cast<double>(no_mbufs_)));
  result.Set("dropped", Napi::Number::New(env, static_cast<double>(dropped_ + eth.imissed + eth.rx_nombuf)));
  result.Set("truncated", Napi::Number::New(env, static_cast<double>(truncated_)));
  result.Set("errors", Napi::Number::New(env, static_cast<double>(errors_)));
  result.Set("checksumOffloaded", Napi::Number::New(env, static_cast<double>(checksum_offloaded_)));
  result.Set("portPackets", Napi::Number::New(env, static_cast<double>(eth.ipackets)));
  result.Set("portMissed", Napi::Number::New(env, static_cast<double>(eth.imissed)));
  result.Set("portRxErrors", Napi::Number::New(env, static_cast<double>(eth.ierrors)));
  result.Set("portTxErrors", Napi::Number::New(env, static_cast<double>(eth.oerrors)));
  result.Set("portNoMbufs", Napi::Number::New(env, static_cast<double>(eth.rx_nombuf)));
  return result;
}

Napi::Value DpdkPort::LastError(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (last_errno_ == 0) return env.Null();
  return RteError(env, last_errno_, last_call_);
}

Napi::Value DpdkPort::Close(const Napi::CallbackInfo& info) {
  Release();
  return info.Env().Undefined();
}

}  // namespace petrel
