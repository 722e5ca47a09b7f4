// Arm cores by their MIDR_EL1 (main ID register): whether the cores this process may run on are in-order
// ones, for the kernel set scheduled for them (dispatch.hpp, kernels/isa_neon.hpp).
#pragma once

#include <cstdint>
#include <cstdlib>
#include <string>

#include "../cpu_topology.hpp"

#if defined(__aarch64__) && defined(__linux__)
#include <sys/auxv.h>
#endif

namespace mobileone::detail {

// The in-order application cores: Arm's (implementer 0x41) Cortex-A53 (part number 0xD03), A55 (0xD05),
// A510 (0xD46) and A520 (0xD80), and Qualcomm's (0x51) A53/A55-based Kryo 2xx/3xx/4xx Silver (0x801,
// 0x803, 0x805; Linux's cputype.h). MIDR_EL1 bits [31:24] are the implementer, [15:4] the part number.
inline constexpr bool arm_midr_is_in_order(std::uint64_t midr) {
  const unsigned implementer = unsigned(midr >> 24) & 0xffu, part = unsigned(midr >> 4) & 0xfffu;
  if (implementer == 0x41u) return part == 0xd03u || part == 0xd05u || part == 0xd46u || part == 0xd80u;
  if (implementer == 0x51u) return part == 0x801u || part == 0x803u || part == 0x805u;
  return false;
}

// Under `root`, a sysfs CPU directory (/sys/devices/system/cpu, or a test's fake tree): 1 if every online
// core (cpu_topology.hpp) has a MIDR file, cpuN/regs/identification/midr_el1, of an in-order core, 0 if
// some core's is another core's, -1 if there is none (an older kernel, or not an AArch64 system).
inline int cores_in_order_from_sysfs(const std::string& root) {
  int found = -1;
  for (const CpuCore& core : read_sysfs_cores(root, {})) {
    const std::string midr = read_first_line(root + "/cpu" + std::to_string(core.cpu) + "/regs/identification/midr_el1");
    if (midr.empty()) continue;
    if (!arm_midr_is_in_order(std::strtoull(midr.c_str(), nullptr, 16))) return 0;  // "0x00000000410fd050"
    found = 1;
  }
  return found;
}

// Whether every online core is an in-order one. All cores' MIDRs in sysfs are read, so
// a big.LITTLE phone, whose cpu0 is usually a little core, is not taken for an in-order one. Without
// those files (older kernels; qemu-user, which sees the host's /sys) MIDR_EL1 itself, which Linux
// emulates for user space (HWCAP_CPUID) and qemu answers with its -cpu model: the calling core's. Read
// once; false off Linux/AArch64.
inline bool cpu_is_in_order() {
#if defined(__aarch64__) && defined(__linux__)
  static const bool in_order = [] {
    const int from_sysfs = cores_in_order_from_sysfs("/sys/devices/system/cpu");
    if (from_sysfs >= 0) return from_sysfs == 1;
    if (((getauxval(AT_HWCAP) >> 11) & 1ul) == 0) return false;  // no HWCAP_CPUID: mrs would trap
    std::uint64_t midr = 0;
    __asm__ volatile("mrs %0, MIDR_EL1" : "=r"(midr));
    return arm_midr_is_in_order(midr);
  }();
  return in_order;
#else
  return false;
#endif
}

}  // namespace mobileone::detail
