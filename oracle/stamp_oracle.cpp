// stamp_oracle: runs stamp traces through C++ message_filters (ROS 1, Debian
// bookworm's libmessage-filters-dev 1.15.15) so stamp_sync can be checked set
// for set against it. Built by scripts/build-oracle.sh; driven by
// tests/differential.rs.
//
// SINGLE MODE
//   stamp_oracle exact|approx N QUEUE [OPTIONS] < trace.csv
//   stdin : `channel,stamp_ns` lines in arrival order; a first line
//           `channel,stamp_ns`, empty lines and `#` lines are skipped.
//   stdout: one line per emitted set, in emission order: the stamps (ns) of
//           the set's messages, comma separated, in channel order.
//   N is 2..9 and QUEUE >= 1 (ApproximateTime: messages per channel,
//   ExactTime: distinct stamps).
//   OPTIONS (ApproximateTime only; ExactTime rejects them):
//     --age-penalty X         default 0.1
//     --max-interval-ns D     default unlimited
//     --lower-bound-ns CH:D   inter-message lower bound of channel CH;
//                             repeatable, default 0
//   --bench R                 (both policies) feed the trace R times, each
//                             time into a fresh synchronizer, print nothing on
//                             stdout and print on stderr
//                             `messages=M emitted=E seconds=S msgs_per_s=R`.
//                             Only the feeding loops are timed; messages are
//                             pre-built geometry_msgs::PointStamped pointers.
//
// BATCH MODE
//   stamp_oracle --batch [--timed]
//   stdin : any number of cases, each one
//             case exact|approx N QUEUE [OPTIONS]     (same words as above,
//                                                      --bench not allowed)
//             <channel>,<stamp_ns>                    zero or more lines
//             run
//           A `channel,stamp_ns` header line, empty lines and `#` lines
//           between `case` and `run` are skipped.
//   stdout: per case, in order: the emitted sets exactly as in single mode
//           (with --timed each set line is `K:STAMPS;I0,I1,...`: K is the
//           0-based index within the case of the message whose add() emitted
//           the set, STAMPS the set as in single mode, and I0.. the indices of
//           the member messages in channel order, which tells apart messages
//           with equal stamps), then one of
//             end                  the case ran to completion
//             crash SIGNAL         message_filters died (e.g. a ROS_ASSERT
//                                  trap); lines before it are the sets emitted
//                                  until then (SIGNAL is a number, or
//                                  exitN for an unexpected exit status)
//             error TEXT           bad case or a C++ exception (e.g. a
//                                  ros::Time range error); then `end`
//           i.e. every case's output ends with a line `end` or `crash ...`.
//   stdout is flushed after every case, so a driver may also alternate
//   writing one case and reading its answer.
//   Each case runs in a forked child process: cases cannot influence each
//   other (message_filters' once-only warnings, static state) and a failed
//   assertion in message_filters ends one case, not the batch.
//
// Exit status: 0 on success, 1 if message_filters threw (single mode), 2 on
// usage or input errors. Warnings from
// message_filters (rosconsole) go to stderr.

#include <geometry_msgs/PointStamped.h>
#include <message_filters/sync_policies/approximate_time.h>
#include <message_filters/sync_policies/exact_time.h>
#include <message_filters/synchronizer.h>
#include <ros/time.h>

#include <boost/make_shared.hpp>

#include <chrono>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace {

using Msg = geometry_msgs::PointStamped;
using MsgPtr = Msg::ConstPtr;
using NullPtr = boost::shared_ptr<message_filters::NullType const>;

struct CaseConfig {
  bool exact = false;
  int channels = 0;
  uint32_t queue = 0;
  double age_penalty = 0.1;
  bool has_age_penalty = false;
  int64_t max_interval_ns = -1;  // < 0: unlimited
  std::vector<std::pair<int, int64_t>> lower_bounds;
  int bench = 0;
};

struct Arrival {
  int channel;
  MsgPtr msg;
};

// Output of the running case. Kept in memory and written at the end (or by
// the crash handler), so a trap inside message_filters loses nothing.
std::string g_out;
uint64_t g_emitted = 0;
bool g_record = true;
bool g_timed = false;       // prefix each set with the arrival index
std::size_t g_arrival = 0;  // index of the message being added

// Each message carries its arrival index in point.x (exact up to 2^53).
void append_stamp(const MsgPtr& m, bool& first, std::string& ids) {
  if (!first) {
    g_out.push_back(',');
    ids.push_back(',');
  }
  first = false;
  g_out += std::to_string(m->header.stamp.toNSec());
  ids += std::to_string(static_cast<uint64_t>(m->point.x));
}
void append_stamp(const NullPtr&, bool&, std::string&) {}

// The synchronizer callback: called with 9 pointers, the unused inputs
// padded with NullType pointers.
struct SetSink {
  typedef void result_type;
  template <class... P>
  void operator()(const P&... members) const {
    ++g_emitted;
    if (!g_record) return;
    if (g_timed) {
      g_out += std::to_string(g_arrival);
      g_out.push_back(':');
    }
    bool first = true;
    std::string ids;
    (append_stamp(members, first, ids), ...);
    if (g_timed) {
      g_out.push_back(';');
      g_out += ids;
    }
    g_out.push_back('\n');
  }
};

template <std::size_t>
using MsgAt = Msg;

template <template <class...> class Policy, class Seq>
struct PolicyOf;
template <template <class...> class Policy, std::size_t... I>
struct PolicyOf<Policy, std::index_sequence<I...>> {
  using type = Policy<MsgAt<I>...>;
};

template <class Sync, std::size_t... I>
void add_to(Sync& sync, const Arrival& a, std::index_sequence<I...>) {
  // Exactly one I matches (channels were checked while reading).
  (void)((a.channel == static_cast<int>(I) ? (sync.template add<I>(a.msg), true) : false) || ...);
}

template <std::size_t N, class Policy>
void feed(const Policy& policy, const std::vector<Arrival>& trace, int repeats) {
  using Sync = message_filters::Synchronizer<Policy>;
  const auto seq = std::make_index_sequence<N>{};
  if (repeats <= 0) {
    Sync sync(policy);
    sync.registerCallback(SetSink());
    for (g_arrival = 0; g_arrival < trace.size(); ++g_arrival) add_to(sync, trace[g_arrival], seq);
    return;
  }
  g_record = false;
  double seconds = 0;
  for (int r = 0; r < repeats; ++r) {
    auto sync = std::make_unique<Sync>(policy);
    sync->registerCallback(SetSink());
    auto t0 = std::chrono::steady_clock::now();
    for (const Arrival& a : trace) add_to(*sync, a, seq);
    seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  double messages = static_cast<double>(trace.size()) * repeats;
  std::fprintf(stderr, "messages=%.0f emitted=%llu seconds=%.6f msgs_per_s=%.0f\n", messages,
               static_cast<unsigned long long>(g_emitted), seconds, seconds > 0 ? messages / seconds : 0.0);
}

ros::Duration duration_ns(int64_t ns) {
  ros::Duration d;
  d.fromNSec(ns);
  return d;
}

template <std::size_t N>
void run_n(const CaseConfig& c, const std::vector<Arrival>& trace) {
  using Seq = std::make_index_sequence<N>;
  if (c.exact) {
    using P = typename PolicyOf<message_filters::sync_policies::ExactTime, Seq>::type;
    feed<N>(P(c.queue), trace, c.bench);
  } else {
    using P = typename PolicyOf<message_filters::sync_policies::ApproximateTime, Seq>::type;
    P policy(c.queue);
    policy.setAgePenalty(c.age_penalty);
    if (c.max_interval_ns >= 0) policy.setMaxIntervalDuration(duration_ns(c.max_interval_ns));
    for (const auto& lb : c.lower_bounds) policy.setInterMessageLowerBound(lb.first, duration_ns(lb.second));
    feed<N>(policy, trace, c.bench);
  }
}

void run_case(const CaseConfig& c, const std::vector<Arrival>& trace) {
  switch (c.channels) {
    case 2: return run_n<2>(c, trace);
    case 3: return run_n<3>(c, trace);
    case 4: return run_n<4>(c, trace);
    case 5: return run_n<5>(c, trace);
    case 6: return run_n<6>(c, trace);
    case 7: return run_n<7>(c, trace);
    case 8: return run_n<8>(c, trace);
    case 9: return run_n<9>(c, trace);
    default: throw std::invalid_argument("N must be 2..9");
  }
}

int64_t parse_i64(const std::string& s, const char* what) {
  std::size_t used = 0;
  long long v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) throw std::invalid_argument(std::string("bad ") + what + ": '" + s + "'");
  return v;
}

double parse_f64(const std::string& s, const char* what) {
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) throw std::invalid_argument(std::string("bad ") + what + ": '" + s + "'");
  return v;
}

// Parses `exact|approx N QUEUE [OPTIONS]`; throws std::invalid_argument.
CaseConfig parse_config(const std::vector<std::string>& w, bool allow_bench) {
  if (w.size() < 3) throw std::invalid_argument("expected: exact|approx N QUEUE [OPTIONS]");
  CaseConfig c;
  if (w[0] == "exact") c.exact = true;
  else if (w[0] != "approx") throw std::invalid_argument("policy must be exact or approx, got '" + w[0] + "'");
  c.channels = static_cast<int>(parse_i64(w[1], "N"));
  if (c.channels < 2 || c.channels > 9) throw std::invalid_argument("N must be 2..9");
  int64_t q = parse_i64(w[2], "QUEUE");
  if (q < 1 || q > 1000000) throw std::invalid_argument("QUEUE must be 1..1000000");
  c.queue = static_cast<uint32_t>(q);
  for (std::size_t i = 3; i < w.size(); ++i) {
    const std::string& opt = w[i];
    if (i + 1 >= w.size()) throw std::invalid_argument("missing value after " + opt);
    const std::string& val = w[++i];
    if (opt == "--bench" && allow_bench) {
      c.bench = static_cast<int>(parse_i64(val, "--bench"));
      if (c.bench < 1) throw std::invalid_argument("--bench needs a count >= 1");
      continue;
    }
    if (c.exact) throw std::invalid_argument("option " + opt + " is not valid for exact");
    if (opt == "--age-penalty") {
      c.age_penalty = parse_f64(val, "--age-penalty");
      if (!(c.age_penalty >= 0)) throw std::invalid_argument("--age-penalty must be >= 0");
    } else if (opt == "--max-interval-ns") {
      c.max_interval_ns = parse_i64(val, "--max-interval-ns");
      if (c.max_interval_ns < 0) throw std::invalid_argument("--max-interval-ns must be >= 0");
    } else if (opt == "--lower-bound-ns") {
      std::size_t colon = val.find(':');
      if (colon == std::string::npos) throw std::invalid_argument("--lower-bound-ns wants CH:D");
      int64_t ch = parse_i64(val.substr(0, colon), "lower bound channel");
      int64_t d = parse_i64(val.substr(colon + 1), "lower bound");
      if (ch < 0 || ch >= c.channels) throw std::invalid_argument("lower bound channel out of range");
      if (d < 0) throw std::invalid_argument("lower bound must be >= 0");
      c.lower_bounds.emplace_back(static_cast<int>(ch), d);
    } else {
      throw std::invalid_argument("unknown option " + opt);
    }
  }
  return c;
}

bool skip_line(const std::string& line) {
  return line.empty() || line[0] == '#' || line == "channel,stamp_ns";
}

// Parses `channel,stamp_ns` into a pre-built message.
Arrival parse_arrival(const std::string& line, int channels, std::size_t index) {
  std::size_t comma = line.find(',');
  if (comma == std::string::npos) throw std::invalid_argument("expected channel,stamp_ns: '" + line + "'");
  int64_t ch = parse_i64(line.substr(0, comma), "channel");
  int64_t ns = parse_i64(line.substr(comma + 1), "stamp_ns");
  if (ch < 0 || ch >= channels) throw std::invalid_argument("channel out of range: '" + line + "'");
  if (ns < 0 || ns / 1000000000 > 0xffffffffLL) throw std::invalid_argument("stamp outside ros::Time: '" + line + "'");
  auto m = boost::make_shared<Msg>();
  m->header.stamp.fromNSec(static_cast<uint64_t>(ns));
  m->point.x = static_cast<double>(index);
  return Arrival{static_cast<int>(ch), m};
}

std::vector<std::string> split_words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> w;
  for (std::string s; in >> s;) w.push_back(s);
  return w;
}

void write_all(int fd, const std::string& s) {
  const char* p = s.data();
  std::size_t left = s.size();
  while (left > 0) {
    ssize_t n = ::write(fd, p, left);
    if (n <= 0) return;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
}

// In a batch child: message_filters hit a ROS_ASSERT (int3 -> SIGTRAP) or
// aborted. Hand over the sets emitted so far, then die by the same signal.
void on_fatal_signal(int sig) {
  write_all(STDOUT_FILENO, g_out);
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

void run_batch_case(const CaseConfig& c, const std::vector<Arrival>& trace) {
  std::fflush(stdout);
  pid_t pid = ::fork();
  if (pid < 0) {
    std::printf("error fork failed\nend\n");
    return;
  }
  if (pid == 0) {
    std::signal(SIGTRAP, on_fatal_signal);
    std::signal(SIGABRT, on_fatal_signal);
    std::signal(SIGSEGV, on_fatal_signal);
    std::string tail = "end\n";
    try {
      run_case(c, trace);
    } catch (const std::exception& e) {
      std::string what = e.what();
      for (char& ch : what)
        if (ch == '\n') ch = ' ';
      tail = "error " + what + "\nend\n";
    }
    write_all(STDOUT_FILENO, g_out);
    write_all(STDOUT_FILENO, tail);
    std::_Exit(0);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
  }
  if (WIFSIGNALED(status)) std::printf("crash %d\n", WTERMSIG(status));
  else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) std::printf("crash exit%d\n", WEXITSTATUS(status));
  std::fflush(stdout);
}

int batch_main() {
  std::string line;
  bool in_case = false;
  CaseConfig config;
  std::string config_error;
  std::vector<Arrival> trace;
  while (std::getline(std::cin, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (!in_case) {
      if (line.empty() || line[0] == '#') continue;
      std::vector<std::string> w = split_words(line);
      if (w.empty() || w[0] != "case") {
        std::fprintf(stderr, "stamp_oracle: expected 'case ...', got '%s'\n", line.c_str());
        return 2;
      }
      in_case = true;
      trace.clear();
      config_error.clear();
      try {
        config = parse_config(std::vector<std::string>(w.begin() + 1, w.end()), false);
      } catch (const std::exception& e) {
        config_error = e.what();
      }
      continue;
    }
    if (line == "run") {
      in_case = false;
      if (!config_error.empty()) {
        std::printf("error %s\nend\n", config_error.c_str());
        std::fflush(stdout);
      } else {
        run_batch_case(config, trace);
      }
      continue;
    }
    if (skip_line(line) || !config_error.empty()) continue;
    try {
      trace.push_back(parse_arrival(line, config.channels, trace.size()));
    } catch (const std::exception& e) {
      config_error = e.what();
    }
  }
  if (in_case) {
    std::fprintf(stderr, "stamp_oracle: input ended inside a case (missing 'run')\n");
    return 2;
  }
  return 0;
}

int single_main(int argc, char** argv) {
  CaseConfig c;
  std::vector<Arrival> trace;
  try {
    c = parse_config(std::vector<std::string>(argv + 1, argv + argc), true);
    std::string line;
    while (std::getline(std::cin, line)) {
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (skip_line(line)) continue;
      trace.push_back(parse_arrival(line, c.channels, trace.size()));
    }
  } catch (const std::exception& e) {
    std::fprintf(stderr, "stamp_oracle: %s\n", e.what());
    return 2;
  }
  try {
    run_case(c, trace);
  } catch (const std::exception& e) {
    std::fwrite(g_out.data(), 1, g_out.size(), stdout);
    std::fprintf(stderr, "stamp_oracle: message_filters threw: %s\n", e.what());
    return 1;
  }
  std::fwrite(g_out.data(), 1, g_out.size(), stdout);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  // Synchronizer::add wraps each message in a ros::MessageEvent, which reads
  // ros::Time::now(); without a node that needs the wall-clock time source.
  ros::Time::init();
  if (argc >= 2 && std::string(argv[1]) == "--batch") {
    if (argc == 3 && std::string(argv[2]) == "--timed") g_timed = true;
    else if (argc != 2) {
      std::fprintf(stderr, "usage: stamp_oracle --batch [--timed] < cases\n");
      return 2;
    }
    return batch_main();
  }
  if (argc < 4) {
    std::fprintf(stderr,
                 "usage: stamp_oracle exact|approx N QUEUE [--age-penalty X] [--max-interval-ns D]\n"
                 "                    [--lower-bound-ns CH:D]... [--bench REPEATS] < trace.csv\n"
                 "       stamp_oracle --batch [--timed] < cases   (protocol: see the top of stamp_oracle.cpp)\n");
    return 2;
  }
  return single_main(argc, argv);
}
