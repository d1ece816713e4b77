// cache_oracle: runs add/query scripts through C++ message_filters::Cache
// (ROS 1, Debian bookworm's libmessage-filters-dev 1.15.15, cache.h) so
// stamp_sync::filters::Cache can be checked query for query against it.
// Built by scripts/build-filters-oracle.sh; driven by
// tests/cache_differential.rs.
//
//   cache_oracle < script
//
// stdin, one command per line (times are integer nanoseconds >= 0, below
// 2^32 s; empty lines and `#` lines are skipped):
//   case SIZE        a new Cache<PointStamped>(SIZE); message ids restart at 0
//   add T            adds a message stamped T; its id is the number of adds
//                    before it in this case
//   interval S E     getInterval(S, E)
//   surround S E     getSurroundingInterval(S, E) (on an empty cache ROS 1
//                    reads out of bounds: answered `-` without calling it,
//                    which is what ROS 2 later returns)
//   before T         getElemBeforeTime(T)
//   after T          getElemAfterTime(T)
//   oldest           getOldestTime()  (time 0 when empty, as C++)
//   newest           getLatestTime()  (time 0 when empty, as C++)
//   dump             getInterval(0, TIME_MAX): the whole cache in order
//   end              prints `end` and flushes
// stdout: one line per query: the ids of the returned messages,
// comma-separated, or `-` for none; `oldest`/`newest` print the time in ns.
// Bad input: a line `error TEXT` and exit status 2.

#include <geometry_msgs/PointStamped.h>
#include <message_filters/cache.h>
#include <ros/time.h>

#include <boost/make_shared.hpp>

#include <cstdint>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

namespace {

using Msg = geometry_msgs::PointStamped;
using MsgPtr = Msg::ConstPtr;
using Cache = message_filters::Cache<Msg>;

constexpr int64_t kNs = 1000000000;

ros::Time to_time(int64_t ns) {
  return ros::Time(static_cast<uint32_t>(ns / kNs), static_cast<uint32_t>(ns % kNs));
}

int64_t to_ns(const ros::Time& t) {
  return static_cast<int64_t>(t.sec) * kNs + t.nsec;
}

// Each message carries its id in point.x (exact up to 2^53).
std::string ids(const std::vector<MsgPtr>& ms) {
  if (ms.empty()) return "-";
  std::string s;
  for (std::size_t i = 0; i < ms.size(); ++i) {
    if (i > 0) s.push_back(',');
    s += std::to_string(static_cast<int64_t>(ms[i]->point.x));
  }
  return s;
}

std::string id(const MsgPtr& m) {
  return m ? std::to_string(static_cast<int64_t>(m->point.x)) : "-";
}

[[noreturn]] void fail(const std::string& what, const std::string& line) {
  std::cout << "error " << what << ": " << line << std::endl;
  std::exit(2);
}

int64_t read_time(std::istringstream& in, const std::string& line) {
  int64_t t = -1;
  if (!(in >> t) || t < 0 || t / kNs > 0xffffffffLL) fail("bad time", line);
  return t;
}

}  // namespace

int main() {
  std::ios::sync_with_stdio(false);
  ros::Time::init();  // MessageEvent stamps its receipt time: wall clock, no master
  std::unique_ptr<Cache> cache;
  int64_t next_id = 0;
  std::string line;
  while (std::getline(std::cin, line)) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream in(line);
    std::string cmd;
    in >> cmd;
    if (cmd == "case") {
      long size = 0;
      if (!(in >> size) || size < 1 || size > 1000000) fail("bad size", line);
      cache.reset(new Cache(static_cast<unsigned int>(size)));
      next_id = 0;
      continue;
    }
    if (cmd == "end") {
      std::cout << "end" << std::endl;
      continue;
    }
    if (!cache) fail("no case", line);
    if (cmd == "add") {
      int64_t t = read_time(in, line);
      auto m = boost::make_shared<Msg>();
      m->header.stamp = to_time(t);
      m->point.x = static_cast<double>(next_id++);
      cache->add(MsgPtr(m));
    } else if (cmd == "interval") {
      int64_t s = read_time(in, line), e = read_time(in, line);
      std::cout << ids(cache->getInterval(to_time(s), to_time(e))) << '\n';
    } else if (cmd == "surround") {
      int64_t s = read_time(in, line), e = read_time(in, line);
      if (cache->getInterval(ros::Time(0, 0), ros::TIME_MAX).empty()) {
        std::cout << "-\n";
      } else {
        std::cout << ids(cache->getSurroundingInterval(to_time(s), to_time(e))) << '\n';
      }
    } else if (cmd == "before") {
      std::cout << id(cache->getElemBeforeTime(to_time(read_time(in, line)))) << '\n';
    } else if (cmd == "after") {
      std::cout << id(cache->getElemAfterTime(to_time(read_time(in, line)))) << '\n';
    } else if (cmd == "oldest") {
      std::cout << to_ns(cache->getOldestTime()) << '\n';
    } else if (cmd == "newest") {
      std::cout << to_ns(cache->getLatestTime()) << '\n';
    } else if (cmd == "dump") {
      std::cout << ids(cache->getInterval(ros::Time(0, 0), ros::TIME_MAX)) << '\n';
    } else {
      fail("unknown command", line);
    }
  }
  return 0;
}
