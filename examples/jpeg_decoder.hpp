// Decodes JPEG with libjpeg-turbo exactly as PIL does (Pillow's JpegDecode.c and JpegImagePlugin.py), so that
// the tools see the pixels PyTorch's reference pipeline (PIL.Image.open(f).convert('RGB')) sees: libjpeg's
// accurate integer IDCT (JDCT_ISLOW), fancy upsampling and block smoothing (its defaults, which PIL keeps),
// its YCbCr->RGB conversion; grey replicated to RGB; CMYK and YCCK decoded to CMYK, read as PIL reads them
// (Adobe's inverted ink values, whatever the markers say) and converted with PIL's CMYK->RGB formula.
// What PIL refuses is refused (a truncated file, components other than 1, 3 or 4); libjpeg's warnings on
// corrupt entropy data are ignored, as PIL ignores them. Used by examples/image_file.hpp; the engine itself
// never decodes files.
#pragma once

#include <csetjmp>
#include <cstddef>
#include <cstdio>  // jpeglib.h needs FILE and size_t declared before it
#include <vector>

#include <jpeglib.h>
#include <jerror.h>

#ifndef LIBJPEG_TURBO_VERSION
// PIL decodes with libjpeg-turbo; other libjpeg builds' IDCT and upsampling give other pixels.
#error "examples/jpeg_decoder.hpp needs libjpeg-turbo (Debian: libjpeg62-turbo-dev)"
#endif

namespace mobileone::examples::detail {

// A progressive JPEG is decoded scan by scan over a whole-image coefficient buffer, so a small file made
// of many tiny scans costs a pass over a large raster each. Encoders write about 10; PIL sets no bound.
inline constexpr int kMaxJpegScans = 500;

// A file starting with SOI (FF D8) is a JPEG; stb_image is built without its JPEG decoder.
inline bool is_jpeg(const unsigned char* bytes, std::size_t size) {
  return size >= 2 && bytes[0] == 0xFF && bytes[1] == 0xD8;
}

// PIL's CMYK->RGB (Convert.c cmyk2rgb) on a row that libjpeg decoded as CMYK: PIL reads the stored values
// inverted ("CMYK;I"), so ink = 255 - stored, and R = (255 - K) - round(C * (255 - K) / 255).
inline void pil_cmyk_to_rgb(const unsigned char* cmyk, unsigned char* rgb, std::size_t width) {
  auto muldiv255 = [](unsigned a, unsigned b) {  // round(a * b / 255), as PIL computes it
    const unsigned t = a * b + 128;
    return ((t >> 8) + t) >> 8;
  };
  for (std::size_t x = 0; x < width; ++x, cmyk += 4, rgb += 3) {
    const unsigned white = cmyk[3];  // 255 - K
    for (int c = 0; c < 3; ++c) rgb[c] = static_cast<unsigned char>(white - muldiv255(255u - cmyk[c], white));
  }
}

// One decode: read_header, then (after the caller has checked the size and allocated) decode_rgb. Each
// returns nullptr, or why the file is refused. libjpeg reports errors through a longjmp back into the step
// that called it; no C++ object is created between a step's setjmp and libjpeg's calls.
class JpegDecoder {
 public:
  JpegDecoder() = default;
  JpegDecoder(const JpegDecoder&) = delete;
  JpegDecoder& operator=(const JpegDecoder&) = delete;
  ~JpegDecoder() {
    if (created_) jpeg_destroy_decompress(&cinfo_);
  }

  const char* read_header(const unsigned char* bytes, std::size_t size) {
    // PIL takes a file for JPEG only if a marker follows SOI; libjpeg would skip junk there with a warning.
    if (size < 3 || bytes[2] != 0xFF) return "not a JPEG file: no marker after the start-of-image marker";
    if (setjmp(errors_.jump)) return errors_.reason;
    cinfo_.err = jpeg_std_error(&errors_.pub);
    errors_.pub.error_exit = &on_error;
    errors_.pub.emit_message = &on_message;
    created_ = true;  // jpeg_destroy_decompress is safe even if creating fails half-way
    jpeg_create_decompress(&cinfo_);
    progress_.progress_monitor = &on_progress;
    cinfo_.progress = &progress_;
    jpeg_mem_src(&cinfo_, bytes, static_cast<unsigned long>(size));
    jpeg_read_header(&cinfo_, TRUE);
    if (cinfo_.num_components != 1 && cinfo_.num_components != 3 && cinfo_.num_components != 4) {
      std::snprintf(errors_.text, sizeof errors_.text, "JPEG with %d components (1, 3 or 4 are decoded, as by PIL)",
                    cinfo_.num_components);
      return errors_.text;
    }
    cinfo_.dct_method = JDCT_ISLOW;
    cinfo_.do_fancy_upsampling = TRUE;
    cinfo_.do_block_smoothing = TRUE;
    // libjpeg chose the file's colour space from its markers (JFIF, Adobe, component ids), as PIL lets it.
    cinfo_.out_color_space = cinfo_.num_components == 4 ? JCS_CMYK : JCS_RGB;
    return nullptr;
  }

  int width() const { return static_cast<int>(cinfo_.image_width); }
  int height() const { return static_cast<int>(cinfo_.image_height); }

  // Writes width() x height() RGB8 pixels to `rgb`.
  const char* decode_rgb(unsigned char* rgb) {
    std::vector<unsigned char> cmyk_row(cinfo_.out_color_space == JCS_CMYK ? std::size_t(cinfo_.image_width) * 4 : 0);
    return decode_rows(rgb, cmyk_row.empty() ? nullptr : cmyk_row.data());
  }

 private:
  // CMYK rows are decoded into `cmyk_row` and converted; RGB rows straight into `rgb`.
  const char* decode_rows(unsigned char* rgb, unsigned char* cmyk_row) {
    if (setjmp(errors_.jump)) return errors_.reason;
    jpeg_start_decompress(&cinfo_);
    // The buffers were sized from the header: unscaled output, 3 or 4 components.
    if (cinfo_.output_width != cinfo_.image_width || cinfo_.output_height != cinfo_.image_height ||
        cinfo_.output_components != (cmyk_row != nullptr ? 4 : 3))
      return "JPEG: the decoder's output does not match the header";
    const std::size_t width = cinfo_.output_width;
    while (cinfo_.output_scanline < cinfo_.output_height) {
      unsigned char* out = rgb + std::size_t(cinfo_.output_scanline) * width * 3;
      JSAMPROW row = cmyk_row != nullptr ? cmyk_row : out;
      if (jpeg_read_scanlines(&cinfo_, &row, 1) != 1) return "truncated JPEG";  // never: memory never suspends
      if (cmyk_row != nullptr) pil_cmyk_to_rgb(cmyk_row, out, width);
    }
    jpeg_finish_decompress(&cinfo_);
    return nullptr;
  }

  struct Errors {
    jpeg_error_mgr pub;
    std::jmp_buf jump;
    const char* reason;
    char text[JMSG_LENGTH_MAX + 64];
  };

  [[noreturn]] static void fail(j_common_ptr cinfo, const char* prefix) {
    Errors& errors = *reinterpret_cast<Errors*>(cinfo->err);  // pub is its first member
    char message[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, message);
    std::snprintf(errors.text, sizeof errors.text, "%s%s", prefix, message);
    errors.reason = errors.text;
    std::longjmp(errors.jump, 1);
  }
  static void on_error(j_common_ptr cinfo) { fail(cinfo, "JPEG: "); }
  // Warnings (msg_level -1) on corrupt data are ignored, as PIL ignores them, except the end of the data:
  // PIL refuses a truncated JPEG ("image file is truncated") unless LOAD_TRUNCATED_IMAGES is set.
  static void on_message(j_common_ptr cinfo, int msg_level) {
    if (msg_level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) fail(cinfo, "truncated JPEG: ");
  }
  static void on_progress(j_common_ptr cinfo) {
    if (reinterpret_cast<j_decompress_ptr>(cinfo)->input_scan_number <= kMaxJpegScans) return;
    Errors& errors = *reinterpret_cast<Errors*>(cinfo->err);
    std::snprintf(errors.text, sizeof errors.text, "JPEG with more than %d scans", kMaxJpegScans);
    errors.reason = errors.text;
    std::longjmp(errors.jump, 1);
  }

  jpeg_decompress_struct cinfo_{};
  Errors errors_{};
  jpeg_progress_mgr progress_{};
  bool created_ = false;
};

}  // namespace mobileone::examples::detail
