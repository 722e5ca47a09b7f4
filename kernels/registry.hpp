// Every kernel set this build carries. Include this (through include/mobileone/dispatch.hpp), never a single
// family: the per-ISA files instantiate the families written once over vector traits.
#pragma once

#include "quant_kernels.hpp"
#include "isa_scalar.hpp"
#if defined(__x86_64__)
#include "isa_x86.hpp"
#include "isa_x86_int8.hpp"
#include "isa_x86_bf16.hpp"
#endif
#if defined(__aarch64__)
#include "isa_neon.hpp"
#include "isa_neon_int8.hpp"
#include "isa_neon_half.hpp"
#endif
