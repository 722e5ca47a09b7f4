/* Compiled by ctest as C99, C++, Objective-C and Objective-C++ (what Swift's importer and iOS code see),
 * with warnings as errors: the C API header must be valid, warning-free and idempotent in each. */
#include <mobileone/mobileone.h>
#include <mobileone/mobileone.h>

/* Every type and function, bound to a variable of its exact type, so each declaration is checked. */
int mobileone_header_check(void);
int mobileone_header_check(void) {
    const mobileone_image image = {MOBILEONE_PIXEL_FORMAT_YUV_420_888, MOBILEONE_YUV_BT709_VIDEO_RANGE, 2, 2, NULL, 0, 0,
                                   NULL, 0, 0, NULL, 0, 0, 2, 90, 1};
    const mobileone_rect region = {0, 0, 1, 1};
    const mobileone_context_options options = {MOBILEONE_MAX_THREADS, MOBILEONE_ISA_NEON, MOBILEONE_PRECISION_INT8,
                                               MOBILEONE_CORES_LITTLE};
    mobileone_prediction prediction = {0, 0.0f, NULL};
    mobileone_feature_map map = {NULL, 0, 0, 0};
    const mobileone_status status = MOBILEONE_ERROR_INTERNAL;

    const char* (*version)(void) = mobileone_version;
    const char* (*status_name)(mobileone_status) = mobileone_status_name;
    const char* (*last_error)(void) = mobileone_last_error_message;
    int (*isa_supported)(mobileone_isa) = mobileone_isa_supported;
    mobileone_status (*from_file)(const char*, mobileone_model**) = mobileone_model_create_from_file;
    mobileone_status (*from_buffer)(const void*, size_t, mobileone_model**) = mobileone_model_create_from_buffer;
    mobileone_status (*from_external)(const void*, size_t, mobileone_model**) = mobileone_model_create_from_external_buffer;
    void (*model_destroy)(mobileone_model*) = mobileone_model_destroy;
    const char* (*model_name)(const mobileone_model*) = mobileone_model_name;
    int32_t (*class_count)(const mobileone_model*) = mobileone_model_class_count;
    const char* (*label)(const mobileone_model*, int32_t) = mobileone_model_label;
    int32_t (*stage_count)(const mobileone_model*) = mobileone_model_stage_count;
    mobileone_status (*context_create)(const mobileone_model*, const mobileone_context_options*, mobileone_context**) =
        mobileone_context_create;
    void (*context_destroy)(mobileone_context*) = mobileone_context_destroy;
    mobileone_precision (*context_precision)(const mobileone_context*) = mobileone_context_precision;
    mobileone_status (*run)(mobileone_context*, const mobileone_image*, const mobileone_rect*) = mobileone_context_run;
    mobileone_status (*top_k)(const mobileone_context*, int32_t, mobileone_prediction*, int32_t*) = mobileone_context_top_k;
    mobileone_status (*classify)(mobileone_context*, const mobileone_image*, const mobileone_rect*, int32_t,
                                 mobileone_prediction*, int32_t*) = mobileone_context_classify;
    mobileone_status (*logits)(const mobileone_context*, const float**, int32_t*) = mobileone_context_logits;
    mobileone_status (*copy_logits)(const mobileone_context*, float*, size_t, size_t*) = mobileone_context_copy_logits;
    mobileone_status (*feature_map)(const mobileone_context*, int32_t, mobileone_feature_map*) = mobileone_context_feature_map;
    mobileone_status (*copy_feature_map)(const mobileone_context*, int32_t, float*, size_t, mobileone_feature_map*) =
        mobileone_context_copy_feature_map;

    return (int)status + image.width + region.width + options.threads + prediction.class_index + map.channels +
           MOBILEONE_C_API_VERSION + (version != NULL) + (status_name != NULL) + (last_error != NULL) +
           (isa_supported != NULL) + (from_file != NULL) + (from_buffer != NULL) + (from_external != NULL) +
           (model_destroy != NULL) + (model_name != NULL) + (class_count != NULL) + (label != NULL) +
           (stage_count != NULL) + (context_create != NULL) + (context_destroy != NULL) + (context_precision != NULL) +
           (run != NULL) + (top_k != NULL) + (classify != NULL) + (logits != NULL) + (copy_logits != NULL) +
           (feature_map != NULL) + (copy_feature_map != NULL);
}
