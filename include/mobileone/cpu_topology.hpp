// Which cores a Context's threads run on. Phones mix fast and slow cores (clusters of 1+3+4, 4+4, 2+6), and
// a parallel layer ends when its slowest thread does: a thread the OS leaves on a little core holds the big
// ones back at every layer. Linux and Android rate each core in sysfs (cpu_capacity, else its maximum
// clock); cores of about the same rating form a cluster, and the slowest cluster is the little one. Apple
// says only how many performance and efficiency cores there are and has no affinity API: there the
// quality-of-service class steers a thread (background QoS keeps it on the efficiency cores).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "error.hpp"

#if defined(__linux__)  // and Android
#include <sched.h>
#elif defined(__APPLE__)
#include <pthread.h>
#include <pthread/qos.h>
#include <sys/sysctl.h>
#endif

namespace mobileone {

// Options::cores: which cores a Context's threads use, and so how many threads it starts by default (one
// per core, at most 4). Where all cores are alike the three select the same: every core.
//   big     every core faster than the slowest cluster (on a 1+3+4 phone the prime and the 3 performance
//           cores), threads pinned there (the default)
//   all     every core the process may use, placement left to the OS
//   little  the slowest cluster only, threads pinned there: background work that leaves the big cores free
// Pinning is sched_setaffinity on Linux and Android; on Apple, QoS instead (see detail::ThreadPlacement).
enum class CorePolicy { big, all, little };

inline constexpr CorePolicy kAllCorePolicies[] = {CorePolicy::big, CorePolicy::all, CorePolicy::little};

inline constexpr const char* core_policy_name(CorePolicy policy) {
  switch (policy) {
    case CorePolicy::big: return "big";
    case CorePolicy::all: return "all";
    case CorePolicy::little: return "little";
  }
  return "unknown";
}

// "big, all or little"
inline std::string core_policy_choices() {
  std::string list = core_policy_name(kAllCorePolicies[0]);
  for (std::size_t i = 1; i < std::size(kAllCorePolicies); ++i)
    list += std::string(i + 1 == std::size(kAllCorePolicies) ? " or " : ", ") + core_policy_name(kAllCorePolicies[i]);
  return list;
}

inline CorePolicy parse_core_policy(std::string_view name) {
  for (CorePolicy policy : kAllCorePolicies)
    if (name == core_policy_name(policy)) return policy;
  throw Error("unknown core policy '" + std::string(name) + "' (expected " + core_policy_choices() + ")");
}

namespace detail {

inline constexpr int kMaxDefaultThreads = 4;

// A CPU as the OS numbers it, with a speed rating comparable only within one machine: cpu_capacity (1024
// for the fastest core), or the maximum clock in kHz, or 0 for all when neither is known.
struct CpuCore {
  int cpu = 0;
  std::uint64_t capacity = 0;
};

// What a policy selects on a machine.
struct CoreSelection {
  int cores = 1;            // how many; the default thread count is min(cores, 4)
  std::vector<int> cpus;    // Linux/Android: the CPUs to pin threads to; empty: placement is left to the OS
                            // (the policy selects every usable core)
  bool efficiency = false;  // Apple: the efficiency cores, which background QoS reaches
};

inline int default_threads(const CoreSelection& selection) {
  return std::clamp(selection.cores, 1, kMaxDefaultThreads);
}

// A sysfs or cpuset list ("0-3,5,7-8\n") as CPU numbers; empty for text that is not such a list.
inline std::vector<int> parse_cpu_list(std::string_view text) {
  constexpr long kMaxCpu = 1 << 16;  // a corrupt range must not become millions of entries
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  std::vector<int> cpus;
  auto number = [&](std::size_t& at, long& value) {
    const std::size_t start = at;
    value = 0;
    while (at < text.size() && text[at] >= '0' && text[at] <= '9' && value <= kMaxCpu) value = value * 10 + (text[at++] - '0');
    return at > start && value <= kMaxCpu;
  };
  for (std::size_t at = 0; at < text.size();) {
    long first = 0, last = 0;
    if (!number(at, first)) return {};
    last = first;
    if (at < text.size() && text[at] == '-' && !number(++at, last)) return {};
    if (last < first || (at < text.size() && text[at++] != ',')) return {};
    for (long cpu = first; cpu <= last; ++cpu) cpus.push_back(int(cpu));
  }
  std::sort(cpus.begin(), cpus.end());
  cpus.erase(std::unique(cpus.begin(), cpus.end()), cpus.end());
  return cpus;
}

// Cores of about the same rating, fastest cluster first, each in CPU order. "About": within 10% of the
// cluster's fastest core, so that x86 "favoured core" boost clocks (4.8 vs 4.7 GHz) make no cluster of
// their own, while a phone's clusters differ by 15% (prime and performance cores) to over 60% (little ones).
inline std::vector<std::vector<int>> cpu_clusters(std::vector<CpuCore> cores) {
  std::stable_sort(cores.begin(), cores.end(), [](const CpuCore& a, const CpuCore& b) { return a.capacity > b.capacity; });
  std::vector<std::vector<int>> clusters;
  std::uint64_t fastest = 0;
  for (const CpuCore& core : cores) {
    if (clusters.empty() || core.capacity * 10 < fastest * 9) {
      clusters.emplace_back();
      fastest = core.capacity;
    }
    clusters.back().push_back(core.cpu);
  }
  for (auto& cluster : clusters) std::sort(cluster.begin(), cluster.end());
  return clusters;
}

// What `policy` selects among the usable cores (online, and in the thread's affinity mask).
inline CoreSelection select_cores(const std::vector<CpuCore>& cores, CorePolicy policy) {
  const std::vector<std::vector<int>> clusters = cpu_clusters(cores);
  if (policy == CorePolicy::all || clusters.size() <= 1) return {std::max(int(cores.size()), 1), {}, false};
  std::vector<int> cpus;
  if (policy == CorePolicy::big)
    for (std::size_t c = 0; c + 1 < clusters.size(); ++c) cpus.insert(cpus.end(), clusters[c].begin(), clusters[c].end());
  else
    cpus = clusters.back();
  std::sort(cpus.begin(), cpus.end());
  return {int(cpus.size()), cpus, false};
}

// What `policy` selects on Apple from sysctl's counts (hw.logicalcpu, hw.perflevel0/1.logicalcpu; 0 where
// a count is unknown, as on a machine with one kind of core). No CPUs: threads cannot be pinned there.
inline CoreSelection select_apple_cores(int logical, int performance, int efficiency, CorePolicy policy) {
  const int all = std::max(logical, 1);
  if (policy == CorePolicy::all || performance <= 0 || efficiency <= 0) return {all, {}, false};
  if (policy == CorePolicy::big) return {performance, {}, false};
  return {efficiency, {}, true};
}

// The first line of a small file; "" if it cannot be read.
inline std::string read_first_line(const std::string& path) {
  std::ifstream file(path);
  std::string line;
  std::getline(file, line);
  return line;
}

// A decimal number as a whole line ("1024"); 0 for anything else.
inline std::uint64_t parse_rating(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.remove_suffix(1);
  if (text.empty() || text.size() > 18) return 0;
  std::uint64_t value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return 0;
    value = value * 10 + std::uint64_t(c - '0');
  }
  return value;
}

// The usable cores under `root`, a sysfs CPU directory (/sys/devices/system/cpu, or a test's fake tree):
// the online CPUs (`online`; else `possible` less those whose cpuN/online is 0) that `allowed` holds (the
// thread's affinity mask; empty: unknown, all; if it shares no CPU with the online ones, it alone), each
// rated by cpuN/cpu_capacity, else cpuN/cpufreq/cpuinfo_max_freq: one source for all cores, since the two
// do not compare; if some core lacks both, all are rated alike.
inline std::vector<CpuCore> read_sysfs_cores(const std::string& root, std::vector<int> allowed) {
  auto cpu_file = [&](int cpu, const char* name) { return root + "/cpu" + std::to_string(cpu) + "/" + name; };
  std::vector<int> online = parse_cpu_list(read_first_line(root + "/online"));
  if (online.empty())
    for (int cpu : parse_cpu_list(read_first_line(root + "/possible")))
      if (read_first_line(cpu_file(cpu, "online")) != "0") online.push_back(cpu);
  std::vector<int> usable = online;
  if (!allowed.empty()) {
    std::sort(allowed.begin(), allowed.end());
    usable.clear();
    std::set_intersection(online.begin(), online.end(), allowed.begin(), allowed.end(), std::back_inserter(usable));
    if (usable.empty()) usable = allowed;
  }
  std::vector<CpuCore> cores;
  for (int cpu : usable) cores.push_back({cpu, 0});
  for (const char* source : {"cpu_capacity", "cpufreq/cpuinfo_max_freq"}) {
    bool complete = true;
    for (CpuCore& core : cores) {
      core.capacity = parse_rating(read_first_line(cpu_file(core.cpu, source)));
      if (core.capacity == 0) {
        complete = false;
        break;
      }
    }
    if (complete) return cores;
  }
  for (CpuCore& core : cores) core.capacity = 0;
  return cores;
}

// The calling thread's affinity mask as CPU numbers, ascending; empty where unknown.
inline std::vector<int> allowed_cpus() {
  std::vector<int> cpus;
#if defined(__linux__)
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) != 0) return cpus;
  for (int cpu = 0; cpu < CPU_SETSIZE; ++cpu)
    if (CPU_ISSET(cpu, &set)) cpus.push_back(cpu);
#endif
  return cpus;
}

#if defined(__APPLE__)
inline int sysctl_count(const char* name) {
  int value = 0;
  std::size_t size = sizeof value;
  return sysctlbyname(name, &value, &size, nullptr, 0) == 0 && size == sizeof value ? value : 0;
}
#endif

// What `policy` selects on this machine now. The affinity mask and the online CPUs are read each time:
// Android moves an app between cpusets, and phones take cores offline when hot.
inline CoreSelection current_core_selection(CorePolicy policy) {
  const int hardware = int(std::max(std::thread::hardware_concurrency(), 1u));
#if defined(__APPLE__)
  const int levels = sysctl_count("hw.nperflevels");
  const int logical = sysctl_count("hw.logicalcpu");
  return select_apple_cores(logical > 0 ? logical : hardware, levels >= 2 ? sysctl_count("hw.perflevel0.logicalcpu") : 0,
                            levels >= 2 ? sysctl_count("hw.perflevel1.logicalcpu") : 0, policy);
#else
#if defined(__linux__)
  const std::vector<CpuCore> cores = read_sysfs_cores("/sys/devices/system/cpu", allowed_cpus());
  if (!cores.empty()) return select_cores(cores, policy);
#endif
  (void)policy;  // cores the OS does not describe are taken as alike
  return {hardware, {}, false};
#endif
}

// Where a pool's worker threads run, fixed when the pool is made (on the thread that makes it). Linux and
// Android: pinned to the selection's CPUs. Apple: no affinity API; a new thread starts at the default QoS
// (not its creator's), so workers take the creating thread's QoS, or background QoS for the efficiency
// cores. Elsewhere the OS decides.
class ThreadPlacement {
 public:
  ThreadPlacement() = default;
  explicit ThreadPlacement(const CoreSelection& selection) {
#if defined(__linux__)
    for (int cpu : selection.cpus)
      if (cpu >= 0 && cpu < CPU_SETSIZE) CPU_SET(cpu, &set_);
    pinned_ = CPU_COUNT(&set_) > 0;
#elif defined(__APPLE__)
    qos_ = selection.efficiency ? QOS_CLASS_BACKGROUND : qos_class_self();
#else
    (void)selection;
#endif
  }

  // Places the calling thread. False if the OS refused (a cpuset without those CPUs, a sandbox): not an
  // error, the thread runs where the OS puts it.
  bool place_this_thread() const {
#if defined(__linux__)
    return !pinned_ || sched_setaffinity(0, sizeof set_, &set_) == 0;
#elif defined(__APPLE__)
    return qos_ == QOS_CLASS_UNSPECIFIED || pthread_set_qos_class_self_np(qos_, 0) == 0;
#else
    return true;
#endif
  }

 private:
  friend class CallerPlacement;
#if defined(__linux__)
  cpu_set_t set_{};
  bool pinned_ = false;
#elif defined(__APPLE__)
  qos_class_t qos_ = QOS_CLASS_UNSPECIFIED;
#endif
};

// While alive, the calling thread (which runs a share of every parallel layer) is narrowed to the pinned
// CPUs its own mask allows; its mask is restored after. A thread whose mask allows none of them (the app
// placed it) is left alone. Fixed-size masks on the stack: nothing is allocated per run.
class CallerPlacement {
 public:
  explicit CallerPlacement(const ThreadPlacement& placement) {
#if defined(__linux__)
    if (!placement.pinned_ || sched_getaffinity(0, sizeof saved_, &saved_) != 0) return;
    cpu_set_t narrowed;
    CPU_AND(&narrowed, &saved_, &placement.set_);
    if (CPU_COUNT(&narrowed) == 0 || CPU_EQUAL(&narrowed, &saved_)) return;
    restore_ = sched_setaffinity(0, sizeof narrowed, &narrowed) == 0;
#else
    (void)placement;
#endif
  }
  CallerPlacement(const CallerPlacement&) = delete;
  CallerPlacement& operator=(const CallerPlacement&) = delete;
  ~CallerPlacement() {
#if defined(__linux__)
    if (restore_) sched_setaffinity(0, sizeof saved_, &saved_);
#endif
  }

 private:
#if defined(__linux__)
  cpu_set_t saved_{};
  bool restore_ = false;
#endif
};

}  // namespace detail

}  // namespace mobileone
