// Helper of test_image_decode.py: decodes files exactly as the tools do (examples/image_file.hpp), so that
// the test can compare the pixels with PIL's.
//   decode_image_files OUTDIR FILE...  writes OUTDIR/<file name>.rgb ("WIDTH HEIGHT\n", then the RGB8
//                                      pixels) or OUTDIR/<file name>.error (the error message)
//   decode_image_files --write-ycck WIDTH HEIGHT CMYK_FILE OUT.jpg
//                                      encodes raw CMYK pixels as a YCCK JPEG (Adobe transform 2, as
//                                      Photoshop writes CMYK), which PIL cannot write
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <jpeglib.h>

#include "image_file.hpp"

namespace {

int write_ycck(int width, int height, const std::string& cmyk_path, const std::string& out_path) {
  std::ifstream in(cmyk_path, std::ios::binary);
  std::vector<unsigned char> cmyk(std::size_t(width) * std::size_t(height) * 4);
  if (!in.read(reinterpret_cast<char*>(cmyk.data()), std::streamsize(cmyk.size()))) {
    std::cerr << cmyk_path << ": fewer than " << cmyk.size() << " bytes\n";
    return 1;
  }
  std::FILE* out = std::fopen(out_path.c_str(), "wb");
  if (out == nullptr) {
    std::cerr << out_path << ": cannot create\n";
    return 1;
  }
  jpeg_compress_struct cinfo{};
  jpeg_error_mgr errors{};
  cinfo.err = jpeg_std_error(&errors);  // a test tool: libjpeg's default, print and exit, is enough
  jpeg_create_compress(&cinfo);
  jpeg_stdio_dest(&cinfo, out);
  cinfo.image_width = JDIMENSION(width);
  cinfo.image_height = JDIMENSION(height);
  cinfo.input_components = 4;
  cinfo.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&cinfo);
  jpeg_set_colorspace(&cinfo, JCS_YCCK);  // Y and K at full resolution, chroma 2x2 subsampled
  jpeg_set_quality(&cinfo, 90, TRUE);
  jpeg_start_compress(&cinfo, TRUE);
  while (cinfo.next_scanline < cinfo.image_height) {
    JSAMPROW row = cmyk.data() + std::size_t(cinfo.next_scanline) * std::size_t(width) * 4;
    jpeg_write_scanlines(&cinfo, &row, 1);
  }
  jpeg_finish_compress(&cinfo);
  jpeg_destroy_compress(&cinfo);
  return std::fclose(out) == 0 ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  const std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 5 && args[0] == "--write-ycck")
    return write_ycck(std::atoi(args[1].c_str()), std::atoi(args[2].c_str()), args[3], args[4]);
  if (args.size() < 2) {
    std::cerr << "usage: decode_image_files OUTDIR FILE... | --write-ycck WIDTH HEIGHT CMYK_FILE OUT.jpg\n";
    return 2;
  }
  for (std::size_t i = 1; i < args.size(); ++i) {
    const std::string name = args[0] + "/" + args[i].substr(args[i].find_last_of('/') + 1);
    try {
      const auto image = mobileone::examples::ImageFile::load(args[i]);
      const mobileone::ImageView view = image.view();
      std::ofstream out(name + ".rgb", std::ios::binary);
      out << view.width << ' ' << view.height << '\n';
      out.write(reinterpret_cast<const char*>(view.pixels), std::streamsize(view.width) * view.height * 3);
    } catch (const mobileone::Error& e) {
      std::ofstream(name + ".error") << e.what();
    }
  }
  return 0;
}
