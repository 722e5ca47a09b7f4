// The one translation unit that compiles stb_image's implementation for the tools and tests.
#include <mobileone/image.hpp>

// stb_image refuses wider or taller images itself, before allocating (defence in depth: ImageFile checks
// the header first, but stbi_load re-reads it).
#define STBI_MAX_DIMENSIONS mobileone::kMaxImageSide
// Formats left out, with the stb_image 2.27 (Debian) defects that fuzz_image hit in them:
//  - Softimage PIC: converts a NULL raster after a failed decode (NULL dereference);
//  - Radiance HDR: a run-length count of 0 never advances, so a truncated file loops forever; it also
//    decodes to 32-bit floats (4x the memory of the 8-bit result). Neither format is a camera image.
#define STBI_NO_PIC
#define STBI_NO_HDR
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"
