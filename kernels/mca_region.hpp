// llvm-mca code regions around the hot loops of the hand-written AArch64 kernels, for
// bench/arm/mca_report.sh: `// LLVM-MCA-BEGIN name` / `// LLVM-MCA-END name` comments in the compiler's
// assembly output, which llvm-mca reads as region markers.
//
// Empty unless MOBILEONE_MCA_REGIONS is defined (only the script defines it), so the shipped kernels are
// compiled exactly as without them. In the script's build the markers of intrinsic code are volatile asm
// statements, which GCC does not schedule instructions across; the script checks that each marked loop
// body is, instruction for instruction, the loop of the unmarked build. In assembly kernels a marker is a
// comment inside the asm text and changes nothing.
#pragma once

#if defined(MOBILEONE_MCA_REGIONS)
#define MOBILEONE_MCA_ASM_BEGIN(name) "// LLVM-MCA-BEGIN " name "\n"
#define MOBILEONE_MCA_ASM_END(name) "// LLVM-MCA-END " name "\n"
#define MOBILEONE_MCA_BEGIN(name) __asm__ volatile(MOBILEONE_MCA_ASM_BEGIN(name))
#define MOBILEONE_MCA_END(name) __asm__ volatile(MOBILEONE_MCA_ASM_END(name))
#else
#define MOBILEONE_MCA_ASM_BEGIN(name) ""
#define MOBILEONE_MCA_ASM_END(name) ""
#define MOBILEONE_MCA_BEGIN(name) ((void)0)
#define MOBILEONE_MCA_END(name) ((void)0)
#endif
