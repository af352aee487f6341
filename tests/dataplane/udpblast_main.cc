// pwire-udpblast: a small-packet generator and counter for the data plane benchmark, faster
// than iperf3's one-datagram-per-call UDP sender so that the path, not the generator, limits.
//   pwire-udpblast send DST_IP PORT SECONDS [PAYLOAD_BYTES]   sendmmsg, 64 datagrams a call
//   pwire-udpblast recv PORT                                  prints "packets seconds pps" once
//                                                              no datagram came for 1 s
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
constexpr int kBatch = 64;

int Send(const char* dst, int port, double seconds, size_t len) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  sockaddr_in to{};
  to.sin_family = AF_INET;
  to.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || inet_pton(AF_INET, dst, &to.sin_addr) != 1 ||
      connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) < 0) {
    std::perror("udpblast send");
    return 1;
  }
  std::vector<char> payload(len, 'x');
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = iovec{payload.data(), len};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  unsigned long sent = 0;
  while (Clock::now() < end) {
    int r = sendmmsg(fd, msgs.data(), kBatch, 0);
    if (r > 0) {
      sent += static_cast<unsigned long>(r);
    }
  }
  std::printf("sent %lu\n", sent);
  return 0;
}

int Recv(int port) {
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  int buf = 8 << 20;
  setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &buf, sizeof buf);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_port = htons(static_cast<uint16_t>(port));
  if (fd < 0 || bind(fd, reinterpret_cast<sockaddr*>(&at), sizeof at) < 0) {
    std::perror("udpblast recv");
    return 1;
  }
  std::printf("listening\n");
  std::fflush(stdout);
  std::array<std::array<char, 2048>, kBatch> bufs{};
  std::array<iovec, kBatch> iov{};
  std::array<mmsghdr, kBatch> msgs{};
  for (int i = 0; i < kBatch; ++i) {
    iov[i] = iovec{bufs[i].data(), bufs[i].size()};
    msgs[i].msg_hdr.msg_iov = &iov[i];
    msgs[i].msg_hdr.msg_iovlen = 1;
  }
  unsigned long count = 0;
  Clock::time_point first;
  Clock::time_point last;
  pollfd p{fd, POLLIN, 0};
  for (;;) {
    int timeout = count == 0 ? 60000 : 1000;
    if (poll(&p, 1, timeout) <= 0) {
      break;
    }
    int r = recvmmsg(fd, msgs.data(), kBatch, MSG_DONTWAIT, nullptr);
    if (r <= 0) {
      continue;
    }
    if (count == 0) {
      first = Clock::now();
    }
    count += static_cast<unsigned long>(r);
    last = Clock::now();
  }
  double secs = std::chrono::duration<double>(last - first).count();
  std::printf("%lu %.3f %.0f\n", count, secs, secs > 0 ? static_cast<double>(count) / secs : 0.0);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "send" && argc >= 5) {
    return Send(argv[2], std::atoi(argv[3]), std::atof(argv[4]),
                argc > 5 ? static_cast<size_t>(std::atoi(argv[5])) : 18);
  }
  if (mode == "recv" && argc >= 3) {
    return Recv(std::atoi(argv[2]));
  }
  std::fprintf(stderr, "usage: pwire-udpblast send DST PORT SECONDS [LEN] | recv PORT\n");
  return 2;
}
