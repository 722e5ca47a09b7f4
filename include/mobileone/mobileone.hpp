// MobileOne inference engine: the one header an application includes.
//
//   mobileone::Model model = mobileone::Model::load("mobileone_s0.mone");
//   mobileone::Context context(model);                  // one per thread
//   auto top5 = context.classify(image_view, 5);        // preprocess + run + top-k
//
// C++17, header-only, no dependencies beyond the standard library.
#pragma once

#include "blob.hpp"
#include "context.hpp"
#include "error.hpp"
#include "image.hpp"
#include "isa.hpp"
#include "model.hpp"
#include "preprocess.hpp"
#include "verify.hpp"

#define MOBILEONE_VERSION_MAJOR 0
#define MOBILEONE_VERSION_MINOR 1
#define MOBILEONE_VERSION_PATCH 0
