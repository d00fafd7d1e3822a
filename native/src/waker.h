// ReadableWaker: wakes JavaScript when one of a set of sockets becomes readable, without blocking
// the JavaScript thread and without a timer. A helper thread sleeps in epoll_wait(2) for good; the
// sockets are in its epoll set as one-shot entries, which Arm() re-enables (EPOLL_CTL_MOD, which
// also reports data already waiting). The first readable socket after Arm() makes the thread call
// a JavaScript function once (a thread-safe function, delivered through the event loop) and
// disarm. While JavaScript is busy the entries stay disabled, so a stream of datagrams costs the
// thread at most one wake per arm. An idle client costs no CPU, and a datagram ends its sleep
// within the event loop's wake-up latency.
//
// Start() creates the epoll set, an eventfd that stops the thread, the thread, and the
// thread-safe function (unreferenced: it never keeps the process alive). Every failed system call
// is returned as an errno; nothing throws.
#pragma once

#include <napi.h>
#include <pthread.h>

#include <atomic>
#include <cstddef>
#include <cstdint>

namespace petrel {

class ReadableWaker {
 public:
  ReadableWaker() = default;
  ReadableWaker(const ReadableWaker&) = delete;
  ReadableWaker& operator=(const ReadableWaker&) = delete;
  // Stops and joins the thread, releases the function, closes the descriptors.
  ~ReadableWaker();

  // Creates what the waker needs on first use; `callback` is the function every wake calls.
  // Returns 0 or an errno; `*failed` names the system call that failed.
  int Start(Napi::Env env, Napi::Function callback, const char** failed);
  bool started() const { return started_; }
  // Arms for these sockets: the next readable one calls the function once. A socket not yet in
  // the set is added; a closed one has left it by itself. Returns 0 or an errno.
  int Arm(const int* fds, size_t count);
  // Disarms: no call for readiness from now on (one already queued may still arrive).
  void Disarm();
  // Stops the thread and releases the function for good (the driver's closeAll); idempotent.
  void Shutdown();
  // Wakes reported so far (calls queued for JavaScript).
  uint64_t wakes() const;

 private:
  static void* RunThread(void* self);
  // At the environment's teardown (before Node finalizes objects and thread-safe functions): stops
  // the thread and releases the function, so neither outlives the environment.
  static void OnEnvCleanup(void* self);
  void Run();
  void Kick();
  // Stops and joins the thread; idempotent.
  void StopThread();
  void ReleaseFunction();

  bool started_ = false;
  int epoll_fd_ = -1;
  int event_fd_ = -1;
  pthread_t thread_{};
  bool thread_started_ = false;
  std::atomic<bool> armed_{false};
  std::atomic<bool> shutdown_{false};
  std::atomic<uint64_t> wakes_{0};
  Napi::ThreadSafeFunction function_;
  bool released_ = false;
  napi_env env_ = nullptr;
  bool cleanup_hooked_ = false;
};

}  // namespace petrel
