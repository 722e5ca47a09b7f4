/* The smallest useful app on the C API: load a model, classify one RGBA frame (a synthetic gradient, so
 * that the program needs no image decoder), print the top class. examples/README.md measures the code size
 * the engine adds to an app with it.
 *
 *     minimal_classify MODEL.mone
 */
#include <stdio.h>
#include <stdlib.h>

#include <mobileone/mobileone.h>

enum { kWidth = 320, kHeight = 240 };

static int report_failure(const char* what) {
    fprintf(stderr, "minimal_classify: %s: %s\n", what, mobileone_last_error_message());
    return 1;
}

int main(int argc, char** argv) {
    static uint8_t frame[kHeight][kWidth][4];
    mobileone_model* model = NULL;
    mobileone_context* context = NULL;
    mobileone_image image = {0};
    mobileone_prediction top;
    int32_t count = 0;
    int x, y, result = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: minimal_classify MODEL.mone\n");
        return 2;
    }
    for (y = 0; y < kHeight; ++y)
        for (x = 0; x < kWidth; ++x) {
            frame[y][x][0] = (uint8_t)(x * 255 / kWidth);
            frame[y][x][1] = (uint8_t)(y * 255 / kHeight);
            frame[y][x][2] = 128;
            frame[y][x][3] = 255;
        }
    image.format = MOBILEONE_PIXEL_FORMAT_RGBA8888;
    image.width = kWidth;
    image.height = kHeight;
    image.pixels = &frame[0][0][0];
    image.row_stride = sizeof frame[0];
    image.pixels_size = sizeof frame;

    if (mobileone_model_create_from_file(argv[1], &model) != MOBILEONE_OK) return report_failure("loading the model");
    if (mobileone_context_create(model, NULL, &context) != MOBILEONE_OK)
        result = report_failure("creating a context");
    else if (mobileone_context_classify(context, &image, NULL, 1, &top, &count) != MOBILEONE_OK)
        result = report_failure("classifying");
    else
        printf("%s: class %d (%s), p = %.4f\n", mobileone_model_name(model), (int)top.class_index, top.label,
               (double)top.probability);
    mobileone_context_destroy(context);
    mobileone_model_destroy(model);
    return result;
}
