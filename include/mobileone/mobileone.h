/* mobileone.h - the stable C API of the MobileOne inference engine.
 *
 * C99, usable from C, C++, Objective-C, Swift (through a module map) and JNI. The implementation is the
 * C++17 header mobileone_c_impl.hpp: include it in exactly one C++ translation unit of the app, or link
 * the prebuilt `mobileone_c` library.
 *
 *     mobileone_model* model = NULL;
 *     mobileone_context* context = NULL;
 *     if (mobileone_model_create_from_file("mobileone_s0.mone", &model) != MOBILEONE_OK ||
 *         mobileone_context_create(model, NULL, &context) != MOBILEONE_OK)
 *       fprintf(stderr, "%s\n", mobileone_last_error_message());
 *     mobileone_image image = {0};
 *     image.format = MOBILEONE_PIXEL_FORMAT_RGBA8888;  // an Android bitmap
 *     image.width = width; image.height = height;
 *     image.pixels = pixels; image.row_stride = stride; image.pixels_size = stride * height;
 *     mobileone_prediction top[5];
 *     int32_t count = 0;
 *     mobileone_context_classify(context, &image, NULL, 5, top, &count);
 *     mobileone_context_destroy(context);
 *     mobileone_model_destroy(model);
 *
 * Errors. Every function that can fail returns a mobileone_status. The message of the most recent such
 * call on the calling thread is mobileone_last_error_message() (thread-local, so a model shared between
 * threads never mixes up messages; "" after a call that succeeded). No C++ exception ever leaves this API.
 * The message is kept in a fixed thread-local buffer, so even running out of memory is reported.
 *
 * Threads. A model is immutable: any number of threads may use one model at the same time, including
 * creating contexts from it. A context holds the working memory of one inference: use each context from one
 * thread at a time (one context per thread, or a lock around it). A context's own thread pool
 * (mobileone_context_options.threads) is internal to it.
 *
 * Memory. Handles are freed only by their destroy function; nothing else the API returns is owned by the
 * caller. A context keeps its model alive: the model may be destroyed before its contexts. Models and
 * contexts allocate when created; a context also allocates on its first run and when a frame is larger
 * than any before; runs on same-sized frames reuse that memory, with only a few small temporary
 * allocations. Results (logits, feature maps) point into the context and stay valid until its next run or
 * its destruction; labels stay valid while the model or any of its contexts exists.
 */
#ifndef MOBILEONE_H
#define MOBILEONE_H

#include <stddef.h>
#include <stdint.h>

#ifndef MOBILEONE_API
#if defined(__GNUC__) || defined(__clang__)
#define MOBILEONE_API __attribute__((visibility("default")))
#else
#define MOBILEONE_API
#endif
#endif

/* Enumerations are int32_t in C++ (a fixed underlying type, so any value a caller passes is a valid enum
 * object the implementation can reject) and plain enums in C, which are int-sized on every supported ABI. */
#ifdef __cplusplus
#define MOBILEONE_ENUM(name) enum name : int32_t
#else
#define MOBILEONE_ENUM(name) enum name
#endif

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped when a declaration in this header changes incompatibly; it is libmobileone_c.so's SOVERSION, so an
 * app built against an older header keeps loading the library it was built for. Appending a field to a
 * struct the caller passes in is such a change: a library of the new version would read past the end of an
 * old caller's struct. 2: mobileone_context_options.precision. 3: mobileone_image's third plane, chroma pixel
 * stride, rotation and mirror (camera frames: I420, YUV_420_888, sensor orientation); mobileone_context_verify
 * (the golden self-check); mobileone_context_options.cores (big/little core policy). */
#define MOBILEONE_C_API_VERSION 3

typedef struct mobileone_model mobileone_model;
typedef struct mobileone_context mobileone_context;

typedef MOBILEONE_ENUM(mobileone_status) {
    MOBILEONE_OK = 0,
    MOBILEONE_ERROR_INVALID_ARGUMENT = 1, /* a NULL pointer, a size, stride, region, count or enum out of range,
                                           * or a precision the model cannot run (int8 on a float32 model) */
    MOBILEONE_ERROR_BUFFER_TOO_SMALL = 2, /* a caller's output buffer is smaller than the result */
    MOBILEONE_ERROR_IO = 3,               /* a model file cannot be opened or read */
    MOBILEONE_ERROR_INVALID_MODEL = 4,    /* the bytes are not a valid .mone blob (corrupt, truncated, other version) */
    MOBILEONE_ERROR_UNSUPPORTED = 5,      /* the requested ISA or 16-bit precision is not available on this CPU
                                           * or in this build;
                                           * mobileone_context_verify: the model has no golden data */
    MOBILEONE_ERROR_NO_RESULTS = 6,       /* results asked for before a successful run of the context */
    MOBILEONE_ERROR_OUT_OF_MEMORY = 7,
    MOBILEONE_ERROR_INTERNAL = 8, /* an unexpected failure inside the engine (please report it) */
} mobileone_status;

/* 8-bit pixel layouts, named by their bytes in memory. Alpha is ignored. */
typedef MOBILEONE_ENUM(mobileone_pixel_format) {
    MOBILEONE_PIXEL_FORMAT_RGBA8888 = 1, /* R,G,B,A: Android Bitmap ARGB_8888 (ANDROID_BITMAP_FORMAT_RGBA_8888) */
    MOBILEONE_PIXEL_FORMAT_BGRA8888 = 2, /* B,G,R,A: iOS kCVPixelFormatType_32BGRA */
    MOBILEONE_PIXEL_FORMAT_RGB888 = 3,
    MOBILEONE_PIXEL_FORMAT_BGR888 = 4,
    MOBILEONE_PIXEL_FORMAT_GRAY8 = 5,
    /* 4:2:0 semi-planar camera frames: a Y plane (`pixels`) and a chroma plane (`chroma`) of ceil(height/2)
     * rows, each of ceil(width/2) interleaved pairs, one pair per 2x2 block of pixels. */
    MOBILEONE_PIXEL_FORMAT_NV21 = 6, /* pairs V,U: Android camera preview, YUV_420_888 with V plane first */
    MOBILEONE_PIXEL_FORMAT_NV12 = 7, /* pairs U,V: iOS 420f/420v pixel buffers, YUV_420_888 with U first */
    /* 4:2:0 planar: a Y plane (`pixels`), a U (Cb) plane (`chroma`) and a V (Cr) plane (`chroma_v`), each
     * chroma plane of ceil(height/2) rows of ceil(width/2) samples. */
    MOBILEONE_PIXEL_FORMAT_I420 = 8,        /* samples packed in each row (YV12: swap the two plane pointers) */
    MOBILEONE_PIXEL_FORMAT_YUV_420_888 = 9, /* Android's ImageFormat.YUV_420_888 as its three planes come: the
                                             * samples of a chroma row chroma_pixel_stride (1 or 2) bytes apart */
} mobileone_pixel_format;

/* How YUV samples map to RGB. Full range: Y, U, V use 0..255. Video range: Y 16..235, U, V 16..240.
 * Android cameras deliver BT.601 full range (JFIF), the default. iOS says it in the pixel format (420f is
 * full range, 420v video range) and the buffer's kCVImageBufferYCbCrMatrixKey (601 or 709). */
typedef MOBILEONE_ENUM(mobileone_yuv_color_space) {
    MOBILEONE_YUV_BT601_FULL_RANGE = 0,
    MOBILEONE_YUV_BT601_VIDEO_RANGE = 1,
    MOBILEONE_YUV_BT709_FULL_RANGE = 2,
    MOBILEONE_YUV_BT709_VIDEO_RANGE = 3,
} mobileone_yuv_color_space;

typedef MOBILEONE_ENUM(mobileone_isa) {
    MOBILEONE_ISA_AUTO = 0, /* the MOBILEONE_ISA environment variable if set, else the best this CPU runs */
    MOBILEONE_ISA_SCALAR = 1,
    MOBILEONE_ISA_AVX2 = 2,
    MOBILEONE_ISA_AVX512 = 3,
    MOBILEONE_ISA_NEON = 4,
} mobileone_isa;

/* The arithmetic of the quantizable layers. An int8 model is one made by mobileone-quantize (its blob
 * records which layers are int8); the engine's other models are float32. */
typedef MOBILEONE_ENUM(mobileone_precision) {
    MOBILEONE_PRECISION_AUTO = 0, /* int8 for an int8 model, else fp32 */
    MOBILEONE_PRECISION_FP32 = 1, /* every layer in float32 (an int8 model's int8 layers on dequantized weights) */
    MOBILEONE_PRECISION_INT8 = 2, /* an int8 model's int8 layers in int8; refused for a float32 model */
    /* 16-bit floats for any model (weights converted at load, float32 accumulation in bf16; see README):
     * MOBILEONE_ERROR_UNSUPPORTED where the CPU lacks them (bf16: AVX512-BF16 or FEAT_BF16; fp16: FEAT_FP16). */
    MOBILEONE_PRECISION_BF16 = 3,
    MOBILEONE_PRECISION_FP16 = 4,
} mobileone_precision;

/* Which cores a context's threads run on, and so how many it starts for threads = 0 (one per core, at most
 * 4). Phones group cores in clusters by speed (1+3+4, 4+4, 2+6); the slowest cluster is the little one.
 * Where all cores are alike, the three are the same: every core. On Linux and Android threads are pinned
 * with sched_setaffinity (the calling thread only during a run, and only within its own mask); a refusal
 * (a cpuset without those cores) is not an error, the threads then run where the OS puts them. Apple has
 * no affinity: workers take the creating thread's QoS class, or background QoS for LITTLE. */
typedef MOBILEONE_ENUM(mobileone_core_policy) {
    MOBILEONE_CORES_BIG = 0,    /* the cores faster than the slowest cluster (prime + performance cores) */
    MOBILEONE_CORES_ALL = 1,    /* every core the process may use, placement left to the OS */
    MOBILEONE_CORES_LITTLE = 2, /* the slowest cluster: background work that leaves the big cores free */
} mobileone_core_policy;

/* An 8-bit image in the caller's memory; it is only read, and only during the call that receives it.
 * Zero-initialize, then set the fields. `pixels_size`, `chroma_size` and `chroma_v_size` are how many bytes
 * may be read: they let the engine refuse a frame whose strides or sizes do not fit its buffers before
 * touching it. A plane of R rows spans row_stride * (R - 1) + (bytes of one row): its last row need not be
 * padded, and a chroma row of YUV_420_888 ends at its last sample (pixel stride 2: the other plane's byte
 * after it is not counted, as Android's plane buffers end).
 *
 * Orientation: the engine classifies the upright image, which is the frame rotated clockwise by
 * `rotation` degrees and then, if `mirror` is 1, flipped left to right. Android: rotation =
 * ImageProxy.getImageInfo().getRotationDegrees() (the clockwise rotation that makes the frame upright);
 * mirror = 1 makes the upright image what a front camera's preview shows (a mirror). The frame is read in
 * place, in the same pass as the resize: nothing is copied. */
typedef struct mobileone_image {
    mobileone_pixel_format format;
    mobileone_yuv_color_space color_space; /* YUV formats only */
    int32_t width;                         /* pixels of the frame as stored, 1..32768 */
    int32_t height;                        /* pixels of the frame as stored, 1..32768 */
    const uint8_t* pixels;    /* the pixels; YUV formats: the Y plane */
    size_t row_stride;        /* bytes from one row of `pixels` to the next; 0: rows are packed */
    size_t pixels_size;       /* bytes readable from `pixels` */
    const uint8_t* chroma;    /* NV12/NV21: the interleaved chroma plane; I420, YUV_420_888: the U plane */
    size_t chroma_row_stride; /* 0: rows are packed (ceil(width / 2) samples: NV12/NV21 2 bytes each, I420 1,
                               * YUV_420_888 chroma_pixel_stride) */
    size_t chroma_size;       /* bytes readable from `chroma` */
    /* Since version 3. */
    const uint8_t* chroma_v;    /* I420, YUV_420_888: the V plane; ignored otherwise */
    size_t chroma_v_row_stride; /* 0: as chroma_row_stride */
    size_t chroma_v_size;       /* bytes readable from `chroma_v` */
    int32_t chroma_pixel_stride; /* YUV_420_888: bytes from one U (or V) sample to the next, 1 or 2
                                  * (PlaneProxy.getPixelStride()); ignored otherwise */
    int32_t rotation;            /* 0, 90, 180 or 270: degrees clockwise that turn the frame upright */
    int32_t mirror;              /* 0, or 1: then flip the upright image left to right */
} mobileone_image;

/* A region of interest in pixels of the upright image (the frame after `rotation` and `mirror`; with
 * neither, the frame itself). It must lie inside that image and not be empty: nothing is clamped. The
 * model's own preprocessing (resize the shorter side, centre crop, normalize) then sees the region as if
 * it were the whole image. */
typedef struct mobileone_rect {
    int32_t x;
    int32_t y;
    int32_t width;
    int32_t height;
} mobileone_rect;

typedef struct mobileone_context_options {
    int32_t threads;               /* 0: one per core of `cores`, at most 4; else 1..MOBILEONE_MAX_THREADS */
    mobileone_isa isa;             /* MOBILEONE_ISA_AUTO unless a test or benchmark must force one */
    mobileone_precision precision; /* MOBILEONE_PRECISION_AUTO unless fp32 must be forced on an int8 model */
    mobileone_core_policy cores;   /* MOBILEONE_CORES_BIG (the zero value) unless a background task should
                                    * stay on the little cores (LITTLE) or leave placement to the OS (ALL) */
} mobileone_context_options;

#define MOBILEONE_MAX_THREADS 1024

typedef struct mobileone_prediction {
    int32_t class_index;
    float probability; /* softmax of the logits */
    const char* label; /* NUL-terminated, as stored in the model (UTF-8 for converted models) */
} mobileone_prediction;

/* A backbone stage's output: NHWC floats, data[(y * width + x) * channels + c]. An int8 context holds
 * some stages in uint8: their floats are dequantized for the caller, the same values the next layer sees. */
typedef struct mobileone_feature_map {
    const float* data;
    int32_t height;
    int32_t width;
    int32_t channels;
} mobileone_feature_map;

/* ---- Library ------------------------------------------------------------------------------------- */

/* The engine's version, "MAJOR.MINOR.PATCH". */
MOBILEONE_API const char* mobileone_version(void);

/* The enumerator's name, e.g. "MOBILEONE_ERROR_IO"; "unknown status" for other values. */
MOBILEONE_API const char* mobileone_status_name(mobileone_status status);

/* What went wrong in this thread's most recent call that returned a status; "" if it succeeded. */
MOBILEONE_API const char* mobileone_last_error_message(void);

/* 1 if this build carries kernels for `isa` and this CPU runs them (MOBILEONE_ISA_AUTO: always), else 0. */
MOBILEONE_API int mobileone_isa_supported(mobileone_isa isa);

/* ---- Models -------------------------------------------------------------------------------------- */

/* Reads and validates a .mone file (at most 1 GiB). */
MOBILEONE_API mobileone_status mobileone_model_create_from_file(const char* path, mobileone_model** model);

/* Copies `size` bytes of a .mone blob: the caller's buffer may be freed when this returns. */
MOBILEONE_API mobileone_status mobileone_model_create_from_buffer(const void* data, size_t size,
                                                                  mobileone_model** model);

/* Uses the caller's blob in place, without copying (an mmap'ed file, an uncompressed app asset). `data`
 * must be at least 4-byte aligned (64-byte alignment lets every tensor sit on a cache line) and must stay
 * alive and unchanged until the model and every context created from it are destroyed. */
MOBILEONE_API mobileone_status mobileone_model_create_from_external_buffer(const void* data, size_t size,
                                                                           mobileone_model** model);

/* Releases the caller's reference; contexts created from the model keep it alive. NULL is ignored. */
MOBILEONE_API void mobileone_model_destroy(mobileone_model* model);

/* The model's name, e.g. "mobileone_s0" ("" for NULL). */
MOBILEONE_API const char* mobileone_model_name(const mobileone_model* model);

/* Number of classes, i.e. of logits (0 for NULL). */
MOBILEONE_API int32_t mobileone_model_class_count(const mobileone_model* model);

/* The label of class `class_index`, or NULL if there is no such class. */
MOBILEONE_API const char* mobileone_model_label(const mobileone_model* model, int32_t class_index);

/* Backbone stages: feature maps exist for stages 0 (the stem) .. mobileone_model_stage_count() (0 for NULL). */
MOBILEONE_API int32_t mobileone_model_stage_count(const mobileone_model* model);

/* ---- Contexts ------------------------------------------------------------------------------------ */

/* Creates a context for one thread at a time. `options` may be NULL for the defaults (same as all zero). */
MOBILEONE_API mobileone_status mobileone_context_create(const mobileone_model* model,
                                                        const mobileone_context_options* options,
                                                        mobileone_context** context);

/* NULL is ignored. */
MOBILEONE_API void mobileone_context_destroy(mobileone_context* context);

/* The precision the context runs in: MOBILEONE_PRECISION_AUTO resolved for its model (FP32 or INT8;
 * AUTO for NULL). */
MOBILEONE_API mobileone_precision mobileone_context_precision(const mobileone_context* context);

/* Preprocesses `image` (or its `region`, which may be NULL for the whole image) and runs the network.
 * A failed run leaves no results: they return MOBILEONE_ERROR_NO_RESULTS until the next successful run. */
MOBILEONE_API mobileone_status mobileone_context_run(mobileone_context* context, const mobileone_image* image,
                                                     const mobileone_rect* region);

/* The `k` most probable classes of the last run, most probable first (ties: lower class index first).
 * `predictions` has room for k entries; *count receives min(k, class count). k >= 1. */
MOBILEONE_API mobileone_status mobileone_context_top_k(const mobileone_context* context, int32_t k,
                                                       mobileone_prediction* predictions, int32_t* count);

/* mobileone_context_run followed by mobileone_context_top_k. */
MOBILEONE_API mobileone_status mobileone_context_classify(mobileone_context* context, const mobileone_image* image,
                                                          const mobileone_rect* region, int32_t k,
                                                          mobileone_prediction* predictions, int32_t* count);

/* The last run's logits, in place: *logits points to *count floats owned by the context. */
MOBILEONE_API mobileone_status mobileone_context_logits(const mobileone_context* context, const float** logits,
                                                        int32_t* count);

/* Copies the last run's logits into `buffer` (room for `capacity` floats). *count receives the number of
 * logits even when the buffer is too small, so a call with capacity 0 (buffer may then be NULL) asks for
 * the size; a smaller buffer gets MOBILEONE_ERROR_BUFFER_TOO_SMALL and is left untouched. */
MOBILEONE_API mobileone_status mobileone_context_copy_logits(const mobileone_context* context, float* buffer,
                                                             size_t capacity, size_t* count);

/* The last run's output of backbone stage `stage` (0 = stem .. mobileone_model_stage_count()), in place.
 * A stage an int8 context holds in uint8 is dequantized into memory of the context (allocated by the first
 * such call after a run), so that this call works for every model; copy_feature_map dequantizes straight
 * into the caller's buffer. */
MOBILEONE_API mobileone_status mobileone_context_feature_map(const mobileone_context* context, int32_t stage,
                                                             mobileone_feature_map* map);

/* Copies that feature map into `buffer` (room for `capacity` floats). *map receives the shape, with
 * map->data = buffer, even when the buffer is too small: one of fewer than height * width * channels
 * floats gets MOBILEONE_ERROR_BUFFER_TOO_SMALL and is left untouched (capacity 0 and a NULL buffer ask for
 * the shape). */
MOBILEONE_API mobileone_status mobileone_context_copy_feature_map(const mobileone_context* context, int32_t stage,
                                                                  float* buffer, size_t capacity,
                                                                  mobileone_feature_map* map);

/* ---- Self-check --------------------------------------------------------------------------------- */

/* One row of mobileone_context_verify's report. */
typedef struct mobileone_verify_stage {
    int32_t stage;          /* 0 = the stem .. mobileone_model_stage_count(); stage_count + 1: the logits */
    float relative_error;   /* max|ours - golden| / max|golden| over the stage's output (+inf for NaN) */
    float tolerance;        /* of the context's precision: fp32 1e-4, int8 0.1 (README "Self-check") */
    int32_t passed;         /* 1 if relative_error <= tolerance, else 0 */
} mobileone_verify_stage;

/* The golden self-check: runs the small input a model of format version 3 carries (weights/convert.py
 * stores it with the float64 outputs of every stage and of the logits on it) on this context's ISA,
 * precision and threads, in working memory of its own: the context's results and input stay as they are.
 * Writes one row per stage and one for the logits (mobileone_model_stage_count() + 2 rows) into `stages`
 * (room for `capacity`); *count receives the number of rows even when the buffer is too small (capacity 0
 * and a NULL `stages` ask for it: MOBILEONE_ERROR_BUFFER_TOO_SMALL, nothing run). *passed receives 1 when
 * every row passed, else 0: the first row with passed == 0 is where the engine first diverges (a kernel
 * miscompiled for this CPU, a corrupted model). MOBILEONE_OK means the check ran, whatever its outcome;
 * MOBILEONE_ERROR_UNSUPPORTED: the model has no golden data (format version 1 or 2). */
MOBILEONE_API mobileone_status mobileone_context_verify(const mobileone_context* context, mobileone_verify_stage* stages,
                                                        size_t capacity, size_t* count, int32_t* passed);

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* MOBILEONE_H */
