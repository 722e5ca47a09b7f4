/* The capi_install_consumer test's program, a C99 app on the installed C library (built with
 * find_package(mobileone) and with pkg-config, shared and static): classifies an image file and prints the
 * top 5, most probable first. The part between the README markers is README.md's C example, verbatim
 * (the test checks). stb_image decodes the file here, in the app: the library itself has no decoder.
 *
 *     classify MODEL.mone IMAGE.png
 */
#include <stdio.h>

#define STB_IMAGE_IMPLEMENTATION
#define STBI_ONLY_PNG
#include <stb_image.h>

#include <mobileone/mobileone.h>

int main(int argc, char** argv) {
    const char* model_path;
    int width = 0, height = 0, channels = 0;
    unsigned char* pixels;

    if (argc != 3) {
        fprintf(stderr, "usage: classify MODEL.mone IMAGE.png\n");
        return 2;
    }
    model_path = argv[1];
    pixels = stbi_load(argv[2], &width, &height, &channels, 4); /* RGBA, rows packed */
    if (pixels == NULL) {
        fprintf(stderr, "classify: %s: %s\n", argv[2], stbi_failure_reason());
        return 1;
    }
    /* README: begin */
    mobileone_image image = {.format = MOBILEONE_PIXEL_FORMAT_RGBA8888, .width = width, .height = height,
                             .pixels = pixels, .pixels_size = (size_t)width * height * 4};  /* rows packed */
    mobileone_model* model = NULL;
    mobileone_context* context = NULL;
    mobileone_prediction top[5];
    int32_t count = 0;
    if (mobileone_model_create_from_file(model_path, &model) != MOBILEONE_OK ||
        mobileone_context_create(model, NULL, &context) != MOBILEONE_OK ||
        mobileone_context_classify(context, &image, NULL, 5, top, &count) != MOBILEONE_OK)
        fprintf(stderr, "mobileone: %s\n", mobileone_last_error_message());
    for (int32_t i = 0; i < count; ++i)
        printf("%6.2f%%  %s (%d)\n", 100.0 * top[i].probability, top[i].label, (int)top[i].class_index);
    mobileone_context_destroy(context);  /* NULL is ignored */
    mobileone_model_destroy(model);
    /* README: end */
    stbi_image_free(pixels);
    return count > 0 ? 0 : 1;
}
