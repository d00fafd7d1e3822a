#include "waker.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <cerrno>

namespace petrel {

namespace {

constexpr int kEvents = 16;
constexpr uint32_t kSocketEvents = EPOLLIN | EPOLLONESHOT;

}  // namespace

ReadableWaker::~ReadableWaker() {
  Shutdown();
  if (epoll_fd_ >= 0) close(epoll_fd_);
  if (event_fd_ >= 0) close(event_fd_);
}

void ReadableWaker::Shutdown() {
  StopThread();
  ReleaseFunction();
  if (cleanup_hooked_) napi_remove_env_cleanup_hook(env_, &ReadableWaker::OnEnvCleanup, this);
  cleanup_hooked_ = false;
}

void ReadableWaker::StopThread() {
  if (!thread_started_) return;
  shutdown_.store(true);
  Kick();
  pthread_join(thread_, nullptr);
  thread_started_ = false;
}

void ReadableWaker::ReleaseFunction() {
  if (!started_ || released_) return;
  function_.Release();
  released_ = true;
}

void ReadableWaker::OnEnvCleanup(void* self) {
  ReadableWaker* waker = static_cast<ReadableWaker*>(self);
  waker->cleanup_hooked_ = false;
  waker->StopThread();
  waker->ReleaseFunction();
}

int ReadableWaker::Start(Napi::Env env, Napi::Function callback, const char** failed) {
  if (started_) return 0;
  // A failure leaves nothing open, so a later Start tries again from scratch.
  auto fail = [this, failed](const char* call, int error) {
    *failed = call;
    if (epoll_fd_ >= 0) close(epoll_fd_);
    if (event_fd_ >= 0) close(event_fd_);
    epoll_fd_ = -1;
    event_fd_ = -1;
    return error;
  };
  epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
  if (epoll_fd_ < 0) return fail("epoll_create1", errno);
  event_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (event_fd_ < 0) return fail("eventfd", errno);
  epoll_event event{};
  event.events = EPOLLIN;
  event.data.fd = event_fd_;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, event_fd_, &event) != 0) return fail("epoll_ctl", errno);
  function_ = Napi::ThreadSafeFunction::New(env, callback, "petrel.wake", 0, 1);
  function_.Unref(env);
  int error = pthread_create(&thread_, nullptr, &ReadableWaker::RunThread, this);
  if (error != 0) {
    function_.Release();
    return fail("pthread_create", error);
  }
  thread_started_ = true;
  started_ = true;
  env_ = env;
  if (napi_add_env_cleanup_hook(env, &ReadableWaker::OnEnvCleanup, this) == napi_ok) cleanup_hooked_ = true;
  return 0;
}

int ReadableWaker::Arm(const int* fds, size_t count) {
  if (!thread_started_ || released_) return EINVAL;
  armed_.store(true);
  for (size_t i = 0; i < count; i++) {
    epoll_event event{};
    event.events = kSocketEvents;
    event.data.fd = fds[i];
    // MOD re-enables the one-shot entry and reports data already waiting; a socket opened since
    // the last arm is not in the set yet (ENOENT) and is added.
    if (epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fds[i], &event) == 0) continue;
    if (errno == ENOENT && epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fds[i], &event) == 0) continue;
    const int error = errno;
    armed_.store(false);
    return error;
  }
  return 0;
}

void ReadableWaker::Disarm() { armed_.store(false); }

uint64_t ReadableWaker::wakes() const { return wakes_.load(); }

void ReadableWaker::Kick() {
  const uint64_t one = 1;
  // EAGAIN means the counter is already non-zero: the thread will wake anyway.
  ssize_t written = write(event_fd_, &one, sizeof(one));
  (void)written;
}

void* ReadableWaker::RunThread(void* self) {
  static_cast<ReadableWaker*>(self)->Run();
  return nullptr;
}

void ReadableWaker::Run() {
  epoll_event events[kEvents];
  while (!shutdown_.load()) {
    int ready = epoll_wait(epoll_fd_, events, kEvents, -1);
    bool readable = false;
    for (int i = 0; i < ready; i++) {
      if (events[i].data.fd == event_fd_) {
        uint64_t count = 0;
        ssize_t got = read(event_fd_, &count, sizeof(count));
        (void)got;
      } else {
        readable = true;
      }
    }
    // A failed epoll_wait (other than a signal) wakes JavaScript too, once per arm: its duty cycle
    // then meets the sockets' own errors.
    if (ready < 0 && errno != EINTR) readable = true;
    if (readable && !shutdown_.load() && armed_.exchange(false)) {
      wakes_.fetch_add(1);
      function_.NonBlockingCall();
    }
  }
}

}  // namespace petrel
