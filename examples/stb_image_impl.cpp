// The one translation unit that compiles stb_image's implementation for the tools and tests.
#include <mobileone/image.hpp>

// stb_image refuses wider or taller images itself, before allocating (defence in depth: ImageFile checks
// the header first, but stbi_load re-reads it).
#define STBI_MAX_DIMENSIONS mobileone::kMaxImageSide
// Formats left out, with the stb_image 2.27 (Debian) defects that fuzz_image hit in them:
//  - Softimage PIC: converts a NULL raster after a failed decode (NULL dereference);
//  - Radiance HDR: a run-length count of 0 never advances, so a truncated file loops forever; it also
//    decodes to 32-bit floats (4x the memory of the 8-bit result);
//  - Photoshop PSD: un-premultiplying a matte converts out-of-range floats to 8 bits (undefined).
// None of them is a camera or web image format; PNG, BMP, GIF, TGA and PGM/PPM remain. JPEG is decoded
// with libjpeg-turbo, as PIL decodes it (jpeg_decoder.hpp): stb's own IDCT and chroma upsampling shifted
// PyTorch's probabilities by up to 0.03 on real photos (and it had three defects of its own, fuzz/README.md).
#define STBI_NO_JPEG
#define STBI_NO_PIC
#define STBI_NO_HDR
#define STBI_NO_PSD
// Every allocation zeroed: it keeps truncated files from handing out stale heap contents as pixels (and
// was the fix for stb's JPEG decoder, which did not clear its state; found by fuzz_image).
#include <cstdlib>
#define STBI_MALLOC(size) std::calloc(1, size)
#define STBI_REALLOC(pointer, size) std::realloc(pointer, size)
#define STBI_FREE(pointer) std::free(pointer)
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"
