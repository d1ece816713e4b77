// tf_oracle: runs transform traces through C++ tf2 (ROS 1, Debian bookworm's
// libtf2-dev 0.7.6, tf2::BufferCore) so stamp_sync::tf can be checked lookup
// for lookup against it. Built by scripts/build-tf-oracle.sh; driven by
// tests/tf_differential.rs and scripts/compare-tf-cpp.sh.
//
// TRACE (stdin), one record per line, in arrival order:
//   tf,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>
//   tf_static,<stamp_ns>,<parent>,<child>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>
//   lookup,<stamp_ns>,<target>,<source>
// Lines starting with '#' and blank lines are skipped. A `tf`/`tf_static`
// record is BufferCore::setTransform (authority "trace"); a `lookup` is
// BufferCore::lookupTransform(target, source, stamp) against the records
// before it.
//
// SINGLE MODE
//   tf_oracle [--cache-time-ns N] [--inserts] < trace.csv
//   stdout: one line per lookup, in order:
//     ok,<query_ns>,<result_stamp_ns>,<x>,<y>,<z>,<qx>,<qy>,<qz>,<qw>   (%.17g)
//     error,<query_ns>,lookup|connectivity|extrapolation|invalid_argument
//   With --inserts also one line per transform record:
//     insert,<stamp_ns>,ok|rejected          (setTransform's return value)
//   A bad line exits 2 with `tf_oracle: line N: ...` on stderr.
//
// BATCH MODE
//   tf_oracle --batch [--inserts]
//   stdin : any number of cases, each `case <cache_time_ns>`, records, `run`.
//   stdout: per case the lines of single mode, then `end` (a bad line gives
//           `badline N: TEXT` before `end`). Each case has a fresh BufferCore.
//
// BENCH MODE
//   tf_oracle --bench R [--cache-time-ns N] < trace.csv
//   Applies every transform record in order, then runs all lookups of the
//   trace R times against that buffer. Only the lookup loops are timed. Prints
//   `lookups=L ok=K seconds=S lookups_per_s=X` on stderr, nothing on stdout.
//
// Times: ros::Time is (uint32 sec, uint32 nsec); a stamp must be in
// [0, 2^32 s). tf2's console_bridge messages (TF_OLD_DATA, ...) are silenced.

#include <tf2/buffer_core.h>
#include <tf2/exceptions.h>
#include <geometry_msgs/TransformStamped.h>
#include <console_bridge/console.h>
#include <ros/time.h>

#include <chrono>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace {

struct BadLine {
  std::size_t line;
  std::string what;
};

struct Record {
  enum Kind { Tf, TfStatic, Lookup } kind;
  int64_t stamp_ns;
  geometry_msgs::TransformStamped tf;  // Tf, TfStatic
  std::string target, source;          // Lookup
};

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::size_t start = 0;
  while (true) {
    std::size_t c = s.find(',', start);
    if (c == std::string::npos) {
      out.push_back(s.substr(start));
      return out;
    }
    out.push_back(s.substr(start, c - start));
    start = c + 1;
  }
}

bool parse_i64(const std::string& s, int64_t& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  long long x = std::strtoll(s.c_str(), &end, 10);
  if (errno != 0 || *end != '\0') return false;
  v = x;
  return true;
}

bool parse_f64(const std::string& s, double& v) {
  if (s.empty()) return false;
  char* end = nullptr;
  v = std::strtod(s.c_str(), &end);
  return *end == '\0';
}

ros::Time to_time(int64_t ns) {
  ros::Time t;
  t.fromNSec(static_cast<uint64_t>(ns));
  return t;
}

constexpr int64_t kMaxStampNs = 4294967296LL * 1000000000LL - 1;  // ros::Time range

// Parses one non-blank, non-comment line; throws BadLine.
Record parse_line(const std::string& text, std::size_t line) {
  std::vector<std::string> f = split(text);
  Record r{};
  const std::string& kind = f[0];
  if (kind == "tf" || kind == "tf_static") {
    if (f.size() != 11) throw BadLine{line, "expected 11 fields for " + kind};
    r.kind = kind == "tf" ? Record::Tf : Record::TfStatic;
  } else if (kind == "lookup") {
    if (f.size() != 4) throw BadLine{line, "expected 4 fields for lookup"};
    r.kind = Record::Lookup;
  } else {
    throw BadLine{line, "unknown record " + kind};
  }
  if (!parse_i64(f[1], r.stamp_ns)) throw BadLine{line, "bad stamp " + f[1]};
  if (r.stamp_ns < 0 || r.stamp_ns > kMaxStampNs) throw BadLine{line, "stamp out of ros::Time range " + f[1]};
  if (r.kind == Record::Lookup) {
    r.target = f[2];
    r.source = f[3];
    return r;
  }
  double v[7];
  for (int i = 0; i < 7; ++i) {
    if (!parse_f64(f[4 + i], v[i])) throw BadLine{line, "bad number " + f[4 + i]};
  }
  r.tf.header.stamp = to_time(r.stamp_ns);
  r.tf.header.frame_id = f[2];
  r.tf.child_frame_id = f[3];
  r.tf.transform.translation.x = v[0];
  r.tf.transform.translation.y = v[1];
  r.tf.transform.translation.z = v[2];
  r.tf.transform.rotation.x = v[3];
  r.tf.transform.rotation.y = v[4];
  r.tf.transform.rotation.z = v[5];
  r.tf.transform.rotation.w = v[6];
  return r;
}

// Reads records until EOF or (batch) a line `run`. Returns false at EOF
// without a `run` in batch mode.
bool read_records(std::istream& in, bool batch, std::size_t& line, std::vector<Record>& out,
                  std::vector<BadLine>& bad) {
  std::string text;
  while (std::getline(in, text)) {
    ++line;
    if (!text.empty() && text.back() == '\r') text.pop_back();
    if (batch && text == "run") return true;
    if (text.empty() || text[0] == '#') continue;
    if (text.find_first_not_of(" \t") == std::string::npos) continue;
    try {
      out.push_back(parse_line(text, line));
    } catch (const BadLine& b) {
      if (bad.empty()) bad.push_back(b);
    }
  }
  return !batch;
}

void append_num(std::string& out, double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, ",%.17g", v);
  out += buf;
}

// One lookup; appends the output line.
bool lookup(const tf2::BufferCore& buffer, const Record& r, std::string& out) {
  try {
    geometry_msgs::TransformStamped t = buffer.lookupTransform(r.target, r.source, to_time(r.stamp_ns));
    out += "ok," + std::to_string(r.stamp_ns) + "," + std::to_string(t.header.stamp.toNSec());
    append_num(out, t.transform.translation.x);
    append_num(out, t.transform.translation.y);
    append_num(out, t.transform.translation.z);
    append_num(out, t.transform.rotation.x);
    append_num(out, t.transform.rotation.y);
    append_num(out, t.transform.rotation.z);
    append_num(out, t.transform.rotation.w);
    out += "\n";
    return true;
  } catch (const tf2::LookupException&) {
    out += "error," + std::to_string(r.stamp_ns) + ",lookup\n";
  } catch (const tf2::ConnectivityException&) {
    out += "error," + std::to_string(r.stamp_ns) + ",connectivity\n";
  } catch (const tf2::ExtrapolationException&) {
    out += "error," + std::to_string(r.stamp_ns) + ",extrapolation\n";
  } catch (const tf2::InvalidArgumentException&) {
    out += "error," + std::to_string(r.stamp_ns) + ",invalid_argument\n";
  } catch (const tf2::TransformException& e) {
    out += "error," + std::to_string(r.stamp_ns) + ",transform " + e.what() + "\n";
  } catch (const std::exception& e) {
    out += "error," + std::to_string(r.stamp_ns) + ",exception " + e.what() + "\n";
  }
  return false;
}

void run_case(const std::vector<Record>& records, int64_t cache_ns, bool inserts, std::string& out) {
  ros::Duration cache;
  cache.fromNSec(cache_ns);
  tf2::BufferCore buffer(cache);
  for (const Record& r : records) {
    if (r.kind == Record::Lookup) {
      lookup(buffer, r, out);
      continue;
    }
    bool ok = false;
    try {
      ok = buffer.setTransform(r.tf, "trace", r.kind == Record::TfStatic);
    } catch (const std::exception& e) {
      out += "error," + std::to_string(r.stamp_ns) + ",exception " + e.what() + "\n";
    }
    if (inserts) out += "insert," + std::to_string(r.stamp_ns) + (ok ? ",ok\n" : ",rejected\n");
  }
}

void bench(const std::vector<Record>& records, int64_t cache_ns, long repeats) {
  ros::Duration cache;
  cache.fromNSec(cache_ns);
  tf2::BufferCore buffer(cache);
  std::vector<const Record*> lookups;
  for (const Record& r : records) {
    if (r.kind == Record::Lookup) {
      lookups.push_back(&r);
    } else {
      buffer.setTransform(r.tf, "trace", r.kind == Record::TfStatic);
    }
  }
  uint64_t ok = 0;
  double checksum = 0;
  auto t0 = std::chrono::steady_clock::now();
  for (long i = 0; i < repeats; ++i) {
    for (const Record* r : lookups) {
      try {
        geometry_msgs::TransformStamped t = buffer.lookupTransform(r->target, r->source, to_time(r->stamp_ns));
        checksum += t.transform.translation.x;
        ++ok;
      } catch (const tf2::TransformException&) {
      }
    }
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double n = static_cast<double>(lookups.size()) * static_cast<double>(repeats);
  std::fprintf(stderr, "lookups=%.0f ok=%llu seconds=%.6f lookups_per_s=%.0f checksum=%.6g\n", n,
               static_cast<unsigned long long>(ok), seconds, seconds > 0 ? n / seconds : 0.0, checksum);
}

int usage(const char* why) {
  std::fprintf(stderr,
               "tf_oracle: %s\nusage: tf_oracle [--cache-time-ns N] [--inserts] [--bench R] < trace\n"
               "       tf_oracle --batch [--inserts] < cases\n",
               why);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  console_bridge::setLogLevel(console_bridge::CONSOLE_BRIDGE_LOG_NONE);
  std::ios::sync_with_stdio(false);
  bool batch = false, inserts = false;
  int64_t cache_ns = 10LL * 1000000000LL;
  long repeats = 0;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--batch") {
      batch = true;
    } else if (a == "--inserts") {
      inserts = true;
    } else if (a == "--cache-time-ns" && i + 1 < argc) {
      if (!parse_i64(argv[++i], cache_ns) || cache_ns < 0) return usage("bad --cache-time-ns");
    } else if (a == "--bench" && i + 1 < argc) {
      int64_t r = 0;
      if (!parse_i64(argv[++i], r) || r < 1) return usage("bad --bench");
      repeats = static_cast<long>(r);
    } else {
      return usage(("unknown argument " + a).c_str());
    }
  }
  if (!batch) {
    std::size_t line = 0;
    std::vector<Record> records;
    std::vector<BadLine> bad;
    read_records(std::cin, false, line, records, bad);
    if (!bad.empty()) {
      std::fprintf(stderr, "tf_oracle: line %zu: %s\n", bad[0].line, bad[0].what.c_str());
      return 2;
    }
    if (repeats > 0) {
      bench(records, cache_ns, repeats);
      return 0;
    }
    std::string out;
    run_case(records, cache_ns, inserts, out);
    std::fwrite(out.data(), 1, out.size(), stdout);
    return 0;
  }
  std::string text;
  std::size_t line = 0;
  while (std::getline(std::cin, text)) {
    ++line;
    if (text.empty() || text[0] == '#') continue;
    if (text.rfind("case ", 0) != 0) {
      std::fprintf(stderr, "tf_oracle: line %zu: expected `case CACHE_NS`\n", line);
      return 2;
    }
    int64_t case_cache = 0;
    if (!parse_i64(text.substr(5), case_cache) || case_cache < 0) {
      std::fprintf(stderr, "tf_oracle: line %zu: bad cache time\n", line);
      return 2;
    }
    std::size_t case_line = 0;
    std::vector<Record> records;
    std::vector<BadLine> bad;
    if (!read_records(std::cin, true, case_line, records, bad)) {
      std::fprintf(stderr, "tf_oracle: case without `run`\n");
      return 2;
    }
    line += case_line;
    std::string out;
    if (!bad.empty()) {
      out = "badline " + std::to_string(bad[0].line) + ": " + bad[0].what + "\n";
    } else {
      run_case(records, case_cache, inserts, out);
    }
    out += "end\n";
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }
  return 0;
}
