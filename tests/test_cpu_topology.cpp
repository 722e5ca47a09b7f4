// CPU topology and core policies (include/mobileone/cpu_topology.hpp): fake sysfs trees, written here into a
// temporary directory, stand for phones' layouts (1+3+4, 1+4+3, 4+4, 2+6), homogeneous machines, offline
// CPUs and affinity masks; for each, the clusters, the default thread count and the CPUs each policy pins
// to. Then real pinning on this machine (Linux): the workers' and the caller's affinity masks, and that a
// context gives the same logits bit for bit under every policy.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <mobileone/mobileone.hpp>

#include "support/blob_writer.hpp"

using namespace mobileone;
using detail::CoreSelection;
using detail::CpuCore;

namespace {

// A sysfs CPU directory in a fresh temporary directory, removed when done.
class FakeSysfs {
 public:
  FakeSysfs() {
    std::string pattern = (std::filesystem::temp_directory_path() / "mobileone_sysfs_XXXXXX").string();
    REQUIRE(mkdtemp(pattern.data()) != nullptr);
    root_ = pattern;
  }
  FakeSysfs(const FakeSysfs&) = delete;
  FakeSysfs& operator=(const FakeSysfs&) = delete;
  ~FakeSysfs() { std::filesystem::remove_all(root_); }

  const std::string& root() const { return root_; }

  void write(const std::string& relative, const std::string& line) {
    const std::filesystem::path path = std::filesystem::path(root_) / relative;
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << line << '\n';
  }
  // cpuN/<file> for N = 0.. with the given values, and `online` listing them all.
  void per_cpu(const std::string& file, const std::vector<int>& values) {
    for (std::size_t cpu = 0; cpu < values.size(); ++cpu) write("cpu" + std::to_string(cpu) + "/" + file, std::to_string(values[cpu]));
    write("online", "0-" + std::to_string(values.size() - 1));
  }
  void capacities(const std::vector<int>& values) { per_cpu("cpu_capacity", values); }
  void max_freqs_khz(const std::vector<int>& values) { per_cpu("cpufreq/cpuinfo_max_freq", values); }

  std::vector<CpuCore> cores(const std::vector<int>& allowed = {}) const { return detail::read_sysfs_cores(root_, allowed); }

 private:
  std::string root_;
};

std::vector<int> repeat(int value, int count) { return std::vector<int>(std::size_t(count), value); }
std::vector<int> concat(std::vector<int> a, const std::vector<int>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

// What `policy` selects among `cores`: the CPUs it pins to ({} = not pinned) and its default thread count.
void check_policy(const std::vector<CpuCore>& cores, CorePolicy policy, const std::vector<int>& pinned, int threads) {
  CAPTURE(core_policy_name(policy));
  const CoreSelection selection = detail::select_cores(cores, policy);
  CHECK(selection.cpus == pinned);
  CHECK(detail::default_threads(selection) == threads);
  if (!pinned.empty()) CHECK(selection.cores == int(pinned.size()));
}

using Clusters = std::vector<std::vector<int>>;

}  // namespace

TEST_CASE("core policy names") {
  CHECK(core_policy_choices() == "big, all or little");
  for (CorePolicy policy : kAllCorePolicies) CHECK(parse_core_policy(core_policy_name(policy)) == policy);
  CHECK_THROWS_WITH_AS(parse_core_policy("fast"), "unknown core policy 'fast' (expected big, all or little)", Error);
}

TEST_CASE("sysfs CPU lists") {
  CHECK(detail::parse_cpu_list("0-3,5,7-8\n") == std::vector<int>{0, 1, 2, 3, 5, 7, 8});
  CHECK(detail::parse_cpu_list("0") == std::vector<int>{0});
  for (const char* bad : {"", "\n", "3-1", "x", "0-", "1,,2", "0-3 4", "99999999"}) {
    CAPTURE(bad);
    CHECK(detail::parse_cpu_list(bad).empty());
  }
}

TEST_CASE("1+3+4 (prime, 3 performance, 4 efficiency cores): big is the prime and performance cores") {
  // Capacities as a Dimensity 9200 / Snapdragon 8 Gen 1 class phone reports them (X-class prime 1024,
  // A7xx performance cores ~870, A5xx efficiency cores ~380), little cores numbered first as on phones.
  FakeSysfs sysfs;
  sysfs.capacities(concat(concat(repeat(380, 4), repeat(870, 3)), {1024}));
  const auto cores = sysfs.cores();
  CHECK(detail::cpu_clusters(cores) == Clusters{{7}, {4, 5, 6}, {0, 1, 2, 3}});
  check_policy(cores, CorePolicy::big, {4, 5, 6, 7}, 4);
  check_policy(cores, CorePolicy::little, {0, 1, 2, 3}, 4);
  check_policy(cores, CorePolicy::all, {}, 4);
  CHECK(detail::select_cores(cores, CorePolicy::all).cores == 8);
}

TEST_CASE("1+4+3 (Snapdragon 8 Gen 2): five big cores, four threads on them") {
  // SM8550's device tree: capacity-dmips-mhz 1024 (3x A510), 1792 (2x A715 + 2x A710), 1894 (X3); at their
  // 2.0, 2.8 and 3.19 GHz the kernel scales these to 347, 851 and 1024.
  FakeSysfs sysfs;
  sysfs.capacities(concat(concat(repeat(347, 3), repeat(851, 4)), {1024}));
  const auto cores = sysfs.cores();
  CHECK(detail::cpu_clusters(cores) == Clusters{{7}, {3, 4, 5, 6}, {0, 1, 2}});
  check_policy(cores, CorePolicy::big, {3, 4, 5, 6, 7}, 4);
  check_policy(cores, CorePolicy::little, {0, 1, 2}, 3);
  check_policy(cores, CorePolicy::all, {}, 4);
}

TEST_CASE("4+4 and 2+6") {
  SUBCASE("4+4") {
    FakeSysfs sysfs;
    sysfs.capacities(concat(repeat(446, 4), repeat(1024, 4)));
    const auto cores = sysfs.cores();
    CHECK(detail::cpu_clusters(cores) == Clusters{{4, 5, 6, 7}, {0, 1, 2, 3}});
    check_policy(cores, CorePolicy::big, {4, 5, 6, 7}, 4);
    check_policy(cores, CorePolicy::little, {0, 1, 2, 3}, 4);
  }
  SUBCASE("2+6, rated by cpu_capacity or, on older kernels, by the maximum clock") {
    FakeSysfs by_capacity, by_clock;
    by_capacity.capacities(concat(repeat(410, 6), repeat(1024, 2)));
    by_clock.max_freqs_khz(concat(repeat(1804800, 6), repeat(2208000, 2)));  // 2x A76 at 2.2 GHz, 6x A55 at 1.8
    for (const auto& cores : {by_capacity.cores(), by_clock.cores()}) {
      CHECK(detail::cpu_clusters(cores) == Clusters{{6, 7}, {0, 1, 2, 3, 4, 5}});
      check_policy(cores, CorePolicy::big, {6, 7}, 2);
      check_policy(cores, CorePolicy::little, {0, 1, 2, 3, 4, 5}, 4);
      check_policy(cores, CorePolicy::all, {}, 4);
    }
  }
}

TEST_CASE("homogeneous machines: every policy is every core, unpinned, at most 4 threads") {
  auto check_homogeneous = [](const std::vector<CpuCore>& cores, int count) {
    REQUIRE(cores.size() == std::size_t(count));
    CHECK(detail::cpu_clusters(cores).size() == 1);
    for (CorePolicy policy : kAllCorePolicies) {
      check_policy(cores, policy, {}, std::min(count, 4));
      CHECK(detail::select_cores(cores, policy).cores == count);
    }
  };
  SUBCASE("equal capacities") {
    FakeSysfs sysfs;
    sysfs.capacities(repeat(1024, 8));
    check_homogeneous(sysfs.cores(), 8);
  }
  SUBCASE("two cores, and one") {
    FakeSysfs two, one;
    two.capacities(repeat(1024, 2));
    one.capacities({1024});
    check_homogeneous(two.cores(), 2);
    check_homogeneous(one.cores(), 1);
  }
  SUBCASE("no cpu_capacity, maximum clocks with two x86 favoured cores 100 MHz faster") {
    FakeSysfs sysfs;
    sysfs.max_freqs_khz(concat(repeat(4800000, 2), repeat(4700000, 6)));
    check_homogeneous(sysfs.cores(), 8);
  }
  SUBCASE("neither cpu_capacity nor cpufreq (a VM)") {
    FakeSysfs sysfs;
    sysfs.write("online", "0-5");
    check_homogeneous(sysfs.cores(), 6);
  }
  SUBCASE("one core without cpu_capacity: the clocks rate all cores, not a mix of both") {
    FakeSysfs sysfs;
    sysfs.capacities(concat(repeat(380, 4), repeat(1024, 3)));  // cpu7 has none
    sysfs.max_freqs_khz(repeat(2000000, 8));
    check_homogeneous(sysfs.cores(), 8);
  }
}

TEST_CASE("offline CPUs are not used") {
  const std::vector<int> phone = concat(concat(repeat(380, 4), repeat(870, 3)), {1024});
  SUBCASE("a performance core offline (online lists the rest)") {
    FakeSysfs sysfs;
    sysfs.capacities(phone);
    sysfs.write("online", "0-3,5-7");
    const auto cores = sysfs.cores();
    CHECK(detail::cpu_clusters(cores) == Clusters{{7}, {5, 6}, {0, 1, 2, 3}});
    check_policy(cores, CorePolicy::big, {5, 6, 7}, 3);
  }
  SUBCASE("no online list: possible CPUs less those whose cpuN/online is 0") {
    FakeSysfs sysfs;
    sysfs.capacities(phone);
    std::filesystem::remove(std::filesystem::path(sysfs.root()) / "online");
    sysfs.write("possible", "0-7");
    sysfs.write("cpu7/online", "0");
    sysfs.write("cpu6/online", "1");  // cpu0..5 have no such file, as the boot CPU on real kernels
    check_policy(sysfs.cores(), CorePolicy::big, {4, 5, 6}, 3);
  }
  SUBCASE("every big core offline (a hot phone): the little cores are all there is") {
    FakeSysfs sysfs;
    sysfs.capacities(phone);
    sysfs.write("online", "0-3");
    for (CorePolicy policy : kAllCorePolicies) check_policy(sysfs.cores(), policy, {}, 4);
  }
}

TEST_CASE("the affinity mask bounds what a policy selects") {
  FakeSysfs sysfs;
  sysfs.capacities(concat(concat(repeat(380, 4), repeat(870, 3)), {1024}));
  SUBCASE("a mask without the big cores (an Android background cpuset): the little cores, unpinned") {
    const auto cores = sysfs.cores({0, 1, 2, 3});
    for (CorePolicy policy : kAllCorePolicies) check_policy(cores, policy, {}, 4);
  }
  SUBCASE("a mask with the prime and the little cores") {
    const auto cores = sysfs.cores({7, 0, 1, 2, 3});
    check_policy(cores, CorePolicy::big, {7}, 1);
    check_policy(cores, CorePolicy::little, {0, 1, 2, 3}, 4);
    check_policy(cores, CorePolicy::all, {}, 4);
    CHECK(detail::select_cores(cores, CorePolicy::all).cores == 5);
  }
  SUBCASE("a mask sharing no CPU with the online list, or no sysfs at all: the mask alone") {
    CHECK(sysfs.cores({8, 9}).size() == 2);
    const auto cores = detail::read_sysfs_cores(sysfs.root() + "/missing", {0, 1, 2});
    REQUIRE(cores.size() == 3);
    for (CorePolicy policy : kAllCorePolicies) check_policy(cores, policy, {}, 3);
    CHECK(detail::read_sysfs_cores(sysfs.root() + "/missing", {}).empty());
  }
}

TEST_CASE("Apple: performance and efficiency core counts, no CPUs to pin") {
  const CoreSelection big = detail::select_apple_cores(8, 4, 4, CorePolicy::big);  // an M2: 4 performance + 4 efficiency
  CHECK((big.cores == 4 && big.cpus.empty() && !big.efficiency));
  const CoreSelection little = detail::select_apple_cores(6, 2, 4, CorePolicy::little);  // an iPhone: 2P + 4E
  CHECK((little.cores == 4 && little.cpus.empty() && little.efficiency));
  CHECK(detail::select_apple_cores(6, 2, 4, CorePolicy::all).cores == 6);
  for (CorePolicy policy : kAllCorePolicies) {  // one kind of core (hw.nperflevels 1): every core
    const CoreSelection one_kind = detail::select_apple_cores(8, 0, 0, policy);
    CHECK((one_kind.cores == 8 && !one_kind.efficiency));
  }
}

#if defined(__linux__)
TEST_CASE("workers are pinned to the selected CPUs; the caller only while it runs, within its own mask") {
  const std::vector<int> allowed = detail::allowed_cpus();
  REQUIRE(!allowed.empty());
  const int cpu = allowed.back();
  const detail::ThreadPlacement placement(CoreSelection{1, {cpu}, false});
  detail::ThreadPool pool(2, placement);

  // Two tasks, each held until two different threads have entered one: the worker runs one of them.
  std::mutex mutex;
  std::condition_variable entered;
  std::vector<std::pair<std::thread::id, std::vector<int>>> seen;
  pool.parallel_for(2, [&](std::size_t) {
    std::unique_lock<std::mutex> lock(mutex);
    seen.emplace_back(std::this_thread::get_id(), detail::allowed_cpus());
    entered.notify_all();
    entered.wait_for(lock, std::chrono::seconds(30), [&] { return seen.size() == 2; });
  });
  REQUIRE(seen.size() == 2);
  REQUIRE(seen[0].first != seen[1].first);
  for (const auto& [thread, mask] : seen) CHECK(mask == (thread == std::this_thread::get_id() ? allowed : std::vector<int>{cpu}));

  {
    const detail::CallerPlacement placed = pool.place_caller();
    CHECK(detail::allowed_cpus() == std::vector<int>{cpu});
  }
  CHECK(detail::allowed_cpus() == allowed);

  if (allowed.size() >= 2) {  // a caller the app placed elsewhere is left there
    REQUIRE(detail::ThreadPlacement(CoreSelection{1, {allowed.front()}, false}).place_this_thread());
    {
      const detail::CallerPlacement placed = pool.place_caller();
      CHECK(detail::allowed_cpus() == std::vector<int>{allowed.front()});
    }
    REQUIRE(detail::ThreadPlacement(CoreSelection{int(allowed.size()), allowed, false}).place_this_thread());
    CHECK(detail::allowed_cpus() == allowed);
  }
}

TEST_CASE("the default thread count on this machine: one per usable core, at most 4") {
  const int usable = int(detail::allowed_cpus().size());
  CHECK(default_thread_count(CorePolicy::all) == std::min(usable, 4));
  for (CorePolicy policy : kAllCorePolicies) CHECK(default_thread_count(policy) <= std::min(usable, 4));
}
#endif

TEST_CASE("a context gives the same logits bit for bit under every core policy and thread count") {
  const Architecture arch{"policies", 16, {1, 2, 1}, {16, 33, 48}, {0, 1, 1}, 7};
  const auto blob = random_model_blob(arch, 5, 24);
  const Model model = Model::from_buffer(blob.data(), blob.size());
  std::vector<float> input(3 * 21 * 26);
  WeightRandom random(3);
  for (float& v : input) v = random.uniform(-1.f, 1.f);

  Options reference_options{1, best_isa()};
  reference_options.cores = CorePolicy::all;  // the engine before core policies: one thread, placed by the OS
  Context reference(model, reference_options);
  const std::vector<float> expected = reference.run(input.data(), 3, 21, 26);
  for (CorePolicy policy : kAllCorePolicies)
    for (int threads : {0, 1, 3}) {
      CAPTURE(core_policy_name(policy));
      CAPTURE(threads);
      Options options{threads, best_isa()};
      options.cores = policy;
      Context context(model, options);
      CHECK(context.threads() == (threads > 0 ? threads : default_thread_count(policy)));
      const std::vector<float>& logits = context.run(input.data(), 3, 21, 26);
      REQUIRE(logits.size() == expected.size());
      CHECK(std::memcmp(logits.data(), expected.data(), expected.size() * sizeof(float)) == 0);
    }
}

// The in-order NEON kernel set's detection (detail/arm_midr.hpp): every online core's MIDR, so that a
// big.LITTLE phone is not taken for an in-order one because of its little cores.
TEST_CASE("in-order cores from sysfs MIDRs: all online cores must be in-order ones") {
  const auto midrs = [](FakeSysfs& sysfs, const std::vector<const char*>& values) {
    for (std::size_t cpu = 0; cpu < values.size(); ++cpu)
      sysfs.write("cpu" + std::to_string(cpu) + "/regs/identification/midr_el1", values[cpu]);
    sysfs.write("online", "0-" + std::to_string(values.size() - 1));
  };
  const char* a55 = "0x00000000411fd050";
  const char* a76 = "0x00000000414fd0b1";
  const char* a510 = "0x00000000410fd461";
  const char* a710 = "0x00000000412fd470";
  {
    FakeSysfs sysfs;  // eight Cortex-A55
    midrs(sysfs, {a55, a55, a55, a55, a55, a55, a55, a55});
    CHECK(detail::cores_in_order_from_sysfs(sysfs.root()) == 1);
  }
  {
    FakeSysfs sysfs;  // 4 + 4: Cortex-A55 little, A76 big
    midrs(sysfs, {a55, a55, a55, a55, a76, a76, a76, a76});
    CHECK(detail::cores_in_order_from_sysfs(sysfs.root()) == 0);
  }
  {
    FakeSysfs sysfs;  // 4 + 3 + 1: Cortex-A510, A710, A710 prime
    midrs(sysfs, {a510, a510, a510, a510, a710, a710, a710, a710});
    CHECK(detail::cores_in_order_from_sysfs(sysfs.root()) == 0);
  }
  {
    FakeSysfs sysfs;  // no MIDR files (an older kernel, an x86 machine): unknown
    sysfs.capacities({1024, 1024});
    CHECK(detail::cores_in_order_from_sysfs(sysfs.root()) == -1);
  }
}
