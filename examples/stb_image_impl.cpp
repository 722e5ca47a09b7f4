// The one translation unit that compiles stb_image's implementation for the tools and tests.
#define STB_IMAGE_IMPLEMENTATION
#include "stb_image.h"
